import { type Observable, type SchedulerLike, asyncScheduler, defer, of, tap } from 'rxjs';
import type { Limiter } from '../ratelimit/limiter.js';
import type { Candidate } from '../claims/candidates.js';
import { defaultMinResponders, defaultQuorum } from '../claims/quorumRules.js';
import type { ModelCall } from '../models/call.js';
import { abortable } from '../operators/abortable.js';
import { cutStragglers } from '../operators/cutStragglers.js';
import { type GatheredVotes, gatherVotes } from '../operators/gatherVotes.js';
import type { RetryBackoffOptions } from '../operators/retryBackoff.js';
import { scatter } from '../operators/scatter.js';
import { type CastBallot, type VotedResult, voteRound } from '../operators/voteRound.js';
import { mostAgreeingMember, type Synthesis, synthesize } from '../operators/synthesize.js';
import { familyOf } from '../models/family.js';
import type { ConsensusResult, ModelOutcome, ModelRequest, Panel, PanelMember } from '../types.js';
import { portCall } from './portCall.js';

export type Round = 1 | 2;

/** What a run gathers: round 1's votes, the vote round's when it ran, the chair's answer when asked. */
export type AskResult = (GatheredVotes | VotedResult) & { synthesis?: Synthesis };

/** What a caller may watch while a run is in flight: sinks and the live view tap these. */
export interface AskObserver {
  portStarted?(member: PanelMember, round: Round): void;
  firstToken?(member: PanelMember, round: Round): void;
  /** Every round-1 port ends in exactly one outcome, straggler cuts included. */
  outcome?(outcome: ModelOutcome): void;
  /** The vote round begins with this pool. */
  voteRoundStarted?(candidates: Candidate[]): void;
  /** Every voter ends in exactly one ballot (null when it failed or was unreadable). */
  ballot?(cast: CastBallot): void;
  /** The chair (`synthesize`) starts and ends its call. */
  chairStarted?(member: PanelMember): void;
  chairFinished?(outcome: ModelOutcome): void;
  /** Runs one gather stage (`extract_claims`, `vote_consensus`, …) so it can be traced. */
  stage?<T>(name: string, work: () => T): T;
}

export interface AskOptions {
  panel: Panel;
  call: ModelCall;
  /** Votes required with the whole panel answering. Default: the panel file's, else ceil(0.75·N). */
  quorum?: number;
  /** 1: claims from the answers; 2 (default): the answers propose, then every responder votes. */
  rounds?: Round;
  /** Most candidates put to the vote. Default 40. */
  maxCandidates?: number;
  /** Straggler grace after quorum, in each round; -1 waits for all. Default: as long as quorum took. */
  graceMs?: number;
  /** Most model calls in flight at once. Default: the whole panel. */
  concurrency?: number;
  /** Retry policy; default: the panel's `retry`, else `retryBackoff`'s defaults. */
  retry?: RetryBackoffOptions;
  /**
   * After the vote, a chair writes a prose answer from the consensus claims. `model` picks it:
   * a panel member's model uses that member's endpoint, any other model the panel's default
   * endpoint; without `model`, the responder that agrees most with the consensus chairs.
   */
  synthesize?: { model?: string };
  observer?: AskObserver;
  /** One limiter shared by every call (a batch shares it across chunks). */
  limiter?: Limiter;
  scheduler?: SchedulerLike;
}

/**
 * The `ask` pipeline: scatter the request to every port (timeouts, retries, cancellation), cut
 * stragglers once a quorum answered, gather the claims, and (round 2) put the candidates to a
 * vote of every responder before the final tally.
 */
export function askPipeline(request: ModelRequest, options: AskOptions): Observable<AskResult> {
  const { panel, call, observer = {}, scheduler = asyncScheduler, rounds = 2 } = options;
  const n = panel.members.length;
  const quorum = options.quorum ?? panel.quorum ?? defaultQuorum(n);
  const minResponders = defaultMinResponders(n);
  const callOne = (round: Round) => (member: PanelMember, req: ModelRequest) =>
    defer(() => {
      observer.portStarted?.(member, round);
      // The first-token hook fires once per port, not once per retry.
      let streaming = false;
      const onFirstToken = () => {
        if (!streaming) observer.firstToken?.(member, round);
        streaming = true;
      };
      return portCall(member, () => abortable((signal) => call(member, req, { signal, onFirstToken })), { retry: options.retry ?? panel.retry, scheduler, ...(options.limiter && { limiter: options.limiter }) });
    });
  const chair = (result: ConsensusResult): PanelMember => {
    const model = options.synthesize?.model;
    if (!model) return mostAgreeingMember(panel.members, result);
    // A chair from outside the panel gets a port past the panel's, so it is never a voter.
    return panel.members.find((m) => m.model === model) ?? { port: n, model, family: familyOf(model), baseURL: panel.baseURL, apiKeyEnv: panel.apiKeyEnv, timeoutMs: panel.timeoutMs };
  };
  const callChair = (member: PanelMember, req: ModelRequest) =>
    defer(() => {
      observer.chairStarted?.(member);
      return portCall(member, () => abortable((signal) => call(member, req, { signal })), { retry: options.retry ?? panel.retry, scheduler, ...(options.limiter && { limiter: options.limiter }) });
    }).pipe(tap((outcome) => observer.chairFinished?.(outcome)));
  const withChair = <G extends GatheredVotes>(gathered: Observable<G>): Observable<G | (G & { synthesis: Synthesis })> =>
    options.synthesize ? gathered.pipe(synthesize<G>({ request, chair, callPort: callChair })) : gathered;
  const round1 = of(request).pipe(
    scatter(panel.members, callOne(1), { concurrency: options.concurrency }),
    cutStragglers({ members: panel.members, needed: quorum, graceMs: options.graceMs, scheduler }),
    tap((outcome) => observer.outcome?.(outcome)),
    gatherVotes({ panelSize: n, quorum, minResponders, stage: observer.stage, tallyStage: rounds === 2 ? 'cluster_claims' : 'vote_consensus' }),
  );
  if (rounds === 1) return withChair(round1);
  return withChair(round1.pipe(
    voteRound({
      request,
      members: panel.members,
      callPort: callOne(2),
      panelSize: n,
      quorum,
      minResponders,
      maxCandidates: options.maxCandidates,
      graceMs: options.graceMs,
      concurrency: options.concurrency,
      onRoundStarted: (candidates) => observer.voteRoundStarted?.(candidates),
      onBallot: (cast) => observer.ballot?.(cast),
      stage: observer.stage,
      scheduler,
    }),
  ));
}
