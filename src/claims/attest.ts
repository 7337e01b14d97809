/**
 * Round-1 support that reads the whole answer, not only the claim a port happened to phrase alike.
 *
 * On prose, independently written answers state one fact in differently built sentences ("born
 * in London, the son of a barrister" / "Reynolds was born in London in 1820"), so the matcher
 * rarely finds two whole sentences the same, and most true sentences would end with the support
 * of their own port only. A port *attests* a claim it did not propose when its answer states the
 * claim's content: the claim's words (IDF²-weighted, as in the matcher) are found in the answer,
 * both in its best single sentence and over the whole answer, every number of the claim is there,
 * and the sentence that carries it does not contradict it (another number in the same slot, a
 * negation, another name in the same slot, or the same names in swapped roles: "The Earth
 * orbits the Moon").
 *
 * Attestation is read off the attesting port's own text, so a Byzantine port can lend at most
 * its own one vote per fact, exactly as by repeating the claim; it cannot make an honest port
 * attest a fact its answer does not state. It never merges clusters either: facts stay apart.
 */
import type { Cluster } from './cluster.js';
import type { Analysis, Matcher } from './matcher/core.js';
import { defaultMatcher } from './similarity.js';

export interface AttestParams {
  /** A port attests a claim when its coverage (below) reaches this. Chosen on SelfCheckGPT dev. */
  threshold: number;
  /** Weight of the best single claim's coverage; the rest is the whole answer's. */
  sentenceShare: number;
  /** The best single claim must carry at least this share of the claim on its own. */
  sentenceFloor: number;
}

/** Chosen on SelfCheckGPT dev (passages 0–39) only, with `npm run eval:e2e -- --split dev --in-process`; see BENCHMARKS.md. */
export const DEFAULT_ATTEST_PARAMS: Readonly<AttestParams> = Object.freeze({
  threshold: 0.5,
  sentenceShare: 0.25,
  sentenceFloor: 0.5,
});

/** How one port's answer bears on a claim. */
export interface Evidence {
  /** Weighted coverage of the claim by the answer, 0–1; 0 when the answer lacks one of its numbers or contradicts it. */
  score: number;
  /** Does it reach the threshold (and contradict nothing)? */
  attests: boolean;
  /** The port's claim that carries most of it, for the record. */
  sentence: string;
}

export interface Attester {
  /** How `answer` (one port's claims, in order) bears on `claim`. */
  (claim: string, answer: readonly string[]): Evidence;
}

export function createAttester(matcher: Matcher = defaultMatcher, overrides: Partial<AttestParams> = {}): Attester {
  const p: AttestParams = { ...DEFAULT_ATTEST_PARAMS, ...overrides };
  return (claim, answer) => {
    const none: Evidence = { score: 0, attests: false, sentence: '' };
    if (answer.length === 0) return none;
    const c = matcher.analyse(claim);
    const content = c.terms.filter((t) => t.kind !== 'stop');
    let weightSum = 0;
    for (const t of content) weightSum += t.weight;
    if (content.length === 0 || weightSum <= 0) return none;
    const covered = (d: Analysis): number => {
      let got = 0;
      for (const t of content) if (d.byStem.has(t.stem)) got += t.weight;
      return got / weightSum;
    };

    const sentences = answer.map((s) => matcher.analyse(s));
    let best = 0;
    let bestAt = 0;
    sentences.forEach((s, i) => {
      const x = covered(s);
      if (x > best) {
        best = x;
        bestAt = i;
      }
    });
    if (best === 0) return none;
    const inAnswer = new Set<string>();
    for (const s of sentences) for (const stem of s.byStem.keys()) inAnswer.add(stem);
    let whole = 0;
    for (const t of content) if (inAnswer.has(t.stem)) whole += t.weight;
    whole /= weightSum;

    const sentence = answer[bestAt] as string;
    // Numbers pin a fact down: each must be stated next to what it counts here ("born … 1867",
    // not "a judge in 1867" plus "born" elsewhere), or the answer does not state this fact.
    for (const n of c.numbers) if (!sentences.some((s) => anchoredAlike(c, s, n))) return { score: 0, attests: false, sentence };
    if (contradicts(matcher, claim, sentence)) return { score: 0, attests: false, sentence };
    const score = p.sentenceShare * best + (1 - p.sentenceShare) * whole;
    return { score, attests: score >= p.threshold && best >= p.sentenceFloor, sentence };
  };
}

/** `s` states number `n` next to at least one of the words `c` states it next to (or `c` gives it none). */
function anchoredAlike(c: Analysis, s: Analysis, n: string): boolean {
  if (!s.numbers.has(n)) return false;
  const mine = c.numAnchors.get(n);
  if (!mine || mine.size === 0) return true;
  const theirs = s.numAnchors.get(n);
  if (!theirs) return false;
  for (const w of mine) if (theirs.has(w)) return true;
  return false;
}

/** The sentence states a look-alike of the claim: same words, another fact. */
function contradicts(matcher: Matcher, claim: string, sentence: string): boolean {
  const d = matcher.compare(claim, sentence);
  return d.numberConflict || d.negationMismatch || d.nameSwap || d.roleSwap;
}

/** A candidate fact with the ports that did not propose it but whose answers state it. */
export interface SupportedCluster extends Cluster {
  /** Ports whose answer attests it, each with the claim of its own that carries it. */
  attested: { port: number; text: string }[];
  /** Proposers and attesters, ascending: the fact's round-1 support. */
  supporters: number[];
  /**
   * Soft support, for ranking facts of equal support: each proposer counts 1, every other
   * responder its evidence score (0–1, below the threshold too), to three decimals.
   */
  strength: number;
}

/**
 * Adds attestation to round 1's clusters. `answers` holds every responder's claims by port.
 * Without an attester every cluster keeps its proposers as its support (strength = their count).
 */
export function supportClusters(clusters: readonly Cluster[], answers: ReadonlyMap<number, readonly string[]>, attester?: Attester): SupportedCluster[] {
  return clusters
    .map((c): SupportedCluster => {
      const proposers = new Set(c.ports);
      const attested: { port: number; text: string }[] = [];
      let strength = proposers.size;
      if (attester)
        for (const [port, claims] of [...answers].sort((a, b) => a[0] - b[0])) {
          if (proposers.has(port) || claims.length === 0) continue;
          const e = attester(c.text, claims);
          strength += e.score;
          if (e.attests) attested.push({ port, text: e.sentence });
        }
      const supporters = [...proposers, ...attested.map((a) => a.port)].sort((a, b) => a - b);
      return { ...c, attested, supporters, strength: Math.round(strength * 1000) / 1000 };
    })
    .sort((a, b) => b.supporters.length - a.supporters.length || b.strength - a.strength || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}
