import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemorySink, JsonlSink, readJsonl } from '../../src/sinks/jsonlSink.js';

const child = fileURLToPath(new URL('./fixtures/appendLines.ts', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'quorum-jsonl-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Line {
  writer: string;
  seq: number;
  len: number;
  pad: string;
}

function startWriter(file: string, writer: string, count: number | 'forever'): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, file, writer, String(count)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`writer ${writer} exited early (${code})`)));
    proc.stdout!.once('data', () => {
      proc.removeAllListeners('exit');
      resolve(proc);
    });
  });
}

function exited(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
}

describe('JsonlSink', () => {
  it('appends one JSON object per line, creating the folder', async () => {
    const file = join(dir, 'a', 'b', 'events.jsonl');
    const sink = new JsonlSink<object>(file);
    sink.write({ n: 1, text: 'two\nlines' });
    sink.write({ n: 2 });
    await sink.close();
    expect(readFileSync(file, 'utf8')).toBe('{"n":1,"text":"two\\nlines"}\n{"n":2}\n');
    expect(sink.linesWritten).toBe(2);
  });

  it('keeps lines from two processes appending 2,000 lines each whole and in order', async () => {
    const file = join(dir, 'shared.jsonl');
    const writers = await Promise.all([startWriter(file, 'A', 2000), startWriter(file, 'B', 2000)]);
    const done = writers.map(exited);
    for (const w of writers) w.stdin!.end('go\n');
    expect(await Promise.all(done)).toEqual([0, 0]);

    const { records, skipped } = await readJsonl<Line>(file);
    expect(skipped).toBe(0);
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
    for (const w of ['A', 'B']) {
      const mine = records.filter((r) => r.writer === w);
      expect(mine.map((r) => r.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
      expect(mine.every((r) => r.pad.length === r.len)).toBe(true);
    }
    // The writers really overlapped; otherwise this test would prove nothing about interleaving.
    const switches = records.filter((r, i) => i > 0 && r.writer !== records[i - 1]!.writer).length;
    expect(switches).toBeGreaterThan(1);
  });

  it('leaves only whole lines when the writer is SIGKILLed mid-stream, and the next writer starts a fresh line', async () => {
    const file = join(dir, 'killed.jsonl');
    const proc = await startWriter(file, 'K', 'forever');
    const gone = exited(proc);
    proc.stdin!.end('go\n');
    while ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) <= 2_000_000) {
      if (proc.exitCode !== null) throw new Error(`writer exited early (${proc.exitCode})`);
      await new Promise((r) => setTimeout(r, 5));
    }
    proc.kill('SIGKILL');
    await gone;

    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const tail = lines.pop()!; // '' when the file ends on a newline
    // Every newline-terminated line is a whole object: writes never interleave or split.
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    // A fatal signal can in principle cut a multi-page write short; that can only be the tail.
    const before = await readJsonl<Line>(file);
    expect(before.skipped).toBe(tail === '' ? 0 : 1);
    expect(before.records.length).toBeGreaterThan(100);

    const next = new JsonlSink<object>(file);
    next.write({ after: 'kill' });
    await next.close();
    const after = await readJsonl<Line | { after: string }>(file);
    expect(after.records.at(-1)).toEqual({ after: 'kill' });
    expect(after.records.length).toBe(before.records.length + 1);
  });

  it('starts on a fresh line when the file ends in a torn line', async () => {
    const file = join(dir, 'torn.jsonl');
    writeFileSync(file, '{"a":1}\n{"b":');
    const sink = new JsonlSink<object>(file);
    sink.write({ c: 3 });
    sink.write({ d: 4 });
    await sink.close();
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"b":\n{"c":3}\n{"d":4}\n');
    const { records, skipped, skippedLines } = await readJsonl(file);
    expect(records).toEqual([{ a: 1 }, { c: 3 }, { d: 4 }]);
    expect(skipped).toBe(1);
    expect(skippedLines).toEqual([2]);
  });

  it('adds no blank line to a file that already ends on a newline', async () => {
    const file = join(dir, 'whole.jsonl');
    writeFileSync(file, '{"a":1}\n');
    const sink = new JsonlSink<object>(file);
    sink.write({ b: 2 });
    await sink.close();
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"b":2}\n');
  });

  it('writes BigInt as a number when exact and as a string when not', async () => {
    const file = join(dir, 'big.jsonl');
    const sink = new JsonlSink<object>(file);
    sink.write({ small: 42n, huge: 2n ** 64n });
    await sink.close();
    expect(readFileSync(file, 'utf8')).toBe('{"small":42,"huge":"18446744073709551616"}\n');
  });

  it('never throws from write; a bad event is reported by flush and the good ones still land', async () => {
    const file = join(dir, 'mixed.jsonl');
    const sink = new JsonlSink<unknown>(file);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => {
      sink.write({ ok: 1 });
      sink.write(cyclic);
      sink.write(undefined);
      sink.write(7);
      sink.write({ ok: 2 });
    }).not.toThrow();
    await expect(sink.flush()).rejects.toThrow(
      new RegExp(`Could not append to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 3 writes failed; first: .*circular`, 'i'),
    );
    // Reported once: the caller has now seen it.
    await expect(sink.close()).resolves.toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe('{"ok":1}\n{"ok":2}\n');
  });

  it('reports an unwritable path from flush and close, naming the path', async () => {
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, 'x');
    const file = join(blocker, 'events.jsonl');
    const sink = new JsonlSink<object>(file);
    expect(() => sink.write({ a: 1 })).not.toThrow();
    await expect(sink.close()).rejects.toThrow(`Could not append to ${file}`);
  });

  it('closes idempotently and reports a write after close', async () => {
    const sink = new JsonlSink<object>(join(dir, 'c.jsonl'));
    sink.write({ a: 1 });
    const first = sink.close();
    expect(sink.close()).toBe(first);
    await first;
    sink.write({ late: true });
    await expect(sink.flush()).rejects.toThrow(/write after close/);
  });
});

describe('readJsonl', () => {
  it('skips and counts lines that are not JSON objects, ignoring blank lines', async () => {
    const file = join(dir, 'r.jsonl');
    writeFileSync(file, '{"a":1}\n\n[1,2]\nnot json\r\n{"b":2}\r\n42\n{"c":');
    const { records, skipped, skippedLines } = await readJsonl(file);
    expect(records).toEqual([{ a: 1 }, { b: 2 }]);
    expect(skipped).toBe(4);
    expect(skippedLines).toEqual([3, 4, 6, 7]);
  });
});

describe('readJsonl recovery', () => {
  it('recovers a whole line that another writer glued onto a torn fragment', async () => {
    const file = join(dir, 'glued.jsonl');
    writeFileSync(file, '{"a":1}\n{"writer":"K","m":{"x":1},"pad":"cut {here' + '{"writer":"B","n":{"y":2}}\n{"c":3}\n');
    const { records, skipped, skippedLines } = await readJsonl(file);
    expect(records).toEqual([{ a: 1 }, { writer: 'B', n: { y: 2 } }, { c: 3 }]);
    expect(skipped).toBe(1);
    expect(skippedLines).toEqual([2]);
  });
});

describe('InMemorySink', () => {
  it('keeps events in order and records that it was closed', async () => {
    const sink = new InMemorySink<number>();
    sink.write(1);
    sink.write(2);
    await sink.flush();
    await sink.close();
    expect(sink.events).toEqual([1, 2]);
    expect(sink.closed).toBe(true);
  });
});
