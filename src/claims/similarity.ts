/**
 * The default, model-free claim matcher. `claimSimilarity` is a graded score; `sameClaim` is
 * the decision quorum uses to count two ports' claims as one. Construction and tuning live in
 * ./matcher/core.ts; figures in BENCHMARKS.md (## Claim matcher).
 */
import { createMatcher, type Matcher } from './matcher/core.js';

export {
  createMatcher,
  idfFromCorpus,
  DEFAULT_PARAMS,
  type Matcher,
  type MatcherOptions,
  type MatcherParams,
  type PairDetail,
} from './matcher/core.js';

/** The matcher behind `claimSimilarity` / `sameClaim` (built-in IDF table, tuned constants). */
export const defaultMatcher: Matcher = createMatcher();

/** Similarity of two claims, 0–1 (1 for identical text, 0 when either has no words). */
export function claimSimilarity(a: string, b: string): number {
  return defaultMatcher.claimSimilarity(a, b);
}

/** The default matcher's decision: do the two claims state the same fact? */
export function sameClaim(a: string, b: string): boolean {
  return defaultMatcher.sameClaim(a, b);
}
