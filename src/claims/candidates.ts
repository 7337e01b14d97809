import type { Cluster } from './cluster.js';

/** One claim put to the vote in round 2. */
export interface Candidate {
  /** `c1`, `c2`, … in pool order: the id voters answer with. */
  id: string;
  text: string;
  /** Ports that proposed it in round 1 (each once, whatever it repeated). */
  proposers: number[];
  /** Every round-1 wording merged into it, for the record. */
  wordings: { port: number; text: string }[];
}

/** Voters read every candidate in one prompt; past a few dozen they skim. */
export const DEFAULT_MAX_CANDIDATES = 40;
/**
 * The pool grows past the default cap to hold every fact at least two ports stand behind (eight
 * prose answers easily yield sixty candidates, most of them one port's), up to this many.
 */
export const MAX_POOL = 100;

/** Round-1 clusters as the pool reads them: support may include attesting ports (attest.ts). */
export type PoolCluster = Cluster & { supporters?: readonly number[]; strength?: number };

export interface Pool {
  candidates: Candidate[];
  /** Facts that did not fit, strongest first, so a run can say what was never put to the vote. */
  leftOut: PoolCluster[];
}

/**
 * The round-2 ballot: round-1 clusters (near-duplicates already merged, one port once each),
 * by round-1 support (proposers and attesting ports), then soft strength, then their own
 * deterministic order, so a fact more ports stand behind is never left out for one fewer stand
 * behind, and the same answers always give the same ids. The cap is `max`, raised to hold every
 * fact with support ≥ 2 (never past MAX_POOL, nor below `max`).
 */
export function buildPool(clusters: readonly PoolCluster[], max = DEFAULT_MAX_CANDIDATES): Pool {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`Expected the candidate cap to be an integer ≥ 1, got ${max}`);
  const support = (c: PoolCluster) => (c.supporters ?? c.ports).length;
  const ranked = clusters
    .map((c, order) => ({ c, order }))
    .sort((a, b) => support(b.c) - support(a.c) || (b.c.strength ?? 0) - (a.c.strength ?? 0) || a.order - b.order)
    .map(({ c }) => c);
  const backed = ranked.filter((c) => support(c) >= 2).length;
  const cap = Math.max(max, Math.min(backed, MAX_POOL));
  return {
    candidates: ranked
      .slice(0, cap)
      .map((c, i) => ({ id: `c${i + 1}`, text: oneLine(c.text), proposers: [...c.ports], wordings: c.wordings.map((w) => ({ ...w })) })),
    leftOut: ranked.slice(cap),
  };
}

/** A candidate is one `[cK] text` line of the prompt; a newline inside it would forge another. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
