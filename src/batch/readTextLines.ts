import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { skipFile } from './skipFile.js';

/** Bytes read at a time: memory per open file stays at about this much, whatever the file's size. */
const READ_BYTES = 64 * 1024;

/** A line longer than this many UTF-16 units is yielded in parts (see `readTextLines`). */
export const MAX_LINE_CHARS = 1024 * 1024;

export interface ReadTextOptions {
  /** The path as reported in a `SkipFile` (default: the path read). */
  source?: string;
  /** Longest line yielded whole; a longer one comes in parts of this size. Default 1 Mi characters. */
  maxLineChars?: number;
}

/**
 * Reads a whole file once, in 64 KB pieces, and throws `SkipFile` if a batch should not use it:
 * `binary` (a NUL byte anywhere), `invalid-utf8`, `empty` (nothing but whitespace and a BOM) or
 * `unreadable` (missing, a directory, no permission). Memory stays at one piece; Node's native
 * UTF-8 validator makes this pass much faster than the chunking that follows it.
 */
export async function checkTextFile(path: string, { source = path }: Pick<ReadTextOptions, 'source'> = {}): Promise<{ bytes: number }> {
  let bytes = 0;
  // An incomplete multi-byte sequence at the end of one piece, completed by the next.
  let tail: Buffer = Buffer.alloc(0);
  let sawText = false;
  let stream;
  try {
    stream = createReadStream(path, { highWaterMark: READ_BYTES });
    for await (const piece of stream as AsyncIterable<Buffer>) {
      const zero = piece.indexOf(0);
      if (zero !== -1) throw skipFile(source, 'binary', `byte ${bytes + zero}`);
      const data = tail.length > 0 ? Buffer.concat([tail, piece]) : piece;
      const cut = data.length - incompleteTail(data);
      if (!isUtf8(data.subarray(0, cut))) throw skipFile(source, 'invalid-utf8', `byte ${bytes - tail.length + firstInvalid(data.subarray(0, cut))}`);
      tail = Buffer.from(data.subarray(cut));
      if (!sawText) sawText = hasText(piece, bytes === 0);
      bytes += piece.length;
    }
  } catch (error) {
    if (error instanceof Error && error.name === 'SkipFile') throw error;
    throw skipFile(source, 'unreadable', (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  } finally {
    stream?.destroy();
  }
  if (tail.length > 0) throw skipFile(source, 'invalid-utf8', `it ends inside a character, byte ${bytes - tail.length}`);
  if (!sawText) throw skipFile(source, 'empty');
  return { bytes };
}

/**
 * Streams a UTF-8 file's lines, without their line ends (LF or CRLF); a leading BOM is dropped.
 * Memory stays at one 64 KB read plus the current line. A line over `maxLineChars` (a minified
 * or generated file) is yielded in parts so that memory stays bounded; each part then counts
 * as a line. Throws `SkipFile` on NUL bytes, invalid UTF-8 or a read error met on the way.
 */
export async function* readTextLines(path: string, { source = path, maxLineChars = MAX_LINE_CHARS }: ReadTextOptions = {}): AsyncGenerator<string> {
  // fatal: invalid UTF-8 throws instead of becoming U+FFFD; ignoreBOM false drops a leading BOM.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // The unfinished last line of what was read so far.
  let carry = '';
  let bytes = 0;
  const stream = createReadStream(path, { highWaterMark: READ_BYTES });
  try {
    for await (const piece of readPieces(stream, source)) {
      if (piece.indexOf(0) !== -1) throw skipFile(source, 'binary', `byte ${bytes + piece.indexOf(0)}`);
      bytes += piece.length;
      const text = carry + decode(decoder, piece, source);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        const end = text.charCodeAt(nl - 1) === 13 && nl > start ? nl - 1 : nl;
        if (end - start <= maxLineChars) yield text.slice(start, end);
        else yield* parts(text.slice(start, end), maxLineChars, true);
        start = nl + 1;
      }
      carry = text.slice(start);
      if (carry.length > maxLineChars) {
        const whole = parts(carry, maxLineChars, false);
        carry = whole.pop()!;
        yield* whole;
      }
    }
    carry += decode(decoder, undefined, source);
    if (carry !== '') yield carry.endsWith('\r') ? carry.slice(0, -1) : carry;
  } finally {
    stream.destroy();
  }
}

/** Cuts a long line into parts of `max` characters, never inside a surrogate pair; without `all`, the last part is returned unfinished. */
function parts(line: string, max: number, all: boolean): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > max) {
    const c = rest.charCodeAt(max - 1);
    const cut = c >= 0xd800 && c <= 0xdbff && max > 1 ? max - 1 : max;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (all || rest !== '') out.push(rest);
  return out;
}

async function* readPieces(stream: AsyncIterable<Buffer>, source: string): AsyncGenerator<Buffer> {
  try {
    for await (const piece of stream) yield piece;
  } catch (error) {
    throw skipFile(source, 'unreadable', (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
}

function decode(decoder: TextDecoder, piece: Buffer | undefined, source: string): string {
  try {
    return piece === undefined ? decoder.decode() : decoder.decode(piece, { stream: true });
  } catch {
    throw skipFile(source, 'invalid-utf8');
  }
}

/** How many bytes at the end of `data` start a multi-byte character that is not complete yet. */
function incompleteTail(data: Buffer): number {
  for (let back = 1; back <= 3 && back <= data.length; back++) {
    const b = data[data.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/** Offset of the first byte that breaks UTF-8 in `data` (only called once isUtf8 rejected it). */
function firstInvalid(data: Buffer): number {
  let i = 0;
  while (i < data.length) {
    const b = data[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const more = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
    if (more === 0 || i + more >= data.length) return i;
    // The second byte's range rules out overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    const second = data[i + 1]!;
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= more; k++) if ((data[i + k]! & 0xc0) !== 0x80) return i;
    i += more + 1;
  }
  return data.length;
}

/** Whether a piece holds anything but whitespace (and, at the file's start, a BOM). */
function hasText(piece: Buffer, atStart: boolean): boolean {
  let i = atStart && piece[0] === 0xef && piece[1] === 0xbb && piece[2] === 0xbf ? 3 : 0;
  for (; i < piece.length; i++) {
    const b = piece[i]!;
    if (b !== 32 && b !== 10 && b !== 13 && b !== 9 && b !== 11 && b !== 12) return true;
  }
  return false;
}
