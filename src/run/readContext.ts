import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** Larger documents belong in `quorum batch`, which chunks them to fit the models' windows. */
export const MAX_CONTEXT_BYTES = 2 * 1024 * 1024;

/** Reads a `--context` document, refusing what no model could use: missing, a folder, binary, empty, huge. */
export function readContext(path: string): { source: string; text: string } {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new UsageError(`--context ${path} is a directory; give one text file (use \`quorum batch\` for folders)`);
    size = stat.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--context ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); check the path`);
  }
  if (size > MAX_CONTEXT_BYTES) {
    throw new UsageError(`--context ${path} is ${(size / 1048576).toFixed(1)} MB, over the ${MAX_CONTEXT_BYTES / 1048576} MB limit; split it with \`quorum batch\``);
  }
  const bytes = Buffer.alloc(size);
  const fd = openSync(path, 'r');
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
  if (bytes.includes(0)) throw new UsageError(`--context ${path} looks binary (it contains NUL bytes); give a text file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`--context ${path} is not valid UTF-8 text; convert it to UTF-8 first`);
  }
  if (text.trim() === '') throw new UsageError(`--context ${path} is empty; give a file with text in it`);
  return { source: path, text: text.replace(/^\uFEFF/, '') };
}
