import { WHITESPACE_UNITS, tokenUnits } from './estimateTokens.js';
import { type Segment, joinSegments, packSegments, refine, segmentsUnits } from './segments.js';

/** How a file's lines are read: Markdown knows headings and code fences; plain text only paragraphs. */
export type TextFormat = 'markdown' | 'text';

/**
 * A unit the chunker packs: a heading, a paragraph (or a piece of one over the budget), or a
 * code fence. Chunk boundaries fall only between blocks.
 */
export interface Block {
  kind: 'heading' | 'text' | 'fence';
  text: string;
  /** `tokenUnits(text)` or a little more (the sum over its parts), in twelfths of a token. */
  units: number;
  startLine: number;
  endLine: number;
  /** Whitespace between this block and the one before it: "\n\n" across blank lines, "\n" or a space otherwise. */
  sep: string;
  /** 1–6 for a heading, 0 otherwise. */
  level: number;
  /** Heading texts in effect at this block, outermost first (a heading includes itself). */
  path: readonly string[];
  /** A piece of a paragraph over the budget, which is split anyway: the first piece, or a later one. */
  piece?: 'first' | 'more';
}

export interface BlockOptions {
  format: TextFormat;
  /** Paragraphs over this many units come in pieces that fit. */
  maxUnits: number;
  /** A code fence up to this many units stays whole; a longer one comes in re-fenced parts of ≤ maxUnits. */
  maxFenceUnits: number;
}

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
// Any indentation, not CommonMark's 0–3 spaces: a fence inside a list item is indented further,
// and taking a fence for one where there is none only keeps lines together.
const FENCE_OPEN = /^([ \t]*)(`{3,}|~{3,})(.*)$/;

const BLANK_LINE = -1;
const HASH = 35;
const BACKTICK = 96;
const TILDE = 126;
const EQUALS = 61;
const DASH = 45;

/** The first character that is not blank, as a char code; BLANK_LINE for a blank line. */
function firstMark(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 12 && c !== 11 && c !== 0xa0 && c !== 0x3000) return c;
  }
  return BLANK_LINE;
}

interface OpenFence {
  /** The opening line, repeated at the start of every part when the fence is split. */
  open: string;
  /** What closes a part that the file does not close: the fence's indentation and marker. */
  close: string;
  marker: string;
  openLine: number;
  /** Content lines not yet yielded, and the line number of the first of them. */
  lines: string[];
  firstLine: number;
  /** Units of `lines` (each with its newline), and of the opening line until the first part goes out. */
  units: number;
  /** Parts already went out: the fence grew past maxFenceUnits. */
  split: boolean;
  sep: string;
  path: readonly string[];
}

/**
 * Turns lines into blocks, holding at most one block (≤ maxUnits, or ≤ maxFenceUnits for a code
 * fence) plus one line in memory. Lines inside a code fence are never taken for headings or
 * paragraph breaks; an unclosed fence runs to the end of the file.
 */
export async function* parseBlocks(lines: AsyncIterable<string> | Iterable<string>, { format, maxUnits, maxFenceUnits }: BlockOptions): AsyncGenerator<Block> {
  const markdown = format === 'markdown';
  // The heading texts in force, indexed by level - 1.
  let headings: (string | undefined)[] = [];
  let path: readonly string[] = [];
  // The paragraph being read, as line segments, and whether pieces of it already went out.
  let para: Segment[] = [];
  let paraUnits = 0;
  let paraSep = '';
  let paraPieces = 0;
  let fence: OpenFence | undefined;
  // Whitespace owed before the next block: "\n\n" once a blank line was seen.
  let sep = '';
  let lineNo = 0;

  const textBlock = (segs: Segment[], blockSep: string): Block => {
    return { kind: 'text', text: joinSegments(segs), units: segmentsUnits(segs), startLine: segs[0]!.line, endLine: lastLine(segs), sep: blockSep, level: 0, path };
  };

  // Yields the pieces of the paragraph that are complete: all of them when `final`, else all
  // but the last, which more lines may still extend.
  function* flushParagraph(final: boolean): Generator<Block> {
    if (para.length === 0) return;
    if (final && paraUnits <= maxUnits) {
      const block = textBlock(para, paraSep);
      if (paraPieces > 0) block.piece = 'more';
      yield block;
    } else {
      const runs = packSegments(refine(para, maxUnits), maxUnits);
      const keep = final ? 0 : 1;
      for (let i = 0; i < runs.length - keep; i++) {
        const piece = textBlock(runs[i]!, i === 0 ? paraSep : runs[i]![0]!.sep);
        piece.piece = paraPieces > 0 ? 'more' : 'first';
        yield piece;
        paraPieces++;
      }
      if (!final) {
        const last = runs[runs.length - 1]!;
        if (runs.length > 1) paraSep = last[0]!.sep;
        para = last;
        paraUnits = segmentsUnits(last);
        return;
      }
    }
    para = [];
    paraUnits = 0;
    paraPieces = 0;
    sep = '';
  }

  // One fence part: the opening line, the lines not yet yielded, and a closing line if any.
  const fencePart = (f: OpenFence, lines: readonly string[], firstLine: number, closing: string | undefined, endLine: number): Block => {
    const text = [f.open, ...lines, ...(closing === undefined ? [] : [closing])].join('\n');
    const startLine = f.split ? firstLine : f.openLine;
    return { kind: 'fence', text, units: tokenUnits(text), startLine, endLine, sep: f.split ? '\n' : f.sep, level: 0, path: f.path };
  };

  // Splits a fence that grew past maxFenceUnits into parts of ≤ maxUnits, each re-opened with
  // the fence's first line and closed with its marker, so every part is still a code block.
  // Keeps the last, unfinished part in `f.lines`.
  function* splitFence(f: OpenFence): Generator<Block> {
    const frame = fenceFrame(f);
    let start = 0;
    let units = 0;
    for (let i = 0; i < f.lines.length; i++) {
      const cost = tokenUnits(f.lines[i]!) + WHITESPACE_UNITS;
      if (i > start && frame + units + cost > maxUnits) {
        yield fencePart(f, f.lines.slice(start, i), f.firstLine + start, f.close, f.firstLine + i - 1);
        f.split = true;
        start = i;
        units = 0;
      }
      units += cost;
    }
    f.lines = f.lines.slice(start);
    f.firstLine += start;
    f.units = units;
    f.split = true;
  }

  for await (const line of lines) {
    lineNo++;
    if (fence !== undefined) {
      const f = fence;
      if (isFenceClose(line, f.marker)) {
        yield fencePart(f, f.lines, f.firstLine, line, lineNo);
        fence = undefined;
        sep = '';
        continue;
      }
      const cost = tokenUnits(line) + WHITESPACE_UNITS;
      if (f.split && f.lines.length > 0 && fenceFrame(f) + f.units + cost > maxUnits) {
        yield fencePart(f, f.lines, f.firstLine, f.close, lineNo - 1);
        f.lines = [];
        f.firstLine = lineNo;
        f.units = 0;
      }
      f.lines.push(line);
      f.units += cost;
      if (!f.split && f.units > maxFenceUnits) yield* splitFence(f);
      continue;
    }
    const lead = firstMark(line);
    if (lead === BLANK_LINE) {
      yield* flushParagraph(true);
      sep = '\n\n';
      continue;
    }
    const units = tokenUnits(line);
    // Only a line whose first mark is # ` ~ = or - can open a heading or a fence.
    if (markdown && (lead === HASH || lead === BACKTICK || lead === TILDE || lead === EQUALS || lead === DASH)) {
      const open = lead === BACKTICK || lead === TILDE ? FENCE_OPEN.exec(line) : null;
      if (open && !(open[2]!.startsWith('`') && open[3]!.includes('`'))) {
        yield* flushParagraph(true);
        fence = {
          open: line,
          close: open[1]! + open[2]!,
          marker: open[2]!,
          openLine: lineNo,
          lines: [],
          firstLine: lineNo + 1,
          units,
          split: false,
          sep: separator(sep),
          path,
        };
        continue;
      }
      const atx = lead === HASH ? ATX.exec(line) : null;
      // A "heading" too long for a chunk is a paragraph that happens to start with #.
      if (atx && units <= maxUnits / 4) {
        yield* flushParagraph(true);
        // Closing #s are decoration: "## Scope ##" is "Scope".
        ({ headings, path } = enterHeading(headings, atx[1]!.length, (atx[2] ?? '').replace(/(?:^|[ \t]+)#+[ \t]*$/, '')));
        yield { kind: 'heading', text: line, units, startLine: lineNo, endLine: lineNo, sep: separator(sep), level: atx[1]!.length, path };
        sep = '';
        continue;
      }
      const setext = lead === EQUALS || lead === DASH ? SETEXT.exec(line) : null;
      if (setext && para.length === 1 && paraPieces === 0 && para[0]!.units + units <= maxUnits / 4) {
        const title = para[0]!;
        const level = setext[1]!.startsWith('=') ? 1 : 2;
        ({ headings, path } = enterHeading(headings, level, title.text));
        const text = `${title.text}\n${line}`;
        yield { kind: 'heading', text, units: tokenUnits(text), startLine: title.line, endLine: lineNo, sep: paraSep, level, path };
        para = [];
        paraUnits = 0;
        sep = '';
        continue;
      }
    }
    if (para.length === 0) paraSep = separator(sep);
    const seg: Segment = { text: line, sep: para.length === 0 ? '' : '\n', line: lineNo, units };
    paraUnits += seg.units + (para.length === 0 ? 0 : WHITESPACE_UNITS);
    para.push(seg);
    // Split a long paragraph once it holds two chunks' worth, so that lines are not re-split one by one.
    if (paraUnits > 2 * maxUnits) yield* flushParagraph(false);
  }
  if (fence !== undefined) {
    // An unclosed fence runs to the end of the file, less the blank lines that end the file.
    let end = lineNo;
    while (fence.lines.length > 0 && firstMark(fence.lines[fence.lines.length - 1]!) === BLANK_LINE) {
      fence.lines.pop();
      end--;
    }
    yield fencePart(fence, fence.lines, fence.firstLine, undefined, Math.max(end, fence.split ? fence.firstLine : fence.openLine));
  }
  yield* flushParagraph(true);
}

function lastLine(segs: readonly Segment[]): number {
  return segs[segs.length - 1]!.line;
}

/** The whitespace owed before a block: a line break at least. */
function separator(owed: string): string {
  return owed === '' ? '\n' : owed;
}

function enterHeading(headings: (string | undefined)[], level: number, raw: string): { headings: (string | undefined)[]; path: readonly string[] } {
  const title = raw.trim();
  const next = headings.slice(0, level - 1);
  while (next.length < level - 1) next.push(undefined);
  next.push(title === '' ? undefined : title);
  return { headings: next, path: next.filter((h): h is string => h !== undefined) };
}

/** What a part costs besides its content lines: the opening and closing lines and their newlines. */
function fenceFrame(f: OpenFence): number {
  return tokenUnits(f.open) + tokenUnits(f.close) + 2 * WHITESPACE_UNITS;
}

function isFenceClose(line: string, marker: string): boolean {
  const m = /^[ \t]*(`{3,}|~{3,})[ \t]*$/.exec(line);
  return m !== null && m[1]![0] === marker[0] && m[1]!.length >= marker.length;
}
