import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { fileKind } from './fileKind.js';

/** Larger documents belong in `quorum batch`, which chunks them to fit the models' windows. */
export const MAX_CONTEXT_BYTES = 2 * 1024 * 1024;

/**
 * Reads a `--context` document, refusing what no model could use: missing, a folder, binary,
 * empty, huge, and anything that is not a regular file. A FIFO, a device or a socket is refused
 * from its stat, before it is opened: opening a FIFO with no writer would block forever, and
 * /dev/zero would read as "empty". The file is then opened non-blocking and checked again on the
 * open descriptor, so a path swapped for a FIFO in between cannot block either.
 */
export function readContext(path: string, flag = '--context'): { source: string; text: string } {
  let size: number;
  let fd: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new UsageError(`${flag} ${path} is a directory; give one text file (use \`quorum batch\` for folders)`);
    if (!stat.isFile()) throw notRegular(path, fileKind(stat), flag);
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${flag} ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); check the path`);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw notRegular(path, fileKind(opened), flag);
    size = opened.size;
    if (size > MAX_CONTEXT_BYTES) {
      throw new UsageError(`${flag} ${path} is ${(size / 1048576).toFixed(1)} MB, over the ${MAX_CONTEXT_BYTES / 1048576} MB limit; split it with \`quorum batch\``);
    }
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const bytes = Buffer.alloc(size);
  try {
    let read = 0;
    while (read < size) {
      const n = readSync(fd, bytes, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
  } finally {
    closeSync(fd);
  }
  return { source: path, text: decodeText(bytes, `${flag} ${path}`) };
}

/**
 * The text of bytes read for `what` ("--context a.md", "the question on stdin"): refused when
 * binary, not UTF-8 or empty; a leading BOM dropped.
 */
export function decodeText(bytes: Uint8Array, what: string): string {
  if (bytes.includes(0)) throw new UsageError(`${what} looks binary (it contains NUL bytes); give a text file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${what} is not valid UTF-8 text; convert it to UTF-8 first`);
  }
  if (text.trim() === '') throw new UsageError(`${what} is empty; give a file with text in it`);
  return text.replace(/^\uFEFF/, '');
}

function notRegular(path: string, kind: string, flag: string): UsageError {
  return new UsageError(`${flag} ${path} is ${kind}, not a regular file; give a text file (quorum does not read pipes, devices or sockets)`);
}
