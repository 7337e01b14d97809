/**
 * Turns one model's answer into a list of claims. Models are asked for `{"claims": [...]}` but
 * answer in every shape: fenced JSON wrapped in prose, bare arrays, truncated JSON, markdown
 * lists, or plain prose. Every answer is untrusted input (a member may be Byzantine), so this
 * never throws, runs in linear time, and caps how many claims and characters one answer yields.
 */
import { endsSentence, splitSentences } from './sentences.js';

/**
 * Most claims kept from one answer (docs/CONTRACTS.md "Quorum"): the rest are dropped, so one
 * port cannot flood the pool with filler dissent.
 */
export const MAX_CLAIMS_PER_ANSWER = 40;

export interface ExtractOptions {
  /** Most claims kept from one answer, in order; the rest are ignored. Default {@link MAX_CLAIMS_PER_ANSWER} (40). */
  maxClaims?: number;
  /** Longest claim, in UTF-16 code units; longer claims are cut at a word boundary. Default 500. */
  maxLength?: number;
  /** Fewest words a claim needs; shorter fragments are labels, not claims. Default 3. */
  minWords?: number;
  /**
   * The answer was cut at the model's output limit (finish_reason `length`): its last,
   * unfinished item is dropped — in prose, the last sentence unless it ends with `.`, `!`, `?`
   * (or kin); in JSON, a string never closed (cut JSON otherwise loses what follows its last
   * comma, flag or not). Default false.
   */
  truncated?: boolean;
}

/**
 * The claims in `text`, in the order the model made them, each one trimmed, stripped of
 * markdown and deduplicated (case- and punctuation-insensitive).
 *
 * @throws RangeError only for invalid options; any string input is accepted.
 */
export function extractClaims(text: string, opts: ExtractOptions = {}): string[] {
  const { maxClaims = MAX_CLAIMS_PER_ANSWER, maxLength = 500, minWords = 3, truncated = false } = opts;
  if (!Number.isInteger(maxClaims) || maxClaims < 0) throw new RangeError(`Expected maxClaims to be an integer ≥ 0, got ${maxClaims}`);
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError(`Expected maxLength to be an integer ≥ 1, got ${maxLength}`);
  if (typeof text !== 'string' || maxClaims === 0) return [];

  const answer = stripReasoning(text);
  // A cut JSON answer loses its unfinished element in the repair; a cut prose answer its last
  // sentence, unless that one ended (the cut then fell between two sentences).
  let raw = fromJson(answer, minWords, truncated);
  if (raw === undefined) {
    raw = fromMarkdown(answer);
    if (truncated && raw.length > 0 && !endsSentence(raw[raw.length - 1] ?? '')) raw.pop();
  }

  const out: string[] = [];
  const seen = new Set<string>();
  for (const candidate of raw) {
    const claim = finishClaim(candidate, minWords);
    if (claim === undefined) continue;
    const cut = truncate(claim, maxLength);
    const key = claimKey(cut);
    if (cut.length === 0 || key.length === 0 || seen.has(key)) continue;
    seen.add(key);
    out.push(cut);
    if (out.length >= maxClaims) break;
  }
  return out;
}

/**
 * The identity of a claim for deduplication: case, markdown and punctuation do not matter,
 * except punctuation touching a digit ("-5", "3.14", "v1.2", "40%"), which changes the fact.
 */
export function claimKey(text: string): string {
  return trimEndOf(text.normalize('NFKC').toLowerCase(), /[\s.!?;:,。]/u)
    .replace(/(?<!\p{N})[^\p{L}\p{N}\s](?!\p{N})/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

const REASONING_TAGS = ['think', 'thinking', 'reasoning', 'reflection', 'scratchpad'];
const REASONING_OPEN = new RegExp(`<(${REASONING_TAGS.join('|')})\\b[^<>]{0,200}>`, 'giu');
const REASONING_CLOSE = new RegExp(`</(?:${REASONING_TAGS.join('|')})\\s*>`, 'giu');

/**
 * The answer without the model's reasoning (`<think>…</think>` and kin): reasoning is not
 * what the model asserts, and it often rehearses claims the answer then rejects.
 */
export function stripReasoning(text: string): string {
  if (typeof text !== 'string') return '';
  let out = '';
  let pos = 0;
  let paired = false;
  // Regex scans from lastIndex keep this linear even for adversarial, tag-stuffed answers.
  const open = new RegExp(REASONING_OPEN.source, 'giu');
  for (let m = open.exec(text); m !== null; m = open.exec(text)) {
    paired = true;
    out += text.slice(pos, m.index);
    const close = new RegExp(`</${m[1] ?? ''}\\s*>`, 'giu');
    close.lastIndex = m.index + m[0].length;
    const found = close.exec(text);
    if (found === null) {
      // Unclosed: the answer was cut off mid-reasoning, so nothing after it was asserted.
      pos = text.length;
      break;
    }
    pos = found.index + found[0].length;
    open.lastIndex = pos;
  }
  out += text.slice(pos);
  if (paired) return out;
  // Some providers strip the opening tag but leave `</think>`: everything before it is reasoning.
  let after = -1;
  const stray = new RegExp(REASONING_CLOSE.source, 'giu');
  for (let m = stray.exec(text); m !== null; m = stray.exec(text)) after = m.index + m[0].length;
  return after < 0 ? text : text.slice(after);
}

// ---------------------------------------------------------------------------------------------
// JSON answers

/** Keys under which models put their list of claims, in order of preference. */
const LIST_KEYS = ['claims', 'facts', 'findings', 'statements', 'key_claims', 'keyclaims', 'points'];
/** Keys of one claim object. */
const TEXT_KEYS = ['text', 'claim', 'statement', 'fact', 'content'];
/** Keys holding a prose answer when the model ignored the requested shape. */
const PROSE_KEYS = ['answer', 'response', 'text', 'content', 'summary'];

/** Claims from the first JSON value in the answer that has the shape of a claim list. */
function fromJson(answer: string, minWords: number, truncated = false): string[] | undefined {
  for (const { text, embedded } of jsonCandidates(answer)) {
    const value = parseTolerant(text, truncated);
    if (value === undefined) continue;
    const claims = claimsFromValue(value, 0);
    if (claims === undefined) continue;
    // JSON met in the middle of prose (`the options were ["red", "green"]`) is the answer only
    // if it holds a real claim; otherwise the prose around it is.
    if (embedded && !claims.some((c) => finishClaim(c, minWords) !== undefined)) continue;
    return claims;
  }
  return undefined;
}

/** Where JSON may hide: the whole answer, code fences (```json first), then embedded in prose. */
function* jsonCandidates(answer: string): Generator<{ text: string; embedded: boolean }> {
  const trimmed = answer.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) yield { text: trimmed, embedded: false };
  const fences = fencedBlocks(answer);
  for (const f of fences) if (f.lang === 'json' || f.lang === 'jsonc' || f.lang === 'json5') yield { text: f.body.trim(), embedded: false };
  for (const f of fences) if (f.lang === '') yield { text: f.body.trim(), embedded: false };
  // A model that says "Here you go: {...}" without a fence. Bounded in tries and in total
  // length parsed, so prose full of brackets ("[1]", "[link](...)") cannot make this quadratic.
  let tries = 0;
  let budget = 2 * answer.length;
  for (let i = 0; i < answer.length && tries < 8 && budget > 0; i++) {
    const c = answer[i];
    if (c !== '{' && c !== '[') continue;
    if (i === 0 && trimmed === answer) continue;
    tries++;
    const end = balancedEnd(answer, i);
    const candidate = end < 0 ? answer.slice(i) : answer.slice(i, end + 1);
    budget -= candidate.length;
    yield { text: candidate, embedded: true };
    if (end > i) i = end;
  }
}

/** Code-fenced blocks (at most 10), found line by line: a regex over the whole answer can be quadratic. */
function fencedBlocks(answer: string): { lang: string; body: string }[] {
  const blocks: { lang: string; body: string }[] = [];
  let open: { marker: string; lang: string; lines: string[] } | null = null;
  for (const line of answer.split('\n')) {
    const mark = FENCE.exec(line);
    if (open === null) {
      if (mark) open = { marker: (mark[1] ?? '').slice(0, 3), lang: (mark[2] ?? '').toLowerCase(), lines: [] };
    } else if (mark && (mark[1] ?? '').startsWith(open.marker)) {
      blocks.push({ lang: open.lang, body: open.lines.join('\n') });
      open = null;
      if (blocks.length >= 10) return blocks;
    } else open.lines.push(line);
  }
  // An unclosed fence: the answer was cut off inside it.
  if (open !== null) blocks.push({ lang: open.lang, body: open.lines.join('\n') });
  return blocks;
}

/** Index of the bracket closing the one at `start`, or -1 if the text ends first. */
function balancedEnd(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** No claim list nests deeper; deeper input is junk that is slow to parse or repair. */
const MAX_DEPTH = 32;

function tryParse(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

/** JSON.parse, then cheap repairs of what models typically get wrong. */
function parseTolerant(candidate: string, truncated = false): unknown {
  if (candidate.length === 0 || nestsDeeperThan(candidate, MAX_DEPTH)) return undefined;
  return tryParse(candidate) ?? tryParse(repairJson(candidate, truncated)) ?? tryParse(repairJson(straightenQuotes(candidate), truncated));
}

/** Whether a sentence ends as a finished one does: `.`, `!`, `?` (or kin), perhaps quoted or bracketed. */
function nestsDeeperThan(s: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (++depth > limit) return true;
    } else if (c === '}' || c === ']') depth--;
  }
  return false;
}

function straightenQuotes(s: string): string {
  return s.replace(/[“”„‟″]/gu, '"');
}

/**
 * Repairs trailing commas, comments, unquoted keys, single-quoted strings, raw newlines inside
 * strings and truncation (an answer cut off by max_tokens keeps its complete elements). With
 * `truncated` (the model said it was cut: finish_reason `length`), a string left open is
 * dropped even when no comma precedes it, for it is an unfinished claim.
 */
function repairJson(src: string, truncated = false): string {
  let out = '';
  const closers: string[] = [];
  let quote: string | null = null;
  // Where the output can be cut if the input is truncated, and what then needs closing.
  let cutAt = -1;
  let cutClosers: string[] = [];
  // Where the string being read began, what needed closing there, and whether it is a value.
  let openAt = -1;
  let openClosers: string[] = [];
  let openIsValue = false;
  // Tracked rather than read back from `out`: slicing a long concatenated string flattens it
  // every time, which made this quadratic.
  let lastSignificant = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (quote !== null) {
      if (c === '\\') {
        const next = src[i + 1];
        if (next === undefined) break;
        out += quote === "'" && next === "'" ? "'" : c + next;
        i += 2;
        continue;
      }
      if (c === quote) {
        out += '"';
        lastSignificant = '"';
        quote = null;
      } else if (c === '"') out += '\\"';
      else if (c === '\n') out += '\\n';
      else if (c === '\r') out += '\\r';
      else if (c === '\t') out += '\\t';
      else if (c >= ' ') out += c;
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      openAt = out.length;
      openClosers = [...closers];
      openIsValue = lastSignificant === ':';
      out += '"';
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? src.length : nl;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? src.length : end + 2;
      continue;
    }
    if (/[A-Za-z_$]/.test(c) && (lastSignificant === '{' || lastSignificant === ',')) {
      let j = i;
      while (j < src.length && /[\w$]/.test(src[j] as string)) j++;
      let k = j;
      while (k < src.length && /\s/.test(src[k] as string)) k++;
      if (src[k] === ':') {
        out += `"${src.slice(i, j)}"`;
        lastSignificant = '"';
        i = j;
        continue;
      }
    }
    if (c === '{' || c === '[') {
      if (closers.length >= MAX_DEPTH) return '';
      closers.push(c === '{' ? '}' : ']');
    } else if (c === '}' || c === ']') {
      if (closers[closers.length - 1] === c) closers.pop();
    } else if (c === ',') {
      let j = i + 1;
      while (j < src.length && /\s/.test(src[j] as string)) j++;
      if (src[j] === '}' || src[j] === ']') {
        i++;
        continue;
      }
      cutAt = out.length;
      cutClosers = [...closers];
    }
    out += c;
    if (!/\s/.test(c)) lastSignificant = c;
    i++;
  }
  if (quote === null && closers.length === 0) return out;
  if (cutAt < 0 && quote !== null && truncated) return out.slice(0, openAt) + (openIsValue ? 'null' : '') + openClosers.reverse().join('');
  if (cutAt < 0) return out + (quote === null ? '' : '"') + [...closers].reverse().join('');
  return out.slice(0, cutAt) + cutClosers.reverse().join('');
}

/** The claims in a parsed JSON value, or undefined when it is not shaped like a claim list. */
function claimsFromValue(value: unknown, depth: number): string[] | undefined {
  if (Array.isArray(value)) {
    const texts = value.map(itemText);
    if (texts.length === 0 || texts.some((t) => t === undefined)) return undefined;
    return texts as string[];
  }
  if (value === null || typeof value !== 'object' || depth > 2) return undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  const byKey = new Map(entries.map(([k, v]) => [k.toLowerCase(), v] as const));
  for (const key of LIST_KEYS) {
    const list = byKey.get(key);
    // An explicit empty list is the model saying it has no claims, not a shape mismatch.
    if (Array.isArray(list)) return list.map(itemText).filter((t): t is string => t !== undefined);
  }
  for (const [, v] of entries) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const nested = claimsFromValue(v, depth + 1);
      if (nested !== undefined) return nested;
    }
  }
  for (const key of PROSE_KEYS) {
    const prose = byKey.get(key);
    if (typeof prose === 'string') return fromMarkdown(prose);
  }
  return undefined;
}

function itemText(item: unknown): string | undefined {
  if (typeof item === 'string') return item;
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const byKey = new Map(Object.entries(item as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v] as const));
  for (const key of TEXT_KEYS) {
    const v = byKey.get(key);
    if (typeof v === 'string') return v;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Markdown and prose answers

/** Fenced blocks in these languages are prose; others (python, bash, …) are not claims. */
const PROSE_FENCES = new Set(['', 'md', 'markdown', 'text', 'txt', 'plaintext']);
const FENCE = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/u;
const BULLET = /^\s*(?:[-*•+‣◦▪▸►–—]|\d{1,3}[.)]|\(\d{1,3}\)|\(?[a-z]\))\s+(?:\[[ xX]\]\s+)?/u;
const HEADING = /^\s{0,3}#{1,6}(?:\s|$)/u;
// RULE, TABLE_RULE and BOLD_LABEL test trimmed lines: `\s*` at both ends of a pattern with
// optional parts between is what makes a regex quadratic on long runs of spaces.
const RULE = /^([-*_=])(?:\s*\1){2,}$/u;
const TABLE_RULE = /^\|?\s*:?-{2,}:?(?:\s*\|\s*:?-{2,}:?)*\s*\|?$/u;
/** A line that is only a bold label, e.g. `**Key findings**` — a heading in all but name. */
const BOLD_LABEL = /^(\*\*|__)[^*_\n]*[^*_\n.!?]\1:?$/u;

/** Blocks of text (list items and paragraphs), split into sentences. */
function fromMarkdown(answer: string): string[] {
  const blocks: string[] = [];
  let current: string | null = null;
  let currentIsItem = false;
  // The line last added to `current`: whether the next line continues it depends on it alone.
  let lastLine = '';
  let fence: { marker: string; prose: boolean } | null = null;
  let lastIsItem = false;
  const flush = () => {
    if (current !== null) {
      blocks.push(current);
      lastIsItem = currentIsItem;
    }
    current = null;
    currentIsItem = false;
  };

  for (const rawLine of answer.split(/\r\n?|\n|\u2028|\u2029/u)) {
    const fenceMark = FENCE.exec(rawLine);
    if (fenceMark) {
      flush();
      const marker = (fenceMark[1] ?? '').slice(0, 3);
      if (fence === null) fence = { marker, prose: PROSE_FENCES.has((fenceMark[2] ?? '').toLowerCase()) };
      else if (fence.marker === marker) fence = null;
      continue;
    }
    if (fence !== null && !fence.prose) continue;
    const line = rawLine.replace(/^(?:\s*>)+/u, '');
    const trimmed = line.trim();
    if (trimmed.length === 0 || HEADING.test(line) || RULE.test(trimmed) || TABLE_RULE.test(trimmed) || BOLD_LABEL.test(trimmed)) {
      flush();
      continue;
    }
    const bullet = BULLET.exec(line);
    if (bullet) {
      flush();
      if (BOLD_LABEL.test(line.slice(bullet[0].length).trim())) continue;
      current = line.slice(bullet[0].length);
      lastLine = current;
      currentIsItem = true;
      continue;
    }
    const body = trimmed.startsWith('|') ? tableRow(trimmed) : trimmed;
    if (current !== null && ((currentIsItem && /^\s/u.test(line)) || continuesSentence(lastLine, body))) {
      current += ` ${body}`;
      lastLine = body;
      continue;
    }
    flush();
    current = body;
    lastLine = body;
  }
  flush();

  const sentences = blocks.map((block) => splitSentences(cleanInline(block)));
  // A paragraph whose last sentence never ends was cut off mid-sentence ("… He was a"), even
  // when the provider did not say so: that fragment asserts nothing.
  const last = sentences[sentences.length - 1];
  if (last !== undefined && last.length >= 2 && !lastIsItem && !endsSentence(last[last.length - 1] ?? '')) last.pop();
  return sentences.flat();
}

/**
 * Models rarely hard-wrap, so a new line is usually a new statement; it continues the previous
 * one only when that one stopped mid-sentence and this one starts in lower case.
 */
function continuesSentence(previous: string, next: string): boolean {
  return !/[.!?:;。！？]["'”’)\]]*\s*$/u.test(previous) && /^\p{Ll}/u.test(next);
}

function tableRow(line: string): string {
  return line
    .trim()
    .replace(/^\||\|$/gu, '')
    .split('|')
    .map((cell) => cell.trim())
    .filter((cell) => cell.length > 0)
    .join('; ');
}

/** Removes markdown and HTML markup that says nothing about the claim itself. */
function cleanInline(s: string): string {
  const t = s
    // eslint-disable-next-line no-control-regex -- control characters are what it strips
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200d\u2060\ufeff]/gu, '')
    .replace(/!\[([^[\]\n]{0,300})\]\([^)\s]{0,2000}\)/gu, '$1')
    .replace(/\[([^[\]\n]{0,300})\]\([^)\s]{0,2000}\)/gu, '$1')
    .replace(/ ?\[\^?\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\]/gu, '')
    .replace(/<br\s*\/?>/giu, ' ')
    .replace(/<\/?[a-z][a-z0-9]*(?:\s[^<>]{0,200})?\/?>/giu, '')
    .replace(/`+/gu, '')
    .replace(/~~/gu, '');
  // `*` is emphasis unless it stands alone between spaces (2 * 3); `_` only at word edges (snake_case).
  return t
    .replace(/\*+/gu, (run, offset: number, all: string) => (/\s/u.test(all[offset - 1] ?? ' ') && /\s/u.test(all[offset + run.length] ?? ' ') ? run : ''))
    .replace(/_+/gu, (run, offset: number, all: string) =>
      /[\s([{"'“‘]/u.test(all[offset - 1] ?? ' ') || /[\s)\]}.,;:!?"'”’]/u.test(all[offset + run.length] ?? ' ') ? '' : run,
    );
}

/** Polite filler and refusals: a quorum of models may well all say them, and they assert nothing. */
const FILLER = new RegExp(
  [
    "i hope (?:this|that|it) helps",
    "hope (?:this|that) helps",
    "(?:please )?let me know",
    "feel free to",
    "great question",
    "(?:here|below)(?: is|'s| are) (?:the|a|an|some|my|what)\\b",
    "i(?:'m| am|'d be| would be) happy to",
    "as an ai\\b",
    "(?:i'm |i am )?sorry\\b",
    "i(?: cannot| can't| can not|'m unable to| am unable to| won't be able to) (?:help|assist|answer|provide|comply)",
  ]
    .map((p) => `^(?:${p})`)
    .join('|'),
  'iu',
);

/** The final form of one claim, or undefined when it is not a claim at all. */
function finishClaim(candidate: string, minWords: number): string | undefined {
  let s = cleanInline(candidate).replace(/\s+/gu, ' ').trim();
  s = s.replace(BULLET, '').replace(/^claim\s*#?\d{1,3}\s*[:.)-]\s*/iu, '').trim();
  const quoted = /^["“](.*)["”]([.!]?)$/u.exec(s);
  if (quoted && !/["“”]/u.test(quoted[1] ?? '')) s = `${quoted[1] ?? ''}${quoted[2] ?? ''}`.trim();
  // Lead-ins ("The key facts are:") and questions assert nothing.
  if (s.length === 0 || /[:?？]$/u.test(s) || FILLER.test(s.replace(/’/gu, "'"))) return undefined;
  return wordCount(s) >= minWords ? s : undefined;
}

function wordCount(s: string): number {
  let words = 0;
  for (const token of s.split(' ')) if (/[\p{L}\p{N}]/u.test(token)) words++;
  // Scripts written without spaces: count roughly two characters a word.
  const unspaced = s.match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}]/gu)?.length ?? 0;
  return words + Math.floor(unspaced / 2);
}

/** Cuts at a word boundary when one is near, never inside a surrogate pair. */
function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  const cut = s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
  const space = cut.lastIndexOf(' ');
  const atWord = space >= max / 2 ? cut.slice(0, space) : cut;
  const tidy = trimEndOf(atWord, /[\s,;:–—-]/u);
  return tidy.length > 0 ? tidy : cut.trim();
}

/** Trims trailing characters matching `re` (one character each) in linear time. */
function trimEndOf(s: string, re: RegExp): string {
  let end = s.length;
  while (end > 0 && re.test(s[end - 1] as string)) end--;
  return s.slice(0, end);
}
