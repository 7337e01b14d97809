import { displayWidth } from './width.js';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `text` (one line, no control characters) broken at spaces into lines of at most `width`
 * columns, each but the first starting with `indent`; a word wider than a line is split between
 * graphemes. Spaces inside a line are kept (aligned columns stay aligned). The terminal would wrap
 * a long line anyway, but at the edge and with no indent, so a paragraph of prose (the chair's
 * answer, a claim) would run back under the labels.
 */
export function wrapLines(text: string, width: number, indent = ''): string[] {
  if (displayWidth(text) <= width) return [text];
  const lines: string[] = [];
  const room = () => Math.max(8, width - (lines.length === 0 ? 0 : displayWidth(indent)));
  // Each word keeps the spaces after it; a line's trailing spaces are dropped where it breaks.
  const lead = /^ */.exec(text)![0];
  const words = text.slice(lead.length).split(/(?<= )(?=\S)/);
  let line = lead;
  for (const word of words) {
    if (displayWidth((line + word).trimEnd()) <= room()) {
      line += word;
      continue;
    }
    if (line.trim()) lines.push(line.trimEnd());
    // A word longer than a whole line (a URL, a hash) is split where it must be.
    let rest = word;
    while (displayWidth(rest.trimEnd()) > room()) {
      let head = '';
      for (const { segment } of graphemes.segment(rest)) {
        if (displayWidth(head + segment) > room()) break;
        head += segment;
      }
      lines.push(head);
      rest = rest.slice(head.length);
    }
    line = rest;
  }
  if (line.trim() || lines.length === 0) lines.push(line.trimEnd());
  return lines.map((l, i) => (i === 0 ? l : `${indent}${l}`));
}
