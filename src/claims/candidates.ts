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
 * The round-2 ballot: round-1 clusters (near-duplicates already merged, one port once each),
 * strongest first, capped at `max`. Ties keep the clusters' own deterministic order, so the
 * same answers always give the same ids.
 */
export function candidatePool(clusters: readonly Cluster[], max = DEFAULT_MAX_CANDIDATES): Candidate[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`Expected the candidate cap to be an integer ≥ 1, got ${max}`);
  return clusters
    .map((c, order) => ({ c, order }))
    .sort((a, b) => b.c.ports.length - a.c.ports.length || a.order - b.order)
    .slice(0, max)
    .map(({ c }, i) => ({ id: `c${i + 1}`, text: oneLine(c.text), proposers: [...c.ports], wordings: c.wordings.map((w) => ({ ...w })) }));
}

/** A candidate is one `[cK] text` line of the prompt; a newline inside it would forge another. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
