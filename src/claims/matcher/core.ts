/**
 * The model-free claim matcher: IDF²-weighted, stemmed, two-way coverage with fuzzy
 * (character-trigram) word matches, and hard "different fact" signals for numbers,
 * negation and names. See BENCHMARKS.md (## Claim matcher) for how the constants were tuned.
 */
import { DEFAULT_DF, DEFAULT_DF_DOCS, DEFAULT_NAMES } from './idfTable.js';
import { charTrigrams, dice, Lru, stemWord, tokenize, type Token } from '../text.js';

/** Tunable constants. The defaults were chosen on dev data only (STS-B dev, SelfCheckGPT dev). */
export interface MatcherParams {
  /** Weight of a stop word relative to its IDF weight (0: stop words do not count). */
  stopWeight: number;
  /** Weight of a negation token. */
  negWeight: number;
  /** Extra weight multiplier for numbers (they pin a fact down). */
  numBoost: number;
  /** Extra weight multiplier for name-like words. */
  nameBoost: number;
  /** Minimum character-trigram Dice for two different words to count as a partial match. */
  fuzzyMin: number;
  /** Share of a fuzzy match's Dice credited as a match. */
  fuzzyCredit: number;
  /** Similarity multiplier when the claims carry conflicting numbers. */
  numberPenalty: number;
  /** Similarity multiplier when one claim is negated and the other is not. */
  negationPenalty: number;
  /** Similarity multiplier when each claim has an unmatched name the other lacks. */
  nameSwapPenalty: number;
  /** Exponent on IDF weights (1 = plain IDF, 0 = every content word counts the same). */
  idfPower: number;
  /** Power mean exponent combining the two coverages (-1 = harmonic mean, i.e. weighted Dice). */
  coverageMean: number;
  /**
   * `sameClaim` needs `decisionBias + decisionSimilarity × similarity + decisionLength × ln(1 + n) ≥ 0`,
   * n being the number of distinct content words in the two claims together: the similarity a
   * pair needs falls as the claims get longer (one different word changes a 5-word claim more
   * than a 25-word one).
   */
  decisionBias: number;
  decisionSimilarity: number;
  decisionLength: number;
  /** `sameClaim` also requires each claim to cover at least this share of the other. */
  minCoverage: number;
  /** Number conflict: 0 = any unshared number on each side; k ≥ 1 = only numbers sharing an anchor within k content words. */
  numberAnchorWindow: number;
  /** Treat a number and its rounding ("1.46" / "1.5") as the same number. */
  numberRounding: boolean;
  /** Negation mismatch: 0 = whole-claim polarity; k ≥ 1 = a negated word (within k content words) the other claim states un-negated. */
  negScopeWindow: number;
  /** A word this many content words after a negation is not affirmed. */
  negScopeFar: number;
}

export const DEFAULT_PARAMS: Readonly<MatcherParams> = Object.freeze({
  stopWeight: 0,
  negWeight: 10,
  numBoost: 1,
  nameBoost: 1,
  fuzzyMin: 0.5,
  fuzzyCredit: 1,
  numberPenalty: 0.8,
  negationPenalty: 0.8,
  nameSwapPenalty: 0.8,
  idfPower: 2,
  coverageMean: -1,
  decisionBias: -6.041,
  decisionSimilarity: 5.506,
  decisionLength: 1.545,
  minCoverage: 0.6,
  numberAnchorWindow: 2,
  numberRounding: true,
  negScopeWindow: 0,
  negScopeFar: 3,
});

export interface Term {
  stem: string;
  surface: string;
  kind: Token['kind'];
  /**
   * Likely part of a name: capitalised mid-sentence, or a capitalised first word that the
   * built-in corpus mostly capitalises or has never seen.
   */
  nameLike: boolean;
  weight: number;
  /** Token positions in `Analysis.seq`. */
  positions: number[];
  grams?: Set<string>;
}

export interface Analysis {
  /** Stems of all tokens in order (stop words included), for slot comparisons. */
  seq: string[];
  /** Token kinds, parallel to `seq`. */
  kinds: Token['kind'][];
  /** Per number: the content words it attaches to (nearest ones on each side). */
  numAnchors: Map<string, Set<string>>;
  /** Stems a negation applies to, and stems outside any negation's reach. */
  negScope: { negated: Set<string>; affirmed: Set<string> };
  terms: Term[];
  byStem: Map<string, Term>;
  numbers: Set<string>;
  negated: boolean;
  weightSum: number;
  /** Distinct content terms (not stop words). */
  contentTerms: number;
}

/** Per-pair details, exposed for diagnostics and for the benchmark. */
export interface PairDetail {
  similarity: number;
  /** Weighted share of a's terms found in b, and of b's in a. */
  coverageA: number;
  coverageB: number;
  numberConflict: boolean;
  negationMismatch: boolean;
  nameSwap: boolean;
  /** The same names on opposite sides of the same word ("the Moon orbits the Earth" / "the Earth orbits the Moon"). */
  roleSwap: boolean;
  /** The two names found in the same slot, when `nameSwap`. */
  swappedNames?: [string, string];
  /** Distinct content words of both claims together (the n of the length term). */
  contentTerms: number;
}

export interface MatcherOptions {
  /**
   * Inverse document frequency per stem (keys as produced by the matcher's stemmer; see
   * `idfFromCorpus`). Defaults to a built-in table from a small general corpus.
   */
  idf?: ReadonlyMap<string, number>;
  /** IDF for stems missing from `idf`; defaults to the largest value in it. */
  unknownIdf?: number;
  /** Override tuned constants (mainly for experiments). */
  params?: Partial<MatcherParams>;
  /** Size of the per-string analysis cache. */
  cacheSize?: number;
}

export interface Matcher {
  claimSimilarity(a: string, b: string): number;
  sameClaim(a: string, b: string): boolean;
  compare(a: string, b: string): PairDetail;
  /** `sameClaim`'s test of similarity against length (≥ 0 passes); the coverage and fact checks come on top. */
  decisionScore(d: PairDetail): number;
  analyse(text: string): Analysis;
  idfOf(stem: string): number;
  readonly params: Readonly<MatcherParams>;
}

/** IDF weights from a document collection, in the form `createMatcher({ idf })` takes. */
export function idfFromCorpus(docs: Iterable<string>): Map<string, number> {
  const df = new Map<string, number>();
  let n = 0;
  for (const doc of docs) {
    n++;
    const seen = new Set<string>();
    for (const t of tokenize(doc)) seen.add(t.stem);
    for (const s of seen) df.set(s, (df.get(s) ?? 0) + 1);
  }
  return idfFromDf(df, n);
}

function idfFromDf(df: ReadonlyMap<string, number> | Record<string, number>, n: number): Map<string, number> {
  const out = new Map<string, number>();
  const entries = df instanceof Map ? df.entries() : Object.entries(df);
  for (const [stem, d] of entries) out.set(stem, Math.log((n + 1) / (d + 0.5)));
  return out;
}

const KNOWN_NAMES: ReadonlySet<string> = new Set(DEFAULT_NAMES);

let builtinIdf: Map<string, number> | undefined;
function defaultIdf(): Map<string, number> {
  builtinIdf ??= idfFromDf(DEFAULT_DF, DEFAULT_DF_DOCS);
  return builtinIdf;
}

function powerMean(x: number, y: number, p: number): number {
  if (p === -1) return x + y > 0 ? (2 * x * y) / (x + y) : 0;
  if (p === 0) return Math.sqrt(x * y);
  if (p < 0 && (x === 0 || y === 0)) return 0;
  return ((x ** p + y ** p) / 2) ** (1 / p);
}

// Words that qualify a number without saying what it counts ("at least 19", "about $20").
const APPROX: ReadonlySet<string> = new Set(
  `about around approximately roughly nearly almost over under more less least most some just only exactly
  up than fewer estimated another`.split(/\s+/).map(stemWord),
);
const CURRENCY: ReadonlySet<string> = new Set(['$', '€', '£']);

/** Content stems around each number, up to `window` on each side, skipping stop and qualifier words. */
function numberAnchorsWithin(seq: string[], kinds: Token['kind'][], window: number): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (let i = 0; i < seq.length; i++) {
    if (kinds[i] !== 'num') continue;
    const set = out.get(seq[i]!) ?? new Set<string>();
    out.set(seq[i]!, set);
    for (const step of [-1, 1] as const) {
      let found = 0;
      for (let j = i + step; j >= 0 && j < seq.length && found < window; j += step) {
        const k = kinds[j];
        const stem = seq[j]!;
        if (k === 'num') continue;
        if (k === 'word' && !APPROX.has(stem)) {
          set.add(stem);
          found++;
        } else if (CURRENCY.has(stem)) {
          set.add(stem);
          found++;
        }
      }
    }
  }
  return out;
}

/**
 * What each negation applies to. `negated`: the next `near` content words after a negation (or,
 * at the end of the claim, the one before it). `affirmed`: content stems with no negation within
 * `far` content words before them. A clash needs a word one claim negates and the other affirms,
 * so an extra "not" elsewhere in a long sentence, or a negation a few words earlier in the other
 * claim ("without a shirt" / "not wearing a shirt"), is no clash.
 */
function negationScope(seq: string[], kinds: Token['kind'][], near: number, far: number): { negated: Set<string>; affirmed: Set<string> } {
  const negated = new Set<string>();
  const affirmed = new Set<string>();
  const reach = new Array<number>(seq.length).fill(0);
  for (let i = 0; i < seq.length; i++) {
    if (kinds[i] !== 'neg') continue;
    let found = 0;
    for (let j = i + 1; j < seq.length && found < far; j++) {
      if (kinds[j] !== 'word' && kinds[j] !== 'num') continue;
      if (found < near) negated.add(seq[j]!);
      reach[j] = 1;
      found++;
    }
    if (found === 0)
      for (let j = i - 1; j >= 0; j--)
        if (kinds[j] === 'word' || kinds[j] === 'num') {
          negated.add(seq[j]!);
          reach[j] = 1;
          break;
        }
  }
  for (let i = 0; i < seq.length; i++) if ((kinds[i] === 'word' || kinds[i] === 'num') && !reach[i]) affirmed.add(seq[i]!);
  return { negated, affirmed };
}

const isOrdinal = (n: string): boolean => /[a-z]$/.test(n);

/** One number is the other rounded to fewer decimals ("1.5" / "1.46", "34" / "33.6", not "2" / "1.5"). */
function roundsTo(x: string, y: string): boolean {
  const dx = x.includes('.') ? x.length - x.indexOf('.') - 1 : 0;
  const dy = y.includes('.') ? y.length - y.indexOf('.') - 1 : 0;
  if (dx === dy || !/^\d+(\.\d+)?$/.test(x) || !/^\d+(\.\d+)?$/.test(y)) return false;
  const [short, long, d] = dx < dy ? [x, y, dx] : [y, x, dy];
  // "2" is not "1.5" rounded: a whole number needs two significant digits to count as a rounding.
  if (d === 0 && short.replace(/^0+/, '').length < 2) return false;
  return Number(long).toFixed(d) === Number(short).toFixed(d);
}

export function createMatcher(options: MatcherOptions = {}): Matcher {
  const params: MatcherParams = { ...DEFAULT_PARAMS, ...options.params };
  const idf = options.idf ?? defaultIdf();
  let unknown = options.unknownIdf;
  if (unknown === undefined) {
    unknown = 0;
    for (const w of idf.values()) if (w > unknown) unknown = w;
    // An empty table gives every word the same weight, which is plain (stemmed) overlap.
    if (unknown <= 0) unknown = 1;
  }
  const unknownIdf = unknown;
  const cache = new Lru<string, Analysis>(options.cacheSize ?? 4096);

  const idfOf = (stem: string): number => {
    const w = idf.get(stem);
    return (w === undefined ? unknownIdf : Math.max(w, 0.05)) ** params.idfPower;
  };

  // A capital on the first word proves nothing: it is a name if the built-in corpus usually
  // capitalises it, or if the corpus has never seen it. (This prior stays the built-in one even
  // with a caller's IDF table, which says nothing about capitals.)
  const isNameLike = (t: Token): boolean =>
    t.kind === 'word' && t.capitalised && (!t.initial || KNOWN_NAMES.has(t.stem) || !Object.hasOwn(DEFAULT_DF, t.stem));

  const weightOf = (t: Token): number => {
    switch (t.kind) {
      case 'stop':
        return params.stopWeight * idfOf(t.stem);
      case 'neg':
        return params.negWeight;
      case 'num':
        return params.numBoost * unknownIdf ** params.idfPower;
      default:
        return idfOf(t.stem) * (isNameLike(t) ? params.nameBoost : 1);
    }
  };

  function analyse(text: string): Analysis {
    const hit = cache.get(text);
    if (hit) return hit;
    const tokens = tokenize(text);
    const terms: Term[] = [];
    const byStem = new Map<string, Term>();
    const numbers = new Set<string>();
    let negated = false;
    const seq: string[] = [];
    for (const t of tokens) {
      seq.push(t.stem);
      if (t.kind === 'neg') negated = true;
      if (t.kind === 'num') numbers.add(t.stem);
      const existing = byStem.get(t.stem);
      if (existing) {
        existing.positions.push(t.index);
        // A word written once as a name is name-like throughout.
        if (!existing.nameLike && isNameLike(t)) {
          existing.nameLike = true;
          existing.weight = weightOf(t);
        }
      } else {
        const term: Term = {
          stem: t.stem,
          surface: t.surface,
          kind: t.kind,
          nameLike: isNameLike(t),
          weight: weightOf(t),
          positions: [t.index],
        };
        terms.push(term);
        byStem.set(t.stem, term);
      }
    }
    let weightSum = 0;
    for (const t of terms) weightSum += t.weight;
    // A claim of stop words only ("it is what it is") is compared on those words.
    if (weightSum === 0 && terms.length > 0) {
      for (const t of terms) t.weight = 1;
      weightSum = terms.length;
    }
    const kinds = tokens.map((t) => t.kind);
    const a: Analysis = {
      seq, kinds, terms, byStem, numbers, negated, weightSum,
      contentTerms: terms.filter((t) => t.kind !== 'stop').length,
      numAnchors: numbers.size === 0 ? new Map() : numberAnchorsWithin(seq, kinds, Math.max(1, params.numberAnchorWindow)),
      negScope: negationScope(seq, kinds, Math.max(1, params.negScopeWindow), params.negScopeFar),
    };
    cache.set(text, a);
    return a;
  }

  const gramsOf = (t: Term): Set<string> => (t.grams ??= charTrigrams(t.surface));

  /** Credit (0–1) for term t of one claim in the other: 1 for the same stem, partial for a near spelling. */
  function termCredit(t: Term, other: Analysis): number {
    if (other.byStem.has(t.stem)) return 1;
    if (t.kind !== 'word' || t.surface.length < 4) return 0;
    let best = 0;
    const g = gramsOf(t);
    for (const u of other.terms) {
      if (u.kind !== 'word' || u.surface.length < 4) continue;
      const d = dice(g, gramsOf(u));
      if (d > best) best = d;
    }
    return best >= params.fuzzyMin ? best * params.fuzzyCredit : 0;
  }

  function coverage(a: Analysis, b: Analysis): { cov: number; unmatchedNames: Term[] } {
    const unmatchedNames: Term[] = [];
    if (a.weightSum <= 0) return { cov: 0, unmatchedNames };
    let got = 0;
    for (const t of a.terms) {
      const credit = termCredit(t, b);
      got += t.weight * credit;
      // A near-spelling (credit > 0) is a variant of the same name, not a different one.
      if (credit === 0 && t.nameLike) unmatchedNames.push(t);
    }
    return { cov: got / a.weightSum, unmatchedNames };
  }

  /**
   * Two different names in the same slot ("born in Warsaw in 1867" / "born in Paris in 1867"):
   * an unmatched name on each side with the same context on the left or the right. A context is
   * the run of stop words up to the first content word (or the text's edge); a context that ends
   * in another name ("Tim Muris" / "Timothy Muris") is part of the name and says nothing.
   */
  function nameSwapped(a: Analysis, na: Term[], b: Analysis, nb: Term[]): [string, string] | undefined {
    if (na.length === 0 || nb.length === 0) return undefined;
    const context = (an: Analysis, own: Set<string>, from: number, step: -1 | 1): string | undefined => {
      let i = from;
      while (i >= 0 && i < an.seq.length && own.has(an.seq[i]!)) i += step;
      const parts: string[] = [];
      for (let n = 0; n < 4; n++, i += step) {
        if (i < 0 || i >= an.seq.length) return parts.length > 0 ? `${parts.join(' ')} |` : undefined;
        const stem = an.seq[i]!;
        const t = an.byStem.get(stem);
        parts.push(stem);
        if (t && t.kind !== 'stop') return t.nameLike ? undefined : parts.join(' ');
      }
      return parts.join(' ');
    };
    const slots = (an: Analysis, names: Term[]): Map<string, string> => {
      const out = new Map<string, string>();
      const own = new Set(names.map((t) => t.stem));
      for (const t of names)
        for (const i of t.positions) {
          const l = context(an, own, i - 1, -1);
          const r = context(an, own, i + 1, 1);
          if (l !== undefined) out.set(`L:${l}`, t.surface);
          if (r !== undefined) out.set(`R:${r}`, t.surface);
        }
      return out;
    };
    const sa = slots(a, na);
    for (const [slot, name] of slots(b, nb)) {
      const other = sa.get(slot);
      if (other !== undefined) return [other, name];
    }
    return undefined;
  }

  const unmatchedNumbers = (a: Analysis, b: Analysis): string[] => {
    const out: string[] = [];
    for (const n of a.numbers) {
      if (b.numbers.has(n)) continue;
      let rounded = false;
      if (params.numberRounding) for (const m of b.numbers) if (roundsTo(n, m)) rounded = true;
      if (!rounded) out.push(n);
    }
    return out;
  };

  /** Each claim has a number the other lacks, and (when anchored) two such numbers count the same thing. */
  function numbersConflict(a: Analysis, b: Analysis): boolean {
    if (a.numbers.size === 0 || b.numbers.size === 0) return false;
    const na = unmatchedNumbers(a, b);
    if (na.length === 0) return false;
    const nb = unmatchedNumbers(b, a);
    if (nb.length === 0) return false;
    if (params.numberAnchorWindow === 0) return true;
    for (const x of na) {
      const ax = a.numAnchors.get(x);
      if (!ax) continue;
      for (const y of nb) {
        // "fifth suspect" / "five suspects": an ordinal and a count are different kinds of number.
        if (isOrdinal(x) !== isOrdinal(y)) continue;
        const ay = b.numAnchors.get(y);
        if (ay) for (const s of ax) if (ay.has(s)) return true;
      }
    }
    return false;
  }

  /** a negates a word that b states without negation. */
  function negationClash(a: Analysis, b: Analysis): boolean {
    if (!a.negated) return false;
    for (const s of a.negScope.negated) if (b.negScope.affirmed.has(s) && !b.negScope.negated.has(s)) return true;
    return false;
  }

  /** The length-aware similarity test of `sameClaim` (≥ 0: similar enough for claims this long). */
  const decisionScore = (d: PairDetail): number =>
    params.decisionBias + params.decisionSimilarity * d.similarity + params.decisionLength * Math.log1p(d.contentTerms);

  function compare(textA: string, textB: string): PairDetail {
    const a = analyse(textA);
    const b = analyse(textB);
    const none: PairDetail = {
      similarity: 0, coverageA: 0, coverageB: 0,
      numberConflict: false, negationMismatch: false, nameSwap: false, roleSwap: false, contentTerms: 0,
    };
    if (a.terms.length === 0 || b.terms.length === 0) return none;
    const ca = coverage(a, b);
    const cb = coverage(b, a);
    let sim = powerMean(ca.cov, cb.cov, params.coverageMean);

    const numberConflict = numbersConflict(a, b);
    const negationMismatch = params.negScopeWindow === 0 ? a.negated !== b.negated : negationClash(a, b) || negationClash(b, a);
    const swappedNames = nameSwapped(a, ca.unmatchedNames, b, cb.unmatchedNames);
    const nameSwap = swappedNames !== undefined;
    const roleSwap = textA !== textB && rolesSwapped(a, b, ca.unmatchedNames.length > 0 && cb.unmatchedNames.length > 0);
    if (numberConflict) sim *= params.numberPenalty;
    if (negationMismatch) sim *= params.negationPenalty;
    if ((nameSwap || roleSwap) && !numberConflict) sim *= params.nameSwapPenalty;
    if (textA === textB) sim = 1;
    sim = Math.min(1, Math.max(0, sim));
    const detail: PairDetail = {
      similarity: sim, coverageA: ca.cov, coverageB: cb.cov, numberConflict, negationMismatch, nameSwap, roleSwap,
      contentTerms: a.contentTerms + b.contentTerms,
    };
    if (swappedNames) detail.swappedNames = swappedNames;
    return detail;
  }

  return {
    params,
    analyse,
    idfOf,
    compare,
    decisionScore,
    claimSimilarity: (a, b) => compare(a, b).similarity,
    sameClaim(a, b) {
      const d = compare(a, b);
      return (
        (d.similarity >= 1 || decisionScore(d) >= 0) &&
        Math.min(d.coverageA, d.coverageB) >= params.minCoverage &&
        !d.numberConflict &&
        !d.negationMismatch &&
        !d.nameSwap &&
        !d.roleSwap
      );
    },
  };
}

/**
 * The same names (or numbers) on opposite sides of the same word: "The Moon orbits the Earth" /
 * "The Earth orbits the Moon", "born in Leeds, educated in York" / "born in York, educated in
 * Leeds". Each shared name is compared by its nearest content word on either side; a word that
 * is the name's left neighbour in one text and only its right neighbour in the other has traded
 * roles. Clauses in another order ("educated at Cambridge and born in London") keep each name
 * next to its own word, so they pass.
 */
function rolesSwapped(a: Analysis, b: Analysis, otherNames: boolean): boolean {
  const na = neighbours(a);
  const nb = neighbours(b);
  let flipped = 0;
  for (const [stem, sa] of na) {
    const sb = nb.get(stem);
    if (!sb) continue;
    // Asked both ways, so the answer is the same whichever text comes first.
    if (movedSides(sa, sb) || movedSides(sb, sa)) flipped++;
  }
  // One name that moved is often just another sentence shape (a passive, a fronted clause);
  // two that traded places, or one that moved while each text names someone the other does not,
  // is another fact.
  return flipped >= 2 || (flipped === 1 && otherNames);
}

/** A word next to the name on one side in `a` that is next to it only on the other side in `b`. */
function movedSides(a: Sides, b: Sides): boolean {
  for (const w of a.left) if (b.right.has(w) && !b.left.has(w)) return true;
  for (const w of a.right) if (b.left.has(w) && !b.right.has(w)) return true;
  return false;
}

interface Sides {
  left: Set<string>;
  right: Set<string>;
}

/** For each name-like or number term: its nearest content word on each side, over all its positions. */
function neighbours(an: Analysis): Map<string, Sides> {
  const termAt = new Map<number, Term>();
  for (const t of an.terms) for (const i of t.positions) termAt.set(i, t);
  const isKey = (t: Term | undefined): boolean => t !== undefined && (t.nameLike || t.kind === 'num');
  const isContent = (i: number): boolean => an.kinds[i] === 'word' || an.kinds[i] === 'num';
  const out = new Map<string, Sides>();
  for (const t of an.terms) {
    if (!isKey(t)) continue;
    const sides: Sides = { left: new Set(), right: new Set() };
    for (const pos of t.positions) {
      // A multi-word name ("Trinity College") is one unit: step over its own name-like words.
      let i = pos - 1;
      while (i >= 0 && (!isContent(i) || (isKey(termAt.get(i)) && termAt.get(i) !== t && adjacentName(an, termAt, i, pos)))) i--;
      if (i >= 0) sides.left.add(an.seq[i] as string);
      let j = pos + 1;
      while (j < an.seq.length && (!isContent(j) || (isKey(termAt.get(j)) && termAt.get(j) !== t && adjacentName(an, termAt, j, pos)))) j++;
      if (j < an.seq.length) sides.right.add(an.seq[j] as string);
    }
    out.set(t.stem, sides);
  }
  return out;
}

/** Is the key term at `i` part of the same run of names as the one at `pos` (nothing but names between)? */
function adjacentName(an: Analysis, termAt: Map<number, Term>, i: number, pos: number): boolean {
  const [from, to] = i < pos ? [i, pos] : [pos, i];
  for (let k = from + 1; k < to; k++) {
    const t = termAt.get(k);
    if (an.kinds[k] === 'word' && !(t && (t.nameLike || t.kind === 'num'))) return false;
  }
  return true;
}
