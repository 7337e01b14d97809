import { type OperatorFunction, map, toArray } from 'rxjs';
import type { SupportedCluster } from '../claims/attest.js';
import { extractAnswer, tallyDetailed, type TallyOptions } from '../claims/tally.js';
import type { ConsensusResult, ModelOutcome } from '../types.js';

export interface GatheredVotes {
  /** Every port's outcome, in port order. */
  outcomes: ModelOutcome[];
  /** The claims extracted from each answering port's text. */
  claimsByPort: Map<number, string[]>;
  /** Round 1's candidate facts, strongest first (the vote round's pool is built from them). */
  clusters: SupportedCluster[];
  result: ConsensusResult;
}

export interface GatherOptions extends TallyOptions {
  /** Wraps each stage (`extract_claims`, `vote_consensus`), e.g. in a trace span. */
  stage?: <T>(name: string, work: () => T) => T;
  /** Name of the tally's stage: `vote_consensus`, or `cluster_claims` when a vote round follows. */
  tallyStage?: string;
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
export function gatherVotes({ stage = (_name, work) => work(), tallyStage = 'vote_consensus', ...options }: GatherOptions): OperatorFunction<ModelOutcome, GatheredVotes> {
  const extract = options.extract ?? extractAnswer;
  return (source) =>
    source.pipe(
      toArray(),
      map((outcomes) => {
        const sorted = [...outcomes].sort((a, b) => a.port - b.port);
        const byAnswer = stage('extract_claims', () => new Map(sorted.flatMap((o) => (o.ok ? [[o, extract(o.text, o)] as const] : []))));
        const claimsByPort = new Map([...byAnswer].map(([o, claims]) => [o.port, claims] as const));
        // Tally reads claims through `extract`; answering from the map keeps extraction to one pass.
        const { result, clusters } = stage(tallyStage, () =>
          tallyDetailed(sorted, { ...options, extract: (text, answer) => byAnswer.get(answer) ?? extract(text, answer) }),
        );
        return { outcomes: sorted, claimsByPort, clusters, result: { ...result, rounds: 1 } };
      }),
    );
}
