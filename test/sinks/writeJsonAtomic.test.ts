import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  writeFileAtomic,
  writeFileAtomicSync,
  writeJsonAtomic,
  writeJsonAtomicSync,
} from '../../src/sinks/writeJsonAtomic.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'quorum-atomic-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('writeJsonAtomic', () => {
  it('writes pretty JSON with a final newline, creating the folder', async () => {
    const file = join(dir, 'runs', 'r1', 'consensus.json');
    await writeJsonAtomic(file, { status: 'consensus', tokens: 12n });
    expect(readFileSync(file, 'utf8')).toBe('{\n  "status": "consensus",\n  "tokens": 12\n}\n');
  });

  it('replaces an existing file whole and leaves no temporary file behind', async () => {
    const file = join(dir, 'consensus.md');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, 'new text');
    expect(readFileSync(file, 'utf8')).toBe('new text');
    expect(readdirSync(dir)).toEqual(['consensus.md']);
  });

  it('keeps the old file and removes its temporary file when the write fails', async () => {
    const target = join(dir, 'port_0.json');
    mkdirSync(target); // a folder where the file should go: rename must fail
    writeFileSync(join(target, 'keep'), 'x');
    await expect(writeJsonAtomic(target, { a: 1 })).rejects.toThrow(`Could not write ${target}`);
    expect(readdirSync(dir)).toEqual(['port_0.json']);
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('x');
  });

  it('has synchronous twins that behave the same', () => {
    const file = join(dir, 'a', 'b.json');
    writeJsonAtomicSync(file, [1, 2]);
    expect(readFileSync(file, 'utf8')).toBe('[\n  1,\n  2\n]\n');
    writeFileAtomicSync(file, Buffer.from('raw'));
    expect(readFileSync(file, 'utf8')).toBe('raw');
    expect(readdirSync(join(dir, 'a'))).toEqual(['b.json']);
    mkdirSync(join(dir, 'dir.json'));
    expect(() => writeFileAtomicSync(join(dir, 'dir.json'), 'x')).toThrow(/Could not write/);
    expect(readdirSync(dir).sort()).toEqual(['a', 'dir.json']);
  });

  it('refuses a value JSON cannot represent', async () => {
    await expect(writeJsonAtomic(join(dir, 'u.json'), undefined)).rejects.toThrow(/Expected a JSON value/);
  });
});
