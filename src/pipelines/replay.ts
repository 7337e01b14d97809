import { type Observable, from, of } from 'rxjs';
import { defaultMinResponders } from '../claims/quorumRules.js';
import { type GatheredVotes, gatherVotes } from '../operators/gatherVotes.js';
import { type VotedResult, voteRound } from '../operators/voteRound.js';
import type { RecordedRun } from '../runlog/recordedRun.js';
import type { AskObserver, Round } from './ask.js';

export interface ReplayOptions {
  quorum: number;
  rounds: Round;
  observer?: Pick<AskObserver, 'stage' | 'voteRoundStarted'>;
}

/**
 * The `replay` pipeline: the gather step of `ask` over a recorded run's answers and ballots,
 * with no model call. Round 2 puts the recorded pool to the recorded ballots again.
 */
export function replayPipeline(run: RecordedRun, { quorum, rounds, observer = {} }: ReplayOptions): Observable<GatheredVotes | VotedResult> {
  const n = run.panel.members.length;
  const minResponders = defaultMinResponders(n);
  const round1 = from(run.outcomes).pipe(
    gatherVotes({ panelSize: n, quorum, minResponders, stage: observer.stage, tallyStage: rounds === 2 ? 'cluster_claims' : 'vote_consensus' }),
  );
  if (rounds === 1) return round1;
  return round1.pipe(
    voteRound({
      request: { query: run.query },
      members: run.panel.members,
      callPort: (member) => of(run.votes.get(member.port)!),
      candidates: run.candidates,
      panelSize: n,
      quorum,
      minResponders,
      graceMs: -1,
      onRoundStarted: (candidates) => observer.voteRoundStarted?.(candidates),
      stage: observer.stage,
    }),
  );
}
