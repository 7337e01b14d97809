import { createHash } from 'node:crypto';
import { isAbsolute, posix, relative } from 'node:path';
import { type Block, type TextFormat, parseBlocks } from './blocks.js';
import { UNITS_PER_TOKEN, WHITESPACE_UNITS, estimateTokens } from './estimateTokens.js';
import { checkTextFile, readTextLines } from './readTextLines.js';
import { type Segment, hardSplit, joinSegments, lineSegments, refine, segment, segmentsUnits } from './segments.js';
import { skipFile } from './skipFile.js';

export { estimateTokens } from './estimateTokens.js';
export { SkipFile, type SkipReason } from './skipFile.js';
export type { TextFormat } from './blocks.js';

/** One piece of one input file, small enough to ask the panel about. */
export interface Chunk {
  /** `chunkId(source, text)`: the same file and text give the same id on every run and machine. */
  id: string;
  /** The file's path relative to the working directory, with forward slashes. */
  source: string;
  /** 0-based position of the chunk in its file. */
  index: number;
  /**
   * The chunk's text as in the file, except that a run of blank lines between blocks becomes
   * one, and the parts of a code fence too long to keep whole are each re-opened and closed.
   */
  text: string;
  /** `estimateTokens(text)`. */
  tokens: number;
  /** Headings in force where the chunk's own text starts, outermost first: "Intro > Scope". */
  heading?: string;
  /** 1-based lines of the file that `text` spans, overlap included. */
  startLine: number;
  endLine: number;
}

export interface ChunkOptions {
  /** The file's path as `Chunk.source` shows it and `chunkId` hashes it. */
  source: string;
  /** Most tokens (by `estimateTokens`) in a chunk. Default 1500. Only a code fence may go over it. */
  maxTokens?: number;
  /**
   * Tokens of the previous chunk's last paragraphs or sentences repeated at the start of the
   * next one (within a file, never across files; headings and code fences are not repeated).
   * Default 0; at most half of maxTokens.
   */
  overlapTokens?: number;
  /** `markdown` (default) knows ATX and setext headings and code fences; `text` only paragraphs. */
  format?: TextFormat;
  /**
   * The largest code fence kept whole. A fence over maxTokens but within this gets a chunk of its
   * own, over budget; a longer one (a generated dump, an unclosed fence running to the end of
   * the file) is cut at line boundaries into parts of ≤ maxTokens, each re-opened with the
   * fence's first line and closed again, so every part is still a valid code block and memory
   * stays bounded. Default 4 × maxTokens.
   */
  maxFenceTokens?: number;
}

/** `sha256(source + "\0" + text)`, first 16 hex digits: stable across runs and machines. */
export function chunkId(source: string, text: string): string {
  return createHash('sha256').update(`${source}\0${text}`).digest('hex').slice(0, 16);
}

/** A path as chunk sources show it: relative to `cwd`, forward slashes, no leading "./". */
export function sourcePath(path: string, cwd: string = process.cwd()): string {
  const rel = isAbsolute(path) ? relative(cwd, path) : path;
  return posix.normalize(rel.split('\\').join('/')).replace(/\/$/, '');
}

/** `text` for .txt and files with no Markdown extension; `markdown` for .md, .markdown, .mdx. */
export function formatOf(path: string): TextFormat {
  return /\.(?:md|markdown|mdx|mkd|mdown)$/i.test(path) ? 'markdown' : 'text';
}

/**
 * Splits lines into chunks of at most `maxTokens`, lazily: it holds about one chunk plus one
 * block of text, so a file of any size streams through.
 *
 * Where a chunk ends, best first: before a heading (the highest-level one available, if the
 * chunk is at least half full by then, so small sections share a chunk), then between
 * paragraphs, then (a paragraph over the budget) between sentences or lines, and last between
 * characters, at a space where there is one. Never inside a code fence (see `maxFenceTokens`),
 * never right after a heading: a heading goes with what follows it. A code fence that does not
 * fit in the budget gets a chunk of its own, with the headings just before it.
 *
 * ```
 * # A            chunk 0: "# A\n\np1\n\n## A.1\n\np2"   (heading: "A")
 * p1             chunk 1: "# B\n\np3"                   (heading: "B")
 * ## A.1
 * p2             (with p1..p3 each ~400 tokens, maxTokens 1000)
 * # B
 * p3
 * ```
 */
export function chunkLines(lines: AsyncIterable<string> | Iterable<string>, options: ChunkOptions): AsyncGenerator<Chunk> {
  const { maxTokens, overlapTokens, maxFenceTokens, format } = checkOptions(options);
  const blocks = parseBlocks(lines, { format, maxUnits: maxTokens * UNITS_PER_TOKEN, maxFenceUnits: maxFenceTokens * UNITS_PER_TOKEN });
  return pack(blocks, options.source, maxTokens * UNITS_PER_TOKEN, overlapTokens * UNITS_PER_TOKEN);
}

/** The options with their defaults, or a RangeError saying what was expected. */
function checkOptions(options: Partial<ChunkOptions>): Required<Omit<ChunkOptions, 'source'>> {
  const { maxTokens = 1500, overlapTokens = 0, format = 'markdown' } = options;
  if (!Number.isInteger(maxTokens) || maxTokens < 16) throw new RangeError(`Expected maxTokens to be an integer ≥ 16, got ${maxTokens}`);
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens > maxTokens / 2) {
    throw new RangeError(`Expected overlapTokens to be an integer from 0 to ${Math.floor(maxTokens / 2)} (half of maxTokens), got ${overlapTokens}`);
  }
  const maxFenceTokens = options.maxFenceTokens ?? 4 * maxTokens;
  if (!Number.isInteger(maxFenceTokens) || maxFenceTokens < maxTokens) {
    throw new RangeError(`Expected maxFenceTokens to be an integer ≥ maxTokens (${maxTokens}), got ${maxFenceTokens}`);
  }
  if (format !== 'markdown' && format !== 'text') throw new RangeError(`Expected format to be "markdown" or "text", got ${String(format)}`);
  return { maxTokens, overlapTokens, maxFenceTokens, format };
}

/**
 * Chunks one file, read as a stream. The whole file is checked first, so a file that is binary,
 * not UTF-8, empty or unreadable throws `SkipFile` before any of its chunks is yielded (if the
 * file changes between the check and the read, the read may still throw it part-way). CRLF line
 * ends and a leading BOM are handled. `source` defaults to `sourcePath(path)`, `format` to
 * `formatOf(path)`.
 */
export function chunkFile(path: string, options: Partial<ChunkOptions> = {}): AsyncGenerator<Chunk> {
  const source = options.source ?? sourcePath(path);
  const opts: ChunkOptions = { ...options, source, format: options.format ?? formatOf(path) };
  checkOptions(opts); // now, not at the first chunk
  return (async function* () {
    await checkTextFile(path, { source });
    let count = 0;
    for await (const chunk of chunkLines(readTextLines(path, { source }), opts)) {
      count++;
      yield chunk;
    }
    if (count === 0) throw skipFile(source, 'empty');
  })();
}

/** A block in the chunk being filled; `overlap` marks text repeated from the chunk before. */
type Slot = Block & { overlap?: true };

async function* pack(blocks: AsyncIterable<Block>, source: string, maxUnits: number, overlapUnits: number): AsyncGenerator<Chunk> {
  const pending = new Pending();
  let index = 0;

  const emit = (slots: readonly Slot[]): Chunk => {
    let text = slots[0]!.text;
    for (let i = 1; i < slots.length; i++) text += slots[i]!.sep + slots[i]!.text;
    // The heading path of the chunk's own text, not of the overlap repeated before it.
    const own = slots.find((s) => !s.overlap) ?? slots[0]!;
    const first = slots[0]!;
    const last = slots[slots.length - 1]!;
    const chunk: Chunk = { id: chunkId(source, text), source, index: index++, text, tokens: estimateTokens(text), startLine: first.startLine, endLine: last.endLine };
    if (own.path.length > 0) chunk.heading = own.path.join(' > ');
    return chunk;
  };

  for await (const block of blocks) {
    let b: Block | undefined = block;
    let fill: ReturnType<typeof splitText>;
    while (b !== undefined) {
      if (pending.cost(b) <= maxUnits) {
        pending.push(b);
        b = undefined;
      } else if (
        (b.piece === 'more' || (b.piece === 'first' && pending.own === 0)) &&
        pending.last?.kind === 'text' &&
        (fill = splitText(b, maxUnits - pending.cost(b) + b.units, maxUnits, false))
      ) {
        // A paragraph over the budget is split anyway: fill the chunk (its own text so far, or the
        // overlap) with its next sentences. A new long paragraph still starts a chunk.
        const done = [...pending.slots, fill[0]];
        yield emit(done);
        pending.reset(overlapFrom(done, overlapUnits));
        b = fill[1];
      } else if (pending.own > 0) {
        // End the chunk. An oversized fence takes the headings just before it along.
        const k = b.units > maxUnits ? trailingHeadings(pending.slots) : splitPoint(pending.slots, b, maxUnits);
        const done = pending.slots.slice(0, k);
        yield emit(done);
        pending.reset([...(b.units > maxUnits ? [] : overlapFrom(done, overlapUnits)), ...pending.slots.slice(k)]);
      } else if (pending.overlap > 0) {
        // Only overlap (and headings) wait and `b` does not fit after them: the overlap is a nicety.
        pending.reset(pending.slots.filter((s) => !s.overlap));
      } else if (pending.slots.length === 0 || b.kind === 'fence') {
        // A code fence that does not fit gets a chunk of its own, with its headings, over budget.
        yield emit([...pending.slots, b]);
        pending.reset([]);
        b = undefined;
      } else if (b.kind === 'heading') {
        // Headings fill the budget (a tiny one): they go out alone.
        yield emit(pending.slots);
        pending.reset([]);
      } else {
        // Only headings wait: fill the chunk with the paragraph's first sentences rather than
        // send the headings alone.
        const parts = splitText(b, maxUnits - pending.cost(b) + b.units, maxUnits, true);
        const done = parts === undefined ? pending.slots : [...pending.slots, parts[0]];
        yield emit(done);
        pending.reset(overlapFrom(done, overlapUnits));
        if (parts !== undefined) b = parts[1];
      }
    }
  }
  // Headings at the very end still go out: nothing of the file is dropped.
  if (pending.slots.length > pending.overlap) yield emit(pending.slots);
}

/** The chunk being filled: overlap slots first, then the file's blocks. Keeps running sums so a block costs O(1). */
class Pending {
  slots: Slot[] = [];
  /** Units of the slots joined with their separators: an upper bound on `tokenUnits` of the chunk's text. */
  units = 0;
  /** Slots of the file's own text: neither overlap nor headings. */
  own = 0;
  overlap = 0;

  get last(): Slot | undefined {
    return this.slots[this.slots.length - 1];
  }

  /** Units of the chunk with `b` added. */
  cost(b: Block): number {
    return this.units + (this.slots.length > 0 ? sepUnits(b) : 0) + b.units;
  }

  push(s: Slot): void {
    this.units = this.cost(s);
    this.slots.push(s);
    if (isOwn(s)) this.own++;
    if (s.overlap) this.overlap++;
  }

  reset(slots: readonly Slot[]): void {
    this.slots = [];
    this.units = 0;
    this.own = 0;
    this.overlap = 0;
    for (const s of slots) this.push(s);
  }
}

function isOwn(s: Slot): boolean {
  return !s.overlap && s.kind !== 'heading';
}

function sepUnits(b: Block): number {
  return b.sep === '' ? 0 : WHITESPACE_UNITS;
}

/** Index where the run of headings at the end of `slots` starts (slots.length if none). */
function trailingHeadings(slots: readonly Slot[]): number {
  let i = slots.length;
  while (i > 0 && slots[i - 1]!.kind === 'heading') i--;
  return i;
}

/**
 * Where to end the chunk when `next` does not fit: before a heading (lowest level first, then
 * the latest) once the chunk is at least half full, else at the latest block boundary that does
 * not leave a heading at the chunk's end. `slots` holds at least one block of its own.
 */
function splitPoint(slots: readonly Slot[], next: Block, maxUnits: number): number {
  let best = -1;
  let bestRank = Infinity;
  let units = 0;
  let own = false;
  const tail = trailingHeadings(slots);
  for (let i = 1; i <= slots.length; i++) {
    const prev = slots[i - 1]!;
    units += prev.units + (i > 1 ? sepUnits(prev) : 0);
    own ||= isOwn(prev);
    if (!own || prev.kind === 'heading') continue;
    const after = i < slots.length ? slots[i]! : next;
    const rank = after.kind === 'heading' ? after.level : 7;
    // A heading boundary counts once the chunk is half full, or when only headings follow it.
    if (rank < 7 && units < maxUnits / 2 && i < tail) continue;
    if (rank < 7 || i === slots.length || i === tail) {
      if (rank <= bestRank) {
        best = i;
        bestRank = rank;
      }
    }
  }
  return best > 0 ? best : slots.length;
}

/**
 * The end of a finished chunk to repeat at the start of the next: its last paragraphs, or
 * sentences of the last one, up to `overlapUnits`; headings and code fences are never repeated.
 */
function overlapFrom(done: readonly Slot[], overlapUnits: number): Slot[] {
  if (overlapUnits === 0) return [];
  const out: Slot[] = [];
  let units = 0;
  for (let i = done.length - 1; i >= 0; i--) {
    const s = done[i]!;
    if (s.kind !== 'text') break;
    const cost = s.units + (out.length > 0 ? sepUnits(out[0]!) : 0);
    if (units + cost <= overlapUnits) {
      out.unshift({ ...s, overlap: true });
      units += cost;
      continue;
    }
    const room = overlapUnits - units - (out.length > 0 ? sepUnits(out[0]!) : 0);
    const segs = refine(tailLines(s.text, s.endLine, room), overlapUnits);
    let from = segs.length;
    for (let taken = segs[from - 1]?.units ?? Infinity; taken <= room; ) {
      from--;
      const prev = segs[from - 1];
      taken += prev === undefined ? Infinity : prev.units + (segs[from]!.sep === '' ? 0 : WHITESPACE_UNITS);
    }
    if (from < segs.length) {
      const kept = segs.slice(from);
      const text = joinSegments(kept);
      out.unshift({ ...s, text, units: segmentsUnits(kept), startLine: kept[0]!.line, overlap: true });
    }
    break;
  }
  return out;
}

/** The last lines of a text block, as segments, enough to be worth more than `units` (or all of them). */
function tailLines(text: string, endLine: number, units: number): Segment[] {
  const out: Segment[] = [];
  let end = text.length;
  let total = 0;
  for (let line = endLine; ; line--) {
    const nl = text.lastIndexOf('\n', end - 1);
    const seg = segment(text.slice(nl + 1, end), nl === -1 ? '' : '\n', line);
    out.unshift(seg);
    total += seg.units;
    if (total > units || nl === -1) return out;
    end = nl;
  }
}

/**
 * Splits a text block so that its first part fits in `room` units, after a sentence or line;
 * with `hard`, inside the first sentence if even that does not fit. Undefined if nothing fits.
 */
function splitText(b: Block, room: number, maxUnits: number, hard: boolean): [Block, Block | undefined] | undefined {
  let segs = refine(lineSegments(b.text, b.startLine), maxUnits);
  let n = fitting(segs, room);
  if (n === 0 && hard && room >= WHITESPACE_UNITS) {
    segs = [...hardSplit(segs[0]!, room), ...segs.slice(1)];
    n = fitting(segs, room);
  }
  if (n === 0) return undefined;
  const first = segs.slice(0, n);
  const rest = segs.slice(n);
  const head: Block = { ...b, text: joinSegments(first), units: segmentsUnits(first), endLine: first[n - 1]!.line };
  if (rest.length === 0) return [head, undefined];
  return [head, { ...b, text: joinSegments(rest), units: segmentsUnits(rest), startLine: rest[0]!.line, sep: rest[0]!.sep, piece: 'more' }];
}

/** How many of the first segments fit in `room` units together. */
function fitting(segs: readonly Segment[], room: number): number {
  let units = 0;
  let n = 0;
  for (const s of segs) {
    units += s.units + (n > 0 && s.sep !== '' ? WHITESPACE_UNITS : 0);
    if (units > room) break;
    n++;
  }
  return n;
}
