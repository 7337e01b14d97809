import { closeSync, fdatasync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Sink } from './sink.js';
import { toJsonLine } from './json.js';

export { InMemorySink } from './inMemorySink.js';
export { readJsonl, type JsonlReadResult } from './readJsonl.js';

/**
 * Appends one JSON object per line to a file, shared safely with other writers.
 *
 * - Each line goes out as ONE `write(2)` on an `O_APPEND` descriptor. Linux takes the inode
 *   lock for the whole write and positions it at the end of file, so lines from several
 *   processes never interleave.
 * - Writes are synchronous on purpose: once `write()` returns, the line is in the kernel, so
 *   SIGKILL or `process.exit()` a moment later loses nothing, and there is no queue to drain.
 * - SIGKILL *inside* a write that spans pages can still cut it short: the kernel checks for
 *   fatal signals between pages (seen here about once in 15 kills with 16 KB lines). No
 *   syscall prevents that, so the rest is damage control: a file whose tail is torn gets a
 *   `'\n'` before our first line, in the same write, so our line never glues onto the
 *   garbage; and `readJsonl` skips a torn line (recovering a line another live writer glued
 *   onto it).
 */
export class JsonlSink<E> implements Sink<E> {
  #fd: number | undefined;
  /** Set when the file may end mid-line: at open for a torn tail, or after a failed write. */
  #needsNewline = false;
  #firstError: Error | undefined;
  #errorCount = 0;
  #closing: Promise<void> | undefined;
  #lines = 0;

  /** @param path the JSONL file; its folder is created on the first write. */
  constructor(readonly path: string) {}

  /** Lines this sink has appended so far. */
  get linesWritten(): number {
    return this.#lines;
  }

  write(event: E): void {
    if (this.#closing) {
      this.#fail(new Error('write after close'));
      return;
    }
    let line: string;
    try {
      line = toJsonLine(event);
    } catch (e) {
      this.#fail(e);
      return;
    }
    let prefixed = false;
    let offset = 0;
    try {
      const fd = this.#open();
      prefixed = this.#needsNewline;
      const buf = Buffer.from(`${prefixed ? '\n' : ''}${line}\n`, 'utf8');
      this.#needsNewline = false;
      while (offset < buf.length) {
        // A short write only happens on a full disk or a fatal signal; finishing the line is
        // still better than leaving it torn.
        const n = writeSync(fd, buf, offset, buf.length - offset);
        if (n <= 0) throw new Error(`short write (${offset} of ${buf.length} bytes)`);
        offset += n;
      }
      this.#lines++;
    } catch (e) {
      if (prefixed || offset > 0) this.#needsNewline = true;
      this.#fail(e);
    }
  }

  async flush(): Promise<void> {
    this.#throwKept();
    const fd = this.#fd;
    if (fd === undefined) return;
    await new Promise<void>((resolve, reject) =>
      fdatasync(fd, (err) =>
        err ? reject(new Error(`Could not sync ${this.path}: ${err.message}`, { cause: err })) : resolve(),
      ),
    );
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.flush();
      } finally {
        if (this.#fd !== undefined) closeSync(this.#fd);
        this.#fd = undefined;
      }
    })();
    return this.#closing;
  }

  #open(): number {
    if (this.#fd !== undefined) return this.#fd;
    mkdirSync(dirname(this.path), { recursive: true });
    // 'a+' rather than 'a': appends stay O_APPEND, and the tail byte can be read back.
    const fd = openSync(this.path, 'a+');
    try {
      const { size } = fstatSync(fd);
      if (size > 0) {
        const last = Buffer.alloc(1);
        readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) this.#needsNewline = true;
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    this.#fd = fd;
    return fd;
  }

  #fail(e: unknown): void {
    this.#errorCount++;
    this.#firstError ??= e instanceof Error ? e : new Error(String(e));
  }

  /** Reports kept errors once: a caller that handled them should not see them again. */
  #throwKept(): void {
    const cause = this.#firstError;
    if (!cause) return;
    const what = this.#errorCount === 1 ? '1 write failed' : `${this.#errorCount} writes failed`;
    this.#firstError = undefined;
    this.#errorCount = 0;
    throw new Error(`Could not append to ${this.path}: ${what}; first: ${cause.message}`, { cause });
  }
}
