import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { jsonReplacer } from './json.js';

/**
 * Writes a whole file so that a reader, or a crash at any moment, sees either the old file or
 * the complete new one, never half of it: the data goes to a temporary file in the same folder
 * (rename is only atomic within one filesystem), is fsynced, then renamed over the target.
 * The folder is created if missing.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new Error(`Could not write ${path}: ${(e as Error).message}`, { cause: e });
  }
  await syncDir(dir);
}

/** `writeFileAtomic` for a JSON value, pretty-printed with a final newline. */
export async function writeJsonAtomic(path: string, value: unknown, space = 2): Promise<void> {
  return writeFileAtomic(path, serialise(value, space));
}

/**
 * Synchronous twin of `writeFileAtomic`, for exit paths (a SIGINT handler) where the event loop
 * may not get another turn.
 */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`Could not write ${path}: ${(e as Error).message}`, { cause: e });
  }
  syncDirSync(dir);
}

/** Synchronous twin of `writeJsonAtomic`. */
export function writeJsonAtomicSync(path: string, value: unknown, space = 2): void {
  writeFileAtomicSync(path, serialise(value, space));
}

function serialise(value: unknown, space: number): string {
  const text: string | undefined = JSON.stringify(value, jsonReplacer, space);
  if (text === undefined) throw new TypeError(`Expected a JSON value, got ${typeof value}`);
  return `${text}\n`;
}

/** Hidden, unique per writer, so concurrent writers of one target never share a temp file. */
function tempPathFor(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
}

/** Makes the rename itself survive a power cut; best effort, as some filesystems refuse it. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse to fsync a folder; the rename has happened all the same.
  }
}

function syncDirSync(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // As in syncDir.
  }
}
