import * as fs from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Sink } from '../sinks/sink.js';
import { toJsonLine } from '../sinks/json.js';
import { FolderLock } from './folderLock.js';
import { LOG_FILES, type LogName } from './lines.js';

/** The file operations a commit makes; tests swap in failing ones (ENOSPC, EIO). */
export interface LogIo {
  open(path: string, flags: string): Promise<number>;
  fstat(fd: number): Promise<{ size: number }>;
  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  write(fd: number, buffer: Buffer, offset: number, length: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  close(fd: number): Promise<void>;
}

const p = {
  open: promisify(fs.open),
  fstat: promisify(fs.fstat),
  read: promisify(fs.read),
  write: promisify(fs.write),
  fdatasync: promisify(fs.fdatasync),
  ftruncate: promisify(fs.ftruncate),
  close: promisify(fs.close),
};

export const nodeLogIo: LogIo = {
  open: (path, flags) => p.open(path, flags),
  fstat: (fd) => p.fstat(fd),
  read: async (fd, buffer, offset, length, position) => (await p.read(fd, buffer, offset, length, position)).bytesRead,
  write: async (fd, buffer, offset, length) => (await p.write(fd, buffer, offset, length)).bytesWritten,
  fdatasync: (fd) => p.fdatasync(fd),
  ftruncate: (fd, length) => p.ftruncate(fd, length),
  close: (fd) => p.close(fd),
};

export interface LogWriterOptions {
  /** Longest a line waits for its commit, in ms (default 4). */
  delayMs?: number;
  /** A commit starts at once when this many lines are waiting (default 2,000). */
  maxLines?: number;
  /** … or this many bytes (default 4 MiB). */
  maxBytes?: number;
  io?: LogIo;
}

/** Logs that are fdatasync'ed on every commit: they hold decisions (a run, a batch's end). */
const DURABLE: ReadonlySet<LogName> = new Set(['runs', 'batches']);

/** Commit order inside one cycle: what a decision rests on goes before the decision. */
const ORDER: readonly LogName[] = ['answers', 'spans', 'events', 'blackboard', 'runs', 'batches'];

interface Log {
  name: LogName;
  path: string;
  pending: string[];
  fd?: number;
  /** Size after our last commit: when unchanged, nobody else wrote and the tail is ours and whole. */
  knownEnd?: number;
  /** Written since the last fdatasync (non-durable logs are synced at close). */
  dirty: boolean;
}

/**
 * A sink onto one log. `flush`/`close` wait for every line written so far to be committed but
 * never reject: the writer's failures are reported once, by its owner's `commit()`/`close()`, so
 * a component that swallows errors (the OTel span processor's shutdown) cannot hide one.
 */
export type LogSink<T> = Sink<T>;

/**
 * Group commit for the run log: one writer per process per artifacts folder. Lines are gathered
 * in memory and committed every few ms (or N lines, whichever first): each log gets one
 * `write(2)` of whole lines on an O_APPEND descriptor, through libuv's thread pool, so the event
 * loop never blocks on the disk. Each commit holds the folder's lock (FolderLock), which keeps
 * several processes' commits apart and lets a commit cut back a torn tail safely: a log that
 * does not end in a newline (a writer killed mid-commit, a full disk) is cut back to its last
 * newline before anything is appended, the cut bytes kept in `<log>.torn`; a commit that fails is
 * cut back the same way. So no torn line is ever buried mid-file.
 *
 * `write` never throws (it is called from `tap()`); failures are kept and reported by `commit()`
 * and `close()`, as the Sink contract says.
 */
export class LogWriter {
  readonly #logs = new Map<LogName, Log>();
  readonly #lock: FolderLock;
  readonly #io: LogIo;
  readonly #delayMs: number;
  readonly #maxLines: number;
  readonly #maxBytes: number;
  #pendingLines = 0;
  #pendingBytes = 0;
  /** Lines accepted so far, and lines whose commit finished (committed or failed). */
  #accepted = 0;
  #settled = 0;
  #timer: NodeJS.Timeout | undefined;
  #cycle: Promise<void> | undefined;
  #waiters: { upTo: number; resolve: () => void }[] = [];
  #firstError: Error | undefined;
  #errorCount = 0;
  #closing: Promise<void> | undefined;
  #everFailed = false;

  private constructor(readonly dir: string, options: LogWriterOptions) {
    this.#lock = new FolderLock(join(dir, '.runlog.lock'));
    this.#io = options.io ?? nodeLogIo;
    this.#delayMs = options.delayMs ?? 4;
    this.#maxLines = options.maxLines ?? 2000;
    this.#maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  }

  /** A writer for the artifacts folder `dir` (created on the first commit). Opens no file yet. */
  static open(dir: string, options: LogWriterOptions = {}): LogWriter {
    return new LogWriter(dir, options);
  }

  sink<T>(name: LogName): LogSink<T> {
    return {
      write: (value: T) => this.write(name, value),
      flush: () => this.settled(),
      close: () => this.settled(),
    };
  }

  write(name: LogName, value: unknown): void {
    if (this.#closing) return this.#fail(new Error(`write to ${LOG_FILES[name]} after close`));
    let line: string;
    try {
      line = toJsonLine(value);
    } catch (error) {
      return this.#fail(error);
    }
    const log = this.#log(name);
    log.pending.push(line);
    const bytes = line.length + 1;
    this.#pendingBytes += bytes;
    this.#pendingLines++;
    this.#accepted++;
    if (this.#pendingLines >= this.#maxLines || this.#pendingBytes >= this.#maxBytes) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#delayMs);
  }

  /**
   * Commits every line written so far, now. Resolves once they are written (and synced for
   * runs/batches); rejects naming the log when any commit since the last report failed.
   */
  commit(): Promise<void> {
    return this.settled().then(() => this.#throwKept());
  }

  /** Resolves once every line written so far has been committed or has failed; never rejects. */
  settled(): Promise<void> {
    const upTo = this.#accepted;
    if (this.#settled >= upTo) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiters.push({ upTo, resolve });
      this.#kick();
    });
  }

  /** True once any commit failed (whether or not `commit()` has reported it yet). */
  get failed(): boolean {
    return this.#everFailed;
  }

  /** Commits what is left, syncs every log written to, closes the files. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      let failure: unknown;
      try {
        await this.commit();
      } catch (error) {
        failure = error;
      }
      // The logs' syncs run side by side on the thread pool: an ask waits for them before it exits.
      await Promise.all(
        [...this.#logs.values()].map(async (log) => {
          if (log.fd === undefined) return;
          try {
            if (log.dirty) await this.#io.fdatasync(log.fd);
          } catch (error) {
            failure ??= new Error(`Could not sync ${log.path}: ${(error as Error).message}`, { cause: error });
          } finally {
            await this.#io.close(log.fd).catch(() => undefined);
            log.fd = undefined;
          }
        }),
      );
      await this.#lock.dispose();
      if (failure) throw failure;
    })();
    return this.#closing;
  }

  #log(name: LogName): Log {
    let log = this.#logs.get(name);
    if (!log) {
      log = { name, path: join(this.dir, LOG_FILES[name]), pending: [], dirty: false };
      this.#logs.set(name, log);
    }
    return log;
  }

  #kick(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#cycle) return;
    this.#cycle = this.#run().finally(() => {
      this.#cycle = undefined;
      // Lines that arrived during the last commit wait for their own.
      if (this.#pendingLines > 0) this.#timer ??= setTimeout(() => this.#kick(), this.#delayMs);
    });
  }

  async #run(): Promise<void> {
    while (this.#pendingLines > 0) {
      const batch: { log: Log; lines: string[] }[] = [];
      for (const name of ORDER) {
        const log = this.#logs.get(name);
        if (!log || log.pending.length === 0) continue;
        batch.push({ log, lines: log.pending });
        log.pending = [];
      }
      const count = this.#pendingLines;
      this.#pendingLines = 0;
      this.#pendingBytes = 0;
      try {
        await this.#lock.acquire();
        try {
          for (const { log, lines } of batch) {
            // Once anything failed, no decision is committed any more: a run line must not land
            // without its answers, nor a batch's end without its run lines (a resume trusts both).
            if (this.#everFailed && DURABLE.has(log.name)) {
              this.#fail(new Error(`Did not append ${lines.length} line(s) to ${log.path}: an earlier commit to ${this.dir} failed`));
              continue;
            }
            try {
              await this.#commitLog(log, Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
            } catch (error) {
              this.#fail(new Error(`Could not append ${lines.length} line(s) to ${log.path}: ${(error as Error).message}`, { cause: error }));
            }
          }
        } finally {
          await this.#lock.release();
        }
      } catch (error) {
        this.#fail(new Error(`Could not commit to ${this.dir}: ${(error as Error).message}`, { cause: error }));
      }
      this.#settled += count;
      this.#waiters = this.#waiters.filter((w) => (w.upTo <= this.#settled ? (w.resolve(), false) : true));
    }
  }

  /** One log's part of a commit; the caller holds the lock. */
  async #commitLog(log: Log, buf: Buffer): Promise<void> {
    const io = this.#io;
    log.fd ??= await io.open(log.path, 'a+');
    const fd = log.fd;
    let { size } = await io.fstat(fd);
    if (size > 0 && size !== log.knownEnd) size = await this.#repairTail(log, fd, size);
    let written = 0;
    try {
      while (written < buf.length) {
        const n = await io.write(fd, buf, written, buf.length - written);
        if (n <= 0) throw new Error(`short write (${written} of ${buf.length} bytes)`);
        written += n;
      }
      log.dirty = true;
      if (DURABLE.has(log.name)) {
        await io.fdatasync(fd);
        log.dirty = false;
      }
    } catch (error) {
      // Our partial lines go, so no torn line stays behind for the next commit to bury.
      await io.ftruncate(fd, size).catch(() => undefined);
      log.knownEnd = undefined;
      throw error;
    }
    log.knownEnd = size + buf.length;
  }

  /** Cuts a torn tail back to the last newline, keeping the cut bytes in `<log>.torn`; returns the new size. */
  async #repairTail(log: Log, fd: number, size: number): Promise<number> {
    const io = this.#io;
    const last = Buffer.alloc(1);
    await io.read(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return size;
    const chunk = Buffer.alloc(64 * 1024);
    let cut = 0;
    for (let pos = size; pos > 0; ) {
      const from = Math.max(0, pos - chunk.length);
      const n = await io.read(fd, chunk, 0, pos - from, from);
      const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (nl !== -1) {
        cut = from + nl + 1;
        break;
      }
      pos = from;
    }
    const torn = Buffer.alloc(size - cut);
    await io.read(fd, torn, 0, torn.length, cut);
    // On a full disk the fragment may not fit in .torn; it is cut all the same, since an
    // incomplete line is of no use to any reader and must not end up mid-file.
    await appendFile(`${log.path}.torn`, Buffer.concat([torn, Buffer.from('\n')])).catch(() => undefined);
    await io.ftruncate(fd, cut);
    return cut;
  }

  #fail(error: unknown): void {
    this.#everFailed = true;
    this.#errorCount++;
    this.#firstError ??= error instanceof Error ? error : new Error(String(error));
  }

  /** Reports kept failures once: a caller that handled them should not see them again. */
  #throwKept(): void {
    const first = this.#firstError;
    if (!first) return;
    const count = this.#errorCount;
    this.#firstError = undefined;
    this.#errorCount = 0;
    throw count === 1 ? first : new Error(`${first.message} (and ${count - 1} more failed commit(s))`, { cause: first });
  }
}
