import { WHITESPACE_UNITS, tokenUnits } from './estimateTokens.js';

/**
 * A piece of a paragraph that a chunk boundary may fall after: a line, a sentence, or (for a
 * sentence over the budget) a slice of one. Joining segments with their `sep`s gives back the
 * paragraph's text exactly.
 */
export interface Segment {
  text: string;
  /** The whitespace that stood before this segment in the source ("\n" at a line start; "" inside a word). */
  sep: string;
  /** 1-based source line the segment starts on. */
  line: number;
  /** `tokenUnits(text)`. */
  units: number;
}

export function segment(text: string, sep: string, line: number): Segment {
  return { text, sep, line, units: tokenUnits(text) };
}

/** Units of segments joined with their separators: an upper bound on `tokenUnits` of the joined text. */
export function segmentsUnits(segments: readonly Segment[]): number {
  let units = 0;
  for (let i = 0; i < segments.length; i++) units += segments[i]!.units + (i > 0 && segments[i]!.sep !== '' ? WHITESPACE_UNITS : 0);
  return units;
}

/** The text the segments came from (the first segment's `sep` is left out). */
export function joinSegments(segments: readonly Segment[]): string {
  let text = '';
  for (let i = 0; i < segments.length; i++) text += i === 0 ? segments[i]!.text : segments[i]!.sep + segments[i]!.text;
  return text;
}

// A sentence ends at . ! ? … (and any closing quotes or brackets) followed by whitespace and more
// text, or at a full-width 。！？ (CJK text puts no space after them). Abbreviations ("e.g.") end
// a "sentence" too; that only moves a boundary, never loses text.
const SENTENCE_END = /[.!?…]+["'”’)\]»]*(\s+)(?=\S)|[。！？]+["'”’」』)\]]*(\s*)(?=\S)/gu;

const MAY_END_SENTENCE = /[.!?…。！？]/u;

/** Splits one segment (usually a line) after each sentence end. */
export function splitSentences(seg: Segment): Segment[] {
  const text = seg.text;
  if (!MAY_END_SENTENCE.test(text)) return [seg];
  const out: Segment[] = [];
  let start = 0;
  let sep = seg.sep;
  for (const m of text.matchAll(SENTENCE_END)) {
    const space = m[1] ?? m[2] ?? '';
    const end = m.index + m[0].length - space.length;
    out.push(segment(text.slice(start, end), sep, seg.line));
    sep = space;
    start = end + space.length;
  }
  if (out.length === 0) return [seg];
  out.push(segment(text.slice(start), sep, seg.line));
  return out;
}

/**
 * Cuts a segment over `maxUnits` into slices that fit, at the last whitespace in the second half
 * of each slice when there is one, else between two characters (never inside a surrogate pair).
 */
export function hardSplit(seg: Segment, maxUnits: number): Segment[] {
  if (seg.units <= maxUnits) return [seg];
  const out: Segment[] = [];
  let rest = seg.text;
  let sep = seg.sep;
  while (rest !== '') {
    // Every character costs at least 3 units except whitespace inside a run, so maxUnits / 3
    // characters is a first guess; shrink it in proportion until the slice fits.
    let len = Math.max(1, Math.min(rest.length, Math.floor(maxUnits / 3)));
    for (let units = tokenUnits(rest.slice(0, len)); units > maxUnits && len > 1; units = tokenUnits(rest.slice(0, len))) {
      len = Math.max(1, Math.min(len - 1, Math.floor((len * maxUnits) / units)));
    }
    if (len === rest.length) {
      out.push(segment(rest, sep, seg.line));
      break;
    }
    if (isHighSurrogate(rest.charCodeAt(len - 1))) len = len > 1 ? len - 1 : len + 1;
    let cut = len;
    let space = '';
    const ws = lastWhitespace(rest, len);
    if (ws !== undefined && ws.start >= len / 2 && ws.end < rest.length) {
      cut = ws.start;
      space = rest.slice(ws.start, ws.end);
    }
    out.push(segment(rest.slice(0, cut), sep, seg.line));
    sep = space;
    rest = rest.slice(cut + space.length);
  }
  return out;
}

/** Splits into sentences, and any sentence over `maxUnits` into slices that fit. */
export function refine(segments: readonly Segment[], maxUnits: number): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) for (const sentence of splitSentences(s)) for (const piece of hardSplit(sentence, maxUnits)) out.push(piece);
  return out;
}

/** Greedy packing of segments (each ≤ maxUnits) into runs of at most maxUnits. */
export function packSegments(segments: readonly Segment[], maxUnits: number): Segment[][] {
  const runs: Segment[][] = [];
  let run: Segment[] = [];
  let units = 0;
  for (const s of segments) {
    const cost = run.length === 0 ? s.units : units + s.units + (s.sep !== '' ? WHITESPACE_UNITS : 0);
    if (run.length > 0 && cost > maxUnits) {
      runs.push(run);
      run = [s];
      units = s.units;
    } else {
      run.push(s);
      units = cost;
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The segments of a text block: one per line, numbered from `startLine`. */
export function lineSegments(text: string, startLine: number): Segment[] {
  return text.split('\n').map((line, i) => segment(line, i === 0 ? '' : '\n', startLine + i));
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** The last whitespace run that starts before `before`, as [start, end) in `text`. */
function lastWhitespace(text: string, before: number): { start: number; end: number } | undefined {
  let i = before - 1;
  while (i >= 0 && !/\s/.test(text[i]!)) i--;
  if (i < 0) return undefined;
  let start = i;
  while (start > 0 && /\s/.test(text[start - 1]!)) start--;
  let end = i + 1;
  while (end < text.length && /\s/.test(text[end]!)) end++;
  return { start, end };
}
