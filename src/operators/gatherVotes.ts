import { type OperatorFunction, map, toArray } from 'rxjs';
import { tally, type TallyOptions } from '../claims/tally.js';
import type { ConsensusResult, ModelOutcome } from '../types.js';

export interface GatheredVotes {
  /** Every port's outcome, in port order. */
  outcomes: ModelOutcome[];
  result: ConsensusResult;
}

/**
 * Reduces all ports' outcomes into one vote and applies the quorum rules (DESIGN.md):
 * full quorum, degraded quorum when ports failed, or quorum lost. Emits once, when the
 * outcomes complete.
 *
 * ```
 * outcomes:       -a--b-c|
 * gatherVotes():  -------(R|)
 * ```
 */
export function gatherVotes(options: TallyOptions): OperatorFunction<ModelOutcome, GatheredVotes> {
  return (source) =>
    source.pipe(
      toArray(),
      map((outcomes) => {
        const sorted = [...outcomes].sort((a, b) => a.port - b.port);
        return { outcomes: sorted, result: tally(sorted, options) };
      }),
    );
}
