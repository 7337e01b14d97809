/**
 * The one sentence splitter: claim extraction, support scoring and attestation all cut prose
 * here, so a sentence is the same unit wherever it is counted.
 */
import { STOP_WORDS } from './text.js';

/** Abbreviations after which a full stop does not end the sentence. */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'mt', 'ft', 'vs', 'cf', 'al', 'approx', 'ca', 'circa', 'gen', 'gov', 'sen',
  'rep', 'rev', 'hon', 'capt', 'lt', 'col', 'sgt', 'dept', 'univ', 'est', 'incl', 'resp', 'ave', 'blvd', 'ibid', 'viz',
]);
/** Abbreviations that are only abbreviations before a number ("No. 5", "Jan. 2020", "c. 1481"). */
const NUMBER_ABBREVIATIONS = new Set([
  'no', 'nos', 'vol', 'fig', 'figs', 'p', 'pp', 'art', 'sec', 'ch', 'eq', 'ref', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug',
  'sep', 'sept', 'oct', 'nov', 'dec', 'c',
]);
/**
 * Abbreviations that close a name or a company ("Carter Harrison Sr.", "Acme Inc."): the name
 * may go on ("Martin Luther King Jr. Day"), but a capitalised function word after one starts the
 * next sentence ("… Jr. He was born …").
 */
const CLOSING_ABBREVIATIONS = new Set(['jr', 'sr', 'inc', 'ltd', 'co', 'corp', 'esq', 'bros', 'ph.d', 'phd']);

/**
 * Splits prose at sentence ends. A full stop ends a sentence only when followed by space and
 * something that can start one, which already spares "3.14", "v1.2" and "e.g.,"; known
 * abbreviations, initials and dotted acronyms ("U.S.", "i.e.") are spared explicitly.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text[i] as string;
    if (c === '。' || c === '！' || c === '？') {
      out.push(text.slice(start, i + 1));
      start = i + 1;
      continue;
    }
    if (c === '\n') {
      // A line break ends a sentence only where a paragraph does (a blank line), so hard-wrapped
      // prose is read whole.
      let k = i + 1;
      while (k < n && (text[k] === ' ' || text[k] === '\t' || text[k] === '\r')) k++;
      if (text[k] === '\n') {
        out.push(text.slice(start, i));
        start = i;
      }
      continue;
    }
    if (c !== '.' && c !== '!' && c !== '?' && c !== '…') continue;
    let end = i;
    while (end + 1 < n && /[.!?…]/u.test(text[end + 1] as string)) end++;
    while (end + 1 < n && /["'”’)\]]/u.test(text[end + 1] as string)) end++;
    const after = text[end + 1];
    if (after !== undefined && !/\s/u.test(after)) {
      i = end;
      continue;
    }
    let next = end + 1;
    while (next < n && /\s/u.test(text[next] as string)) next++;
    const following = text[next];
    if (following !== undefined && (/[\p{Ll},;:)\]}]/u.test(following) || (c === '.' && end === i && isAbbreviation(text, i, next)))) {
      i = end;
      continue;
    }
    out.push(text.slice(start, end + 1));
    start = end + 1;
    i = end;
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

function isAbbreviation(text: string, dot: number, next: number): boolean {
  let from = dot;
  while (from > 0 && !/[\s("'“‘[]/u.test(text[from - 1] as string)) from--;
  const word = text.slice(from, dot);
  if (/^\p{Lu}$/u.test(word)) return true; // an initial: "J. R. R. Tolkien"
  if (/^(?:\p{L}\.)+\p{L}$/u.test(word)) return true; // "U.S", "e.g", "i.e", "a.m"
  const lower = word.toLowerCase();
  if (ABBREVIATIONS.has(lower)) return true;
  const nextWord = /^[\p{L}\p{N}]+/u.exec(text.slice(next, next + 40))?.[0] ?? '';
  if (CLOSING_ABBREVIATIONS.has(lower)) return !STOP_WORDS.has(nextWord.toLowerCase());
  return NUMBER_ABBREVIATIONS.has(lower) && /^\p{N}/u.test(nextWord);
}

/** Does the sentence end the way a finished one does (., !, ?, …, or CJK stops, maybe in quotes)? */
export function endsSentence(sentence: string): boolean {
  return /[.!?。！？…]["'”’)\]*_]*\s*$/u.test(sentence);
}
