/**
 * How strongly a set of passages supports a claim (SelfCheckGPT's question, answered without a
 * model). Each passage "states" the claim to the degree that it contains the claim's content
 * words, weighted by rarity (IDF², as in the matcher), so names, numbers and rare terms decide;
 * the score is the share of passages that state it. Independently written passages agree on
 * real facts and scatter on invented ones, so a hallucinated detail is found in few of them.
 *
 * A passage's coverage of the claim blends two views: the share of the claim's words found
 * anywhere in the passage, and the share found in its best single sentence. Words scattered over
 * a passage ("born in London" here, "1820" three sentences later) are weaker evidence than the
 * same words stated together.
 */
import type { Analysis, Matcher } from './matcher/core.js';
import { defaultMatcher } from './similarity.js';
import { splitSentences } from './sentences.js';
import { Lru } from './text.js';

export interface SupportParams {
  /** A passage covering at most this weighted share of the claim does not support it. */
  coverLow: number;
  /** A passage covering at least this share fully supports it (linear in between). */
  coverHigh: number;
  /** Weight of the best single sentence's coverage in a passage's coverage (the rest: whole passage). */
  sentenceShare: number;
}

/** Tuned on SelfCheckGPT dev (passages 0–39) only; see BENCHMARKS.md. */
export const DEFAULT_SUPPORT_PARAMS: Readonly<SupportParams> = Object.freeze({
  coverLow: 0.6,
  coverHigh: 1,
  sentenceShare: 0.5,
});

const TIE_BREAK = 0.001;

export interface SupportScorer {
  (claim: string, passages: readonly string[]): number;
}

export function createSupportScorer(
  matcher: Matcher = defaultMatcher,
  overrides: Partial<SupportParams> = {},
): SupportScorer {
  const p: SupportParams = { ...DEFAULT_SUPPORT_PARAMS, ...overrides };
  const span = Math.max(p.coverHigh - p.coverLow, 1e-9);
  // Passages are usually scored against many claims in a row: keep their sentence analyses.
  const sentencesOf = new Lru<string, Analysis[]>(256);
  const analysedSentences = (passage: string): Analysis[] => {
    let s = sentencesOf.get(passage);
    if (!s) {
      s = splitSentences(passage).map((x) => matcher.analyse(x));
      sentencesOf.set(passage, s);
    }
    return s;
  };
  return (claim, passages) => {
    if (typeof claim !== 'string' || !Array.isArray(passages) || passages.length === 0) return 0;
    const c = matcher.analyse(claim);
    const content = c.terms.filter((t) => t.kind !== 'stop');
    let weightSum = 0;
    for (const t of content) weightSum += t.weight;
    if (content.length === 0 || weightSum <= 0) return 0;
    const covered = (d: Analysis): number => {
      let got = 0;
      for (const t of content) if (d.byStem.has(t.stem)) got += t.weight;
      return got / weightSum;
    };
    let total = 0;
    let coverSum = 0;
    let n = 0;
    for (const passage of passages) {
      if (typeof passage !== 'string') continue;
      n++;
      const whole = covered(matcher.analyse(passage));
      let best = 0;
      if (p.sentenceShare > 0 && whole > 0)
        for (const s of analysedSentences(passage)) {
          const x = covered(s);
          if (x > best) best = x;
        }
      const cover = p.sentenceShare * best + (1 - p.sentenceShare) * whole;
      coverSum += whole;
      total += Math.min(1, Math.max(0, (cover - p.coverLow) / span));
    }
    if (n === 0) return 0;
    // A sliver of the mean coverage breaks ties between claims with equal ramp scores (say, two
    // claims no passage states); left tied, they make a precision–recall curve look better than
    // any actual ranking of them.
    return (1 - TIE_BREAK) * (total / n) + TIE_BREAK * (coverSum / n);
  };
}

const defaultScorer = createSupportScorer();

/**
 * How strongly `passages` support `claim`, 0–1 (0 = nothing in the passages backs it).
 * Pure lexical evidence: a passage that repeats the claim's words while denying it still counts.
 */
export function supportScore(claim: string, passages: string[]): number {
  return defaultScorer(claim, passages);
}
