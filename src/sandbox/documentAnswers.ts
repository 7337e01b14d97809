/**
 * Simulated answers drawn from the document a prompt carries (`--context`, or a batch chunk), so
 * an offline user sees what quorum does with their own material: every model states most of
 * the document's sentences, leaves a few out, rewords some lightly, and gets one or two things
 * wrong (a changed number or name, a negation, or an invented sentence). The shared sentences
 * become consensus, the mistakes dissent.
 *
 * Everything is a pure function of the model id and the document text, so the same run gives
 * the same answers every time, and a model's round-2 vote can recompute what it said in round 1.
 */
import { createHash } from 'node:crypto';

/** The document of a prompt, as the model reads it (see `wrapDocument` in src/models/prompt.ts). */
export interface PromptDocument {
  source: string;
  text: string;
}

/**
 * The `<document source="…">…</document>` block of a user message, undefined when there is none.
 * The document inside is defanged (`neutraliseDocument`), so it cannot hold a closing tag of its
 * own and the first `</document>` ends it.
 */
export function promptDocument(message: string): PromptDocument | undefined {
  const m = /<document\b([^>]*)>\n?([\s\S]*?)\n?<\/document>/.exec(message);
  if (!m) return undefined;
  const source = /source="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? '';
  return { source: unescapeAttribute(source), text: m[2] ?? '' };
}

function unescapeAttribute(value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Sentences shorter than this (in words) are headings or fragments, not claims. */
const MIN_WORDS = 4;
/** Longer ones are run-ons a model would split; leaving them out keeps claims atomic. */
const MAX_WORDS = 45;

/**
 * The claim-like sentences of a (markdown or plain) text, in order, each once: code blocks,
 * headings, tables and HTML lines are skipped, list items count as sentences, inline markup
 * (`**`, `__`, backticks, link targets) is dropped.
 */
export function documentSentences(text: string): string[] {
  const paragraphs: string[] = [];
  let current: string[] = [];
  const flush = (): void => {
    if (current.length) paragraphs.push(current.join(' '));
    current = [];
  };
  let fence: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const fenceMark = /^(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (fenceMark && fenceMark[0] === fence[0] && fenceMark.length >= fence.length) fence = undefined;
      continue;
    }
    if (fenceMark) {
      flush();
      fence = fenceMark;
      continue;
    }
    if (line === '' || /^(#{1,6}\s|\||<|[-*_=]{3,}$)/.test(line)) {
      flush();
      continue;
    }
    const item = /^(?:>\s*)*(?:[-*+•]|\d+[.)])\s+(.*)$/.exec(line);
    if (item) {
      flush();
      current.push(item[1] ?? '');
      flush();
      continue;
    }
    current.push(line.replace(/^(?:>\s*)+/, ''));
  }
  flush();

  const out: string[] = [];
  const seen = new Set<string>();
  for (const paragraph of paragraphs) {
    const plain = paragraph
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\*\*|__|`/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    // A sentence ends at . ! ? before a capital, digit or quote; "e.g. the" does not split.
    for (const piece of plain.split(/(?<=[.!?])\s+(?=["'(\p{Lu}\p{N}])/u)) {
      const words = piece.split(' ').length;
      // "The fields are:" introduces a list; it states nothing itself.
      if (words < MIN_WORDS || words > MAX_WORDS || piece.endsWith(':')) continue;
      const sentence = /[.!?]$/.test(piece) ? piece : `${piece.replace(/[,;:]$/, '')}.`;
      const key = sentence.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(sentence);
    }
  }
  return out;
}

/** Sentences a model answers from at most: past a dozen claims an answer gets skimmed. */
export const MAX_POOL = 10;

/** At most `max` sentences spread evenly over the text, so a long chunk is covered end to end. */
export function sentencePool(sentences: readonly string[], max = MAX_POOL): string[] {
  if (sentences.length <= max) return [...sentences];
  return Array.from({ length: max }, (_, i) => sentences[Math.floor((i * sentences.length) / max)]!);
}

/** Deterministic numbers in [0, 1) for one model and document: each `key` gets its own. */
function seeded(modelId: string, text: string): (key: string) => number {
  const base = createHash('sha256').update(modelId).update('\0').update(text).digest('hex');
  return (key) => createHash('sha256').update(base).update(key).digest().readUInt32BE(0) / 2 ** 32;
}

const pickOf = <T>(items: readonly T[], r: number): T => items[Math.min(items.length - 1, Math.floor(r * items.length))]!;

/** The kinds of mistake a simulated model plants. */
export type MistakeKind = 'number' | 'name' | 'negation' | 'invented';

/** One claim of a simulated answer, with where it came from (for tests and docs). */
export interface DocumentClaim {
  text: string;
  /** The document sentence it states (absent for an invented one). */
  sentence?: string;
  /** Set on a planted wrong claim. */
  mistake?: MistakeKind;
}

const AUX = /\b(is|are|was|were|can|must|will|should|may)\b(?! not\b)/;
const NEGATED = /\b(is|are|was|were|can|must|will|should|may) not\b/;
const NUMBER = /\b\d{1,3}(?:,\d{3})+\b|\b\d+(?:\.\d+)?\b/;
/** A capitalised word that is not the sentence's first: a name, as far as a simulation can tell. */
const NAME = /(?<=\s)(\p{Lu}\p{Ll}{2,})\b/u;
const INVENTED_NAMES = ['Lantern', 'Meridian', 'Quarry', 'Solstice', 'Bramble', 'Cobalt'];

/** A number changed to a plausible wrong one: small counts move by one or two, large ones double. */
function changeNumber(sentence: string, r: number): string | undefined {
  const m = NUMBER.exec(sentence);
  if (!m) return undefined;
  const token = m[0];
  let changed: string;
  if (token.includes('.')) {
    const last = Number(token.at(-1));
    changed = `${token.slice(0, -1)}${(last + 1 + Math.floor(r * 3)) % 10}`;
  } else {
    const n = Number(token.replace(/,/g, ''));
    const next = n < 10 ? n + 1 + Math.floor(r * 2) : n >= 1900 && n <= 2100 ? n + 1 + Math.floor(r * 5) : n * 2;
    changed = token.includes(',') ? next.toLocaleString('en-US') : String(next);
  }
  return `${sentence.slice(0, m.index)}${changed}${sentence.slice(m.index + token.length)}`;
}

function negate(sentence: string): string | undefined {
  if (NEGATED.test(sentence)) return sentence.replace(NEGATED, '$1');
  if (/\b(not|never|no)\b|n't\b/i.test(sentence)) return undefined;
  return AUX.test(sentence) ? sentence.replace(AUX, '$1 not') : undefined;
}

function swapName(sentence: string, r: number): string | undefined {
  const m = NAME.exec(sentence);
  if (!m || m.index === undefined) return undefined;
  const name = m[1]!;
  const others = INVENTED_NAMES.filter((n) => n !== name);
  return `${sentence.slice(0, m.index)}${pickOf(others, r)}${sentence.slice(m.index + name.length)}`;
}

/** What the document is about, for invented sentences: its first heading, else "the document". */
function subjectOf(text: string): string {
  const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/m.exec(text)?.[1]?.replace(/[.:!?]+$/, '').trim();
  if (!heading || heading.split(/\s+/).length > 6) return 'The document';
  return /^(the|a|an)\s/i.test(heading) ? heading[0]!.toUpperCase() + heading.slice(1) : `The ${heading}`;
}

function invent(text: string, r: (key: string) => number, n: number): string {
  const subject = subjectOf(text);
  const templates = [
    () => `${subject} was first published in ${1990 + Math.floor(r(`year${n}`) * 30)}.`,
    () => `${subject} requires a paid licence for commercial use.`,
    () => `${subject} was designed at ${pickOf(['the University of Leeds', 'a bank in Zurich', 'a lab in Kyoto', 'a start-up in Lisbon'], r(`place${n}`))}.`,
    () => `${subject} will be withdrawn in ${2027 + Math.floor(r(`end${n}`) * 5)}.`,
  ];
  return pickOf(templates, r(`template${n}`))();
}

/** Light rewordings the claim matcher still reads as the same fact. */
const REWORDINGS: ((s: string) => string)[] = [
  (s) => `According to the document, ${lowerFirst(s)}`,
  (s) => `The document states that ${lowerFirst(s)}`,
  (s) => s.replace(/[.!?]$/, ''),
];

/** Lower-cases a leading article or determiner only, so names keep their capital. */
function lowerFirst(s: string): string {
  return /^(The|A|An|Each|Every|All|Any|Only|This|These|Some|No)\b/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

/**
 * The claims `modelId` makes about `text`: the pool of sentences (see {@link sentencePool}),
 * in document order, minus an omission or none (pools of 6 and more), a fifth of them reworded,
 * and one or two planted mistakes, each replacing the sentence it distorts (or, invented, added
 * at the end). Empty when the text has no claim-like sentence.
 */
export function documentClaims(modelId: string, text: string): DocumentClaim[] {
  const pool = sentencePool(documentSentences(text));
  if (pool.length === 0) return [];
  const r = seeded(modelId, text);
  const omitted = new Set<number>();
  if (pool.length >= 6 && r('omit?') < 0.5) omitted.add(Math.floor(r('omit') * pool.length));

  const claims: (DocumentClaim | undefined)[] = pool.map((sentence, i) =>
    omitted.has(i) ? undefined : { text: r(`reword?${i}`) < 0.2 ? pickOf(REWORDINGS, r(`reword${i}`))(sentence) : sentence, sentence },
  );
  const invented: DocumentClaim[] = [];
  const mistakes = r('mistakes') < 0.4 ? 2 : 1;
  for (let n = 0; n < mistakes; n++) {
    const kind = pickOf<MistakeKind>(['number', 'name', 'negation', 'invented'], r(`kind${n}`));
    // The sentences this kind can distort that are still stated as they are; start at a seeded one.
    const start = Math.floor(r(`target${n}`) * pool.length);
    let planted = false;
    for (let k = 0; k < pool.length && kind !== 'invented'; k++) {
      const i = (start + k) % pool.length;
      const claim = claims[i];
      if (!claim || claim.mistake) continue;
      const sentence = pool[i]!;
      const wrong = kind === 'number' ? changeNumber(sentence, r(`n${n}`)) : kind === 'name' ? swapName(sentence, r(`n${n}`)) : negate(sentence);
      if (wrong === undefined || wrong === sentence) continue;
      claims[i] = { text: wrong, sentence, mistake: kind };
      planted = true;
      break;
    }
    if (!planted) {
      const text2 = invent(text, r, n);
      if (!invented.some((c) => c.text === text2)) invented.push({ text: text2, mistake: 'invented' });
    }
  }
  return [...claims.filter((c): c is DocumentClaim => c !== undefined), ...invented];
}

/** The planted wrong claims of one model's answer (for tests and docs). */
export function plantedClaims(modelId: string, text: string): string[] {
  return documentClaims(modelId, text)
    .filter((c) => c.mistake)
    .map((c) => c.text);
}

/** Reply formats real panels produce; each model keeps one, chosen from its id. */
const FORMATS: ((claims: string[]) => string)[] = [
  (c) => JSON.stringify({ claims: c }),
  (c) => ['```json', JSON.stringify({ claims: c }, null, 2), '```'].join('\n'),
  (c) => c.map((x) => `- ${x}`).join('\n'),
  (c) => c.map((x, i) => `${i + 1}. ${x}`).join('\n'),
  (c) => `Here are the claims:\n${JSON.stringify({ claims: c })}`,
];

/** The reply `modelId` sends for a prompt with `text` as its document; undefined when the text has no sentence to answer from. */
export function documentReply(modelId: string, text: string): string | undefined {
  const claims = documentClaims(modelId, text);
  if (claims.length === 0) return undefined;
  const format = pickOf(FORMATS, seeded(modelId, '')('format'));
  return format(claims.map((c) => c.text));
}
