/**
 * Text helpers for the model-free claim matcher: tokenisation, Porter stemming, stop words,
 * number and negation normalisation. Everything here is deterministic and dependency-free.
 */

/** One token of a claim, after normalisation. */
export interface Token {
  /** Lower-cased surface form (after contraction / number-word normalisation). */
  surface: string;
  /** Matching key: Porter stem for words, canonical digits for numbers. */
  stem: string;
  kind: 'word' | 'stop' | 'num' | 'neg';
  /** Written with an initial capital letter. */
  capitalised: boolean;
  /** First token of the text (so a capital says little). */
  initial: boolean;
  /** Position of the token in the text's token sequence. */
  index: number;
}

// Classic English stop words minus the words that carry a claim's meaning: negations, number
// words and quantifiers like "all"/"some"/"more" that flip what a claim says.
const STOP_LIST = `a about above after again against am an and any are aren as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just let me
my myself of off on once only or other our ours ourselves out over own same she should so such than
that the their theirs them themselves then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours yourself
yourselves also s t d ll m o re ve y may might must shall us upon whether within via per among
onto its thus yet however etc ie eg ma mr mrs ms dr jr sr`;

export const STOP_WORDS: ReadonlySet<string> = new Set(STOP_LIST.split(/\s+/).filter(Boolean));

/** Words that negate the statement they appear in. "n't" is expanded to "not" first. */
export const NEGATIONS: ReadonlySet<string> = new Set([
  'not', 'no', 'never', 'none', 'nobody', 'nothing', 'neither', 'nor', 'nowhere', 'cannot', 'without',
]);

// Maps, not object literals: a word like "constructor" must not find Object.prototype members.
function toMap(o: Record<string, string>): ReadonlyMap<string, string> {
  return new Map(Object.entries(o));
}

// Abbreviated month names, so "Sept. 11" and "September 11" agree.
const MONTHS = toMap({
  jan: 'january', feb: 'february', mar: 'march', apr: 'april', jun: 'june', jul: 'july', aug: 'august',
  sep: 'september', sept: 'september', oct: 'october', nov: 'november', dec: 'december',
  january: 'january', february: 'february', april: 'april', june: 'june', july: 'july',
  august: 'august', september: 'september', october: 'october', november: 'november', december: 'december',
});

const NUMBER_WORDS = toMap({
  zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8',
  nine: '9', ten: '10', eleven: '11', twelve: '12', thirteen: '13', fourteen: '14', fifteen: '15',
  sixteen: '16', seventeen: '17', eighteen: '18', nineteen: '19', twenty: '20', thirty: '30',
  forty: '40', fifty: '50', sixty: '60', seventy: '70', eighty: '80', ninety: '90', hundred: '100',
  thousand: '1000', million: '1000000', billion: '1000000000', trillion: '1000000000000',
  dozen: '12', first: '1st', second: '2nd', third: '3rd', fourth: '4th', fifth: '5th',
  sixth: '6th', seventh: '7th', eighth: '8th', ninth: '9th', tenth: '10th',
});

// Irregular forms Porter cannot join; a short hand list of the ones common in short claims.
const IRREGULAR = toMap({
  men: 'man', women: 'woman', children: 'child', people: 'person', mice: 'mouse', feet: 'foot',
  teeth: 'tooth', geese: 'goose', wives: 'wife', knives: 'knife', lives: 'life', leaves: 'leaf',
  went: 'go', gone: 'go', goes: 'go', ran: 'run', sat: 'sit', ate: 'eat', eaten: 'eat', saw: 'see',
  seen: 'see', took: 'take', taken: 'take', gave: 'give', given: 'give', made: 'make', said: 'say',
  says: 'say', told: 'tell', thought: 'think', found: 'find', got: 'get', gotten: 'get', came: 'come',
  became: 'become', began: 'begin', begun: 'begin', wrote: 'write', written: 'write', spoke: 'speak',
  spoken: 'speak', bought: 'buy', sold: 'sell', held: 'hold', led: 'lead', left: 'leave', lost: 'lose',
  paid: 'pay', met: 'meet', kept: 'keep', brought: 'bring', built: 'build', sent: 'send', spent: 'spend',
  fell: 'fall', fallen: 'fall', rose: 'rise', risen: 'rise', won: 'win', drew: 'draw', drawn: 'draw',
  drove: 'drive', driven: 'drive', flew: 'fly', flown: 'fly', grew: 'grow', grown: 'grow', knew: 'know',
  known: 'know', threw: 'throw', thrown: 'throw', wore: 'wear', worn: 'wear', rode: 'ride',
  ridden: 'ride', swam: 'swim', swum: 'swim', sang: 'sing', sung: 'sing', 
  died: 'die', dies: 'die', dying: 'die', lying: 'lie', lay: 'lie', laid: 'lay', fought: 'fight',
  caught: 'catch', taught: 'teach', sought: 'seek', struck: 'strike', stood: 'stand', understood: 'understand',
  better: 'good', best: 'good', worse: 'bad', worst: 'bad', larger: 'large', largest: 'large',
  bigger: 'big', biggest: 'big', smaller: 'small', smallest: 'small',
});

// Common English synonyms, each group folded onto its first word. Deliberately short and
// generic (no domain terms): a wrong merge here would join claims that differ.
const SYNONYM_GROUPS: readonly string[] = [
  'big large huge enormous', 'small little tiny', 'begin start commence', 'finish complete conclude',
  'buy purchase', 'help assist aid', 'show display demonstrate', 'kill slay', 'child kid',
  'man guy gentleman', 'woman lady', 'car automobile', 'rabbit bunny', 'talk speak chat',
  'quick fast rapid swift', 'rise increase climb', 'fall drop decline decrease', 'shut close',
  'get obtain receive acquire', 'create invent', 'author writer', 'film movie', 'photo picture photograph',
  'nation country', 'enough sufficient', 'allow permit', 'need require', 'use utilize utilise employ',
  'try attempt', 'answer reply respond', 'wrong incorrect', 'error mistake', 'happy glad', 'rich wealthy',
  'smart intelligent clever', 'hard difficult', 'easy simple', 'maybe perhaps', 'often frequently',
  'usually typically generally', 'almost nearly', 'approximately roughly', 'prize award', 'annual yearly',
  'depart leave', 'attorney lawyer', 'doctor physician', 'couch sofa', 'student pupil', 'shop store',
  'street road', 'ocean sea', 'rock stone', 'jump leap', 'shout yell scream', 'smile grin',
  'bike bicycle', 'motorbike motorcycle', 'phone telephone', 'tv television', 'plane airplane aircraft',
  'fridge refrigerator', 'hit strike', 'pick choose select', 'establish found', 'reveal disclose',
  'purpose aim goal', 'assistance help', 'large sizable', 'unite combine merge', 'die perish',
  'sick ill', 'fix repair', 'cost price', 'mostly mainly largely', 'entire whole', 'stop halt cease',
  'eat consume',
];

// --- Porter stemmer (M.F. Porter, 1980), the reference regex formulation. -----------------
const STEP2: Record<string, string> = {
  ational: 'ate', tional: 'tion', enci: 'ence', anci: 'ance', izer: 'ize', bli: 'ble', alli: 'al',
  entli: 'ent', eli: 'e', ousli: 'ous', ization: 'ize', ation: 'ate', ator: 'ate', alism: 'al',
  iveness: 'ive', fulness: 'ful', ousness: 'ous', aliti: 'al', iviti: 'ive', biliti: 'ble', logi: 'log',
};
const STEP3: Record<string, string> = { icate: 'ic', ative: '', alize: 'al', iciti: 'ic', ical: 'ic', ful: '', ness: '' };
const c = '[^aeiou]';
const v = '[aeiouy]';
const C = `${c}[^aeiouy]*`;
const V = `${v}[aeiou]*`;
const MGR0 = new RegExp(`^(${C})?${V}${C}`);
const MEQ1 = new RegExp(`^(${C})?${V}${C}(${V})?$`);
const MGR1 = new RegExp(`^(${C})?${V}${C}${V}${C}`);
const S_V = new RegExp(`^(${C})?${v}`);
const CVC = new RegExp(`^${C}${v}[^aeiouwxy]$`);
const RE_1A1 = /^(.+?)(ss|i)es$/;
const RE_1A2 = /^(.+?)([^s])s$/;
const RE_1B1 = /^(.+?)eed$/;
const RE_1B2 = /^(.+?)(ed|ing)$/;
const RE_1B_AT = /(at|bl|iz)$/;
const RE_1B_DBL = /([^aeiouylsz])\1$/;
const RE_1C = /^(.+?)y$/;
const RE_2 = /^(.+?)(ational|tional|enci|anci|izer|bli|alli|entli|eli|ousli|ization|ation|ator|alism|iveness|fulness|ousness|aliti|iviti|biliti|logi)$/;
const RE_3 = /^(.+?)(icate|ative|alize|iciti|ical|ful|ness)$/;
const RE_4 = /^(.+?)(al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ou|ism|ate|iti|ous|ive|ize)$/;
const RE_4B = /^(.+?)(s|t)(ion)$/;
const RE_5 = /^(.+?)e$/;

/** Porter stem of a lower-case ASCII word; other strings are returned unchanged. */
export function porterStem(word: string): string {
  if (word.length < 3 || !/^[a-z]+$/.test(word)) return word;
  let w = word;
  const firstY = w[0] === 'y';
  if (firstY) w = `Y${w.slice(1)}`;
  let m: RegExpExecArray | null;

  if ((m = RE_1A1.exec(w))) w = `${m[1]}${m[2]}`;
  else if ((m = RE_1A2.exec(w))) w = `${m[1]}${m[2]}`;

  if ((m = RE_1B1.exec(w))) {
    if (MGR0.test(m[1]!)) w = w.slice(0, -1);
  } else if ((m = RE_1B2.exec(w))) {
    const stem = m[1]!;
    if (S_V.test(stem)) {
      w = stem;
      if (RE_1B_AT.test(w)) w += 'e';
      else if (RE_1B_DBL.test(w)) w = w.slice(0, -1);
      else if (CVC.test(w)) w += 'e';
    }
  }

  if ((m = RE_1C.exec(w)) && S_V.test(m[1]!)) w = `${m[1]}i`;

  if ((m = RE_2.exec(w)) && MGR0.test(m[1]!)) w = m[1]! + STEP2[m[2]!]!;
  if ((m = RE_3.exec(w)) && MGR0.test(m[1]!)) w = m[1]! + STEP3[m[2]!]!;

  if ((m = RE_4.exec(w))) {
    if (MGR1.test(m[1]!)) w = m[1]!;
  } else if ((m = RE_4B.exec(w))) {
    const stem = m[1]! + m[2]!;
    if (MGR1.test(stem)) w = stem;
  }

  if ((m = RE_5.exec(w))) {
    const stem = m[1]!;
    if (MGR1.test(stem) || (MEQ1.test(stem) && !CVC.test(stem))) w = stem;
  }
  if (w.endsWith('ll') && MGR1.test(w)) w = w.slice(0, -1);

  if (firstY) w = `y${w.slice(1)}`;
  return w;
}

let synonyms: Map<string, string> | undefined;
function synonymOf(stem: string): string {
  if (!synonyms) {
    synonyms = new Map();
    for (const group of SYNONYM_GROUPS) {
      // Porter only: "found" here is the verb "to found", not the past of "find".
      const [head, ...rest] = group.split(' ').map(porterStem);
      const canon = synonyms.get(head!) ?? head!;
      for (const s of rest) if (!synonyms.has(s)) synonyms.set(s, canon);
    }
  }
  return synonyms.get(stem) ?? stem;
}

const stemCache = new Map<string, string>();
const STEM_CACHE_MAX = 50_000;

/** Matching key for a lower-case word: irregular lemma or Porter stem, synonyms folded. Memoised. */
export function stemWord(word: string): string {
  let s = stemCache.get(word);
  if (s !== undefined) return s;
  s = synonymOf(IRREGULAR.get(word) ?? porterStem(word));
  // Clearing wholesale keeps this O(1); stems are cheap to recompute.
  if (stemCache.size >= STEM_CACHE_MAX) stemCache.clear();
  stemCache.set(word, s);
  return s;
}

// Scale words that multiply a number written just before them ("2.1 million" = 2100000).
const SCALES = toMap({
  hundred: '2', thousand: '3', million: '6', billion: '9', trillion: '12', bn: '9', mln: '6', bil: '9',
});

/** A canonical (non-ordinal) number times 10^exp, exactly, in canonical form ("1.25" × 10^6 → "1250000"). */
export function scaleNumber(canonical: string, exp: number): string | undefined {
  if (!/^\d+(\.\d+)?$/.test(canonical)) return undefined;
  const [int, frac = ''] = canonical.split('.') as [string, string?];
  const digits = int + frac.padEnd(exp, '0');
  const point = int.length + exp;
  const whole = digits.slice(0, point).replace(/^0+(?=\d)/, '');
  const rest = digits.slice(point).replace(/0+$/, '');
  return rest ? `${whole}.${rest}` : whole;
}

/** Canonical form of a numeric literal: no thousands separators, no trailing decimal zeros. */
export function canonicalNumber(raw: string): string {
  let s = raw.toLowerCase();
  const ord = /(st|nd|rd|th)$/.exec(s);
  if (ord) s = s.slice(0, -2);
  // "1,000" / "1,000,000" are thousands; "3,5" is left as-is (rare in English text).
  if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  s = s.replace(/^0+(?=\d)/, '');
  return ord ? `${s}${ord[1]}` : s;
}

// Dotted acronyms (U.S., U.N.), numbers (with separators / decimals / ordinal suffix), words,
// percent and currency signs.
const TOKEN_RE = /(?:\p{Lu}\.){2,}|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|\p{L}[\p{L}\p{M}]*(?:['’]\p{L}+)*|[%$€£]/gu;

/** "not" in "do-not-call list" names a thing; it negates nothing. */
function insideCompound(text: string, at: number, length: number): boolean {
  return text[at - 1] === '-' && text[at + length] === '-';
}

/**
 * Splits text into normalised tokens. Contractions are expanded ("doesn't" → "does not"),
 * possessive 's is dropped, number words become digits, % becomes "percent".
 */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  if (!text) return out;
  const norm = text.normalize('NFKC');
  let initial = true;
  const push = (surface: string, stem: string, kind: Token['kind'], capitalised: boolean): void => {
    out.push({ surface, stem, kind, capitalised, initial, index: out.length });
    initial = false;
  };
  for (const match of norm.matchAll(TOKEN_RE)) {
    const raw = match[0];
    const c0 = raw.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) {
      push(raw, canonicalNumber(raw), 'num', false);
      continue;
    }
    if (raw === '%') {
      push('percent', 'percent', 'word', false);
      continue;
    }
    if (raw === '$' || raw === '€' || raw === '£') {
      push(raw, raw, 'stop', false);
      continue;
    }
    const lowerRaw = raw.toLowerCase();
    const capitalised = raw[0] !== lowerRaw[0];
    if (
      capitalised &&
      raw.length >= 2 &&
      (raw.endsWith('.') || (raw === raw.toUpperCase() && STOP_WORDS.has(lowerRaw)))
    ) {
      // An acronym, even one spelled like a stop word ("US", "IT").
      const letters = raw.replace(/\./g, '').toLowerCase();
      push(letters, letters, 'word', true);
      continue;
    }
    let lower = lowerRaw.includes('’') ? lowerRaw.replace(/’/g, "'") : lowerRaw;
    let negate = false;
    if (lower.endsWith("n't")) {
      negate = true;
      lower = lower === "won't" ? 'will' : lower === "can't" ? 'can' : lower === "shan't" ? 'shall' : lower.slice(0, -3);
    } else {
      // Possessive and clitic endings carry no content ("France's" → "france"); an apostrophe
      // inside a name is part of it ("O'Neil's" → "oneil", not the stop word "o").
      if (lower.includes("'")) lower = lower.replace(/'(?:s|re|ve|ll|d|m)$/u, '').replace(/'/gu, '');
    }
    if (lower === 'pct') lower = 'percent';
    if (lower.length > 0) {
      if (NEGATIONS.has(lower))
        push(lower, lower === 'cannot' ? 'not' : lower, insideCompound(norm, match.index, raw.length) ? 'stop' : 'neg', false);
      else if (NUMBER_WORDS.has(lower)) push(lower, NUMBER_WORDS.get(lower)!, 'num', false);
      else if (STOP_WORDS.has(lower)) push(lower, lower, 'stop', false);
      else if (MONTHS.has(lower)) push(lower, MONTHS.get(lower)!, 'word', capitalised);
      else push(lower, stemWord(lower), 'word', capitalised);
    }
    if (negate) push('not', 'not', 'neg', false);
  }
  return mergeScales(out);
}

/**
 * Joins a number and the scale word after it into one number ("2.1 million" → 2100000,
 * "two hundred thousand" → 200000), so that "$1.2 billion" and "1,200,000,000" agree.
 */
function mergeScales(tokens: Token[]): Token[] {
  let merged = false;
  for (let i = 0; i + 1 < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1]!;
    const exp = SCALES.get(next.surface);
    if (t.kind !== 'num' || exp === undefined || (next.kind !== 'num' && next.kind !== 'word')) continue;
    const scaled = scaleNumber(t.stem, Number(exp));
    if (scaled === undefined) continue;
    tokens[i] = { ...t, stem: scaled, surface: `${t.surface} ${next.surface}` };
    tokens.splice(i + 1, 1);
    i--; // "two hundred thousand": the merged number may take the next scale word too
    merged = true;
  }
  if (merged) tokens.forEach((t, i) => (t.index = i));
  return tokens;
}

/** Character trigrams of a word padded with boundary marks, for fuzzy spelling matches. */
export function charTrigrams(word: string): Set<string> {
  const w = `#${word}#`;
  const g = new Set<string>();
  for (let i = 0; i + 3 <= w.length; i++) g.add(w.slice(i, i + 3));
  return g;
}

/** Dice coefficient of two sets. */
export function dice(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let inter = 0;
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (big.has(x)) inter++;
  return (2 * inter) / (a.size + b.size);
}

/**
 * A bounded cache that keeps recently used entries (two generations: when the young one fills,
 * the old one is dropped). Unlike a Map-order LRU it never walks over deleted slots, so it stays
 * O(1) when full; an entry used since the last turnover survives the next one.
 */
export class Lru<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;
  constructor(max: number) {
    this.half = Math.max(1, Math.floor(max / 2));
  }
  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) this.set(key, o);
    return o;
  }
  set(key: K, value: V): void {
    if (this.young.size >= this.half && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
  get size(): number {
    return this.young.size + this.old.size;
  }
}
