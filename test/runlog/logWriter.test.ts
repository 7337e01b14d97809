import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogWriter, nodeLogIo, type LogIo } from '../../src/runlog/logWriter.js';
import { readLog } from '../../src/runlog/readLog.js';
import { tempDir } from '../helpers/cli.js';

const DIST_WRITER = resolve(import.meta.dirname, '../../dist/runlog/logWriter.js');

/** Every line of a log, asserting that each one is a whole JSON object. */
function wholeLines(path: string): Record<string, unknown>[] {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n') || text === '').toBe(true);
  return text
    .split('\n')
    .slice(0, -1)
    .map((line, i) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`line ${i + 1} of ${path} is not whole: ${line.slice(0, 80)}`);
      }
    });
}

/** Node's file operations, counting the writes and fsyncs a commit makes. */
function countingIo(): LogIo & { writes: number; syncs: number } {
  const io = {
    ...nodeLogIo,
    writes: 0,
    syncs: 0,
    write: (fd: number, b: Buffer, o: number, l: number) => (io.writes++, nodeLogIo.write(fd, b, o, l)),
    fdatasync: (fd: number) => (io.syncs++, nodeLogIo.fdatasync(fd)),
  };
  return io;
}

const writers: LogWriter[] = [];
afterEach(async () => {
  await Promise.allSettled(writers.splice(0).map((w) => w.close()));
});
function open(dir: string, options: Parameters<typeof LogWriter.open>[1] = {}): LogWriter {
  const w = LogWriter.open(dir, options);
  writers.push(w);
  return w;
}

describe('LogWriter', () => {
  it('group-commits many lines with one write per log per commit, fsyncing only the decision logs', async () => {
    const dir = tempDir();
    const io = countingIo();
    const w = open(dir, { io, delayMs: 1000 });
    for (let i = 0; i < 500; i++) w.write('events', { i });
    for (let i = 0; i < 3; i++) w.write('runs', { runId: `r${i}` });
    // Nothing is written before the commit: no synchronous write on the caller's turn.
    expect(existsSync(join(dir, 'cloudevents.jsonl'))).toBe(false);
    await w.commit();
    expect(io.writes).toBe(2);
    expect(io.syncs).toBe(1);
    expect(wholeLines(join(dir, 'cloudevents.jsonl')).map((l) => l.i)).toEqual([...Array(500).keys()]);
    expect(wholeLines(join(dir, 'runs.jsonl'))).toHaveLength(3);
    expect(existsSync(join(dir, '.runlog.lock'))).toBe(false);
  });

  it('commits by itself after its delay, and at once when enough lines wait', async () => {
    const dir = tempDir();
    const io = countingIo();
    const w = open(dir, { io, delayMs: 1, maxLines: 10 });
    w.write('answers', { n: 1 });
    // Nobody calls commit(): the line reaching the file is the timer's doing.
    for (let i = 0; i < 400 && io.syncs === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(wholeLines(join(dir, 'answers.jsonl'))).toHaveLength(1);
    for (let i = 0; i < 25; i++) w.write('answers', { n: i });
    await w.close();
    expect(wholeLines(join(dir, 'answers.jsonl'))).toHaveLength(26);
  });

  it('cuts a torn tail back to the last newline before appending, keeping the cut bytes in <log>.torn', async () => {
    const dir = tempDir();
    const path = join(dir, 'runs.jsonl');
    writeFileSync(path, '{"runId":"a"}\n{"runId":"b","cla');
    const w = open(dir);
    w.write('runs', { runId: 'c' });
    await w.commit();
    expect(readFileSync(path, 'utf8')).toBe('{"runId":"a"}\n{"runId":"c"}\n');
    expect(readFileSync(`${path}.torn`, 'utf8')).toBe('{"runId":"b","cla\n');
  });

  it('repairs a tail another process tore after this writer last committed', async () => {
    const dir = tempDir();
    const path = join(dir, 'cloudevents.jsonl');
    const w = open(dir);
    w.write('events', { n: 1 });
    await w.commit();
    writeFileSync(path, '{"n":"other"', { flag: 'a' });
    w.write('events', { n: 2 });
    await w.commit();
    expect(wholeLines(path)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('a failed commit (ENOSPC mid-write) leaves no partial line, is reported once naming the log, and the next writer commits', async () => {
    const dir = tempDir();
    let full = false;
    const io: LogIo = {
      ...nodeLogIo,
      // A full disk: the first write takes part of the buffer, the next fails.
      write: async (fd, b, o, l) => {
        if (!full) return nodeLogIo.write(fd, b, o, l);
        if (o === 0) return nodeLogIo.write(fd, b, o, Math.max(1, Math.floor(l / 2)));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    const w = open(dir, { io });
    w.write('runs', { runId: 'a' });
    await w.commit();
    full = true;
    w.write('runs', { runId: 'b', text: 'x'.repeat(1000) });
    await expect(w.commit()).rejects.toThrow(/runs\.jsonl.*ENOSPC/);
    expect(readFileSync(join(dir, 'runs.jsonl'), 'utf8')).toBe('{"runId":"a"}\n');
    await expect(w.commit()).resolves.toBeUndefined();
    full = false;
    const next = open(dir, { io });
    next.write('runs', { runId: 'c' });
    await next.commit();
    expect(wholeLines(join(dir, 'runs.jsonl'))).toEqual([{ runId: 'a' }, { runId: 'c' }]);
  });

  it('after a failed commit no decision is committed any more: a run line never lands without its answers', async () => {
    const dir = tempDir();
    let full = true;
    const io: LogIo = {
      ...nodeLogIo,
      write: async (fd, b, o, l) => {
        if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return nodeLogIo.write(fd, b, o, l);
      },
    };
    const w = open(dir, { io, delayMs: 1000 });
    w.write('answers', { runId: 'a', port: 0 });
    w.write('runs', { runId: 'a' });
    await expect(w.commit()).rejects.toThrow(/answers\.jsonl.*ENOSPC/);
    // Space is back, but the decisions of this writer stay refused; other logs go on.
    full = false;
    w.write('runs', { runId: 'b' });
    w.write('batches', { type: 'ended', outcome: 'completed' });
    w.write('events', { n: 1 });
    await expect(w.commit()).rejects.toThrow(/Did not append 1 line\(s\) to .*runs\.jsonl/);
    expect(existsSync(join(dir, 'runs.jsonl')) ? readFileSync(join(dir, 'runs.jsonl'), 'utf8') : '').toBe('');
    expect(existsSync(join(dir, 'batches.jsonl'))).toBe(false);
    expect(wholeLines(join(dir, 'cloudevents.jsonl'))).toEqual([{ n: 1 }]);
  });

  it('breaks a lock left by a writer that died mid-commit', async () => {
    const dir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, '.runlog.lock'), `${dead.stdout} dead\n`);
    const w = open(dir);
    w.write('events', { n: 1 });
    await w.commit();
    expect(wholeLines(join(dir, 'cloudevents.jsonl'))).toEqual([{ n: 1 }]);
    expect(existsSync(join(dir, '.runlog.lock'))).toBe(false);
  });

  it('waits for a live writer holding the lock', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.runlog.lock'), `${process.pid} other-writer\n`);
    const w = open(dir);
    w.write('events', { n: 1 });
    let done = false;
    const commit = w.commit().then(() => (done = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    rmSync(join(dir, '.runlog.lock'));
    await commit;
    expect(wholeLines(join(dir, 'cloudevents.jsonl'))).toEqual([{ n: 1 }]);
  });

  it('keeps lines whole when several processes append to one folder at once', async () => {
    const dir = tempDir();
    const script = `
      const { LogWriter } = await import(${JSON.stringify(DIST_WRITER)});
      const w = LogWriter.open(process.argv[1], { delayMs: 1, maxLines: 7 });
      const who = Number(process.argv[2]);
      for (let i = 0; i < 400; i++) {
        w.write('answers', { who, i, text: 'x'.repeat((i * 37 + who * 11) % 9000) });
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await w.close();`;
    const children = [0, 1, 2, 3].map(
      (who) =>
        new Promise<number | null>((done) =>
          spawn(process.execPath, ['--input-type=module', '-e', script, dir, String(who)], { stdio: 'inherit' }).on('close', done),
        ),
    );
    expect(await Promise.all(children)).toEqual([0, 0, 0, 0]);
    const lines = wholeLines(join(dir, 'answers.jsonl'));
    expect(lines).toHaveLength(1600);
    for (const who of [0, 1, 2, 3]) {
      expect(lines.filter((l) => l.who === who).map((l) => l.i)).toEqual([...Array(400).keys()]);
    }
  });

  it('SIGKILL at any moment of a commit, many times: the next writer leaves no torn line anywhere', async () => {
    const dir = tempDir();
    const path = join(dir, 'answers.jsonl');
    // Large commits (4 lines of 1 MB), so kills land inside write(2) as well as between commits.
    const script = `
      const { LogWriter } = await import(${JSON.stringify(DIST_WRITER)});
      const w = LogWriter.open(process.argv[1], { delayMs: 0, maxLines: 4 });
      const pad = 'y'.repeat(1 << 20);
      for (let i = 0; ; i++) {
        w.write('answers', { who: 'child', i, pad });
        if (i % 4 === 3) await w.commit();
        if (i === 3) process.stdout.write('ready\\n');
      }`;
    let torn = 0;
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((ready) => child.stdout.once('data', () => ready()));
      await new Promise((r) => setTimeout(r, (round * 7) % 23));

      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
      const before = readFileSync(path);
      if (before.length > 0 && before[before.length - 1] !== 0x0a) torn++;
      const w = open(dir);
      w.write('answers', { who: 'parent', round });
      await w.close();
      const lines = wholeLines(path);
      expect(lines.at(-1)).toEqual({ who: 'parent', round });
      // A reader never sees a torn line either.
      expect((await readLog(path)).skipped).toBe(0);
      rmSync(path);
    }
    // The .torn file holds exactly the fragments that were cut.
    if (torn > 0) expect(readFileSync(`${path}.torn`, 'utf8').split('\n').filter(Boolean)).toHaveLength(torn);
  }, 60_000);

  it('a writer killed mid-commit, holding the lock with half a line written: the next writer breaks the lock and cuts the line', async () => {
    const dir = tempDir();
    const lock = resolve(import.meta.dirname, '../../dist/runlog/folderLock.js');
    const script = `
      const { appendFileSync } = await import('node:fs');
      const { FolderLock } = await import(${JSON.stringify(lock)});
      const l = new FolderLock(process.argv[1] + '/.runlog.lock');
      await l.acquire();
      appendFileSync(process.argv[1] + '/runs.jsonl', '{"runId":"whole"}\\n{"runId":"half","cl');
      process.kill(process.pid, 'SIGKILL');`;
    const killed = spawnSync(process.execPath, ['--input-type=module', '-e', script, dir]);
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(dir, '.runlog.lock'))).toBe(true);
    const w = open(dir);
    w.write('runs', { runId: 'next' });
    await w.close();
    expect(wholeLines(join(dir, 'runs.jsonl'))).toEqual([{ runId: 'whole' }, { runId: 'next' }]);
    expect(readFileSync(join(dir, 'runs.jsonl.torn'), 'utf8')).toBe('{"runId":"half","cl\n');
    // The dead writer's key file is swept too: nothing of it is left.
    expect(readdirSync(dir).filter((f) => f.startsWith('.runlog.lock'))).toEqual([]);
  });

  it('on a real full disk (a small tmpfs) a commit fails cleanly and succeeds once space is freed', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a tmpfs');
    const mnt = tempDir('quorum-tmpfs-');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    if (mounted.status !== 0) return t.skip(`cannot mount a tmpfs here: ${String(mounted.stderr).trim()}`);
    try {
      const dir = join(mnt, 'artifacts');
      mkdirSync(dir);
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(200 * 1024));
      const w = LogWriter.open(dir);
      w.write('runs', { runId: 'fits' });
      await w.commit();
      for (let i = 0; i < 40; i++) w.write('runs', { runId: `r${i}`, text: 'z'.repeat(4000) });
      await expect(w.commit()).rejects.toThrow(/runs\.jsonl.*(ENOSPC|no space)/);
      expect(wholeLines(join(dir, 'runs.jsonl'))).toEqual([{ runId: 'fits' }]);
      rmSync(join(mnt, 'filler'));
      await w.close().catch(() => undefined);
      const next = LogWriter.open(dir);
      next.write('runs', { runId: 'after' });
      await next.close();
      expect(wholeLines(join(dir, 'runs.jsonl'))).toEqual([{ runId: 'fits' }, { runId: 'after' }]);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
