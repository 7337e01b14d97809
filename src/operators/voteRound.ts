import { type Observable, type OperatorFunction, type SchedulerLike, asyncScheduler, defer, map, of, switchMap, tap, toArray } from 'rxjs';
import { type Ballot, parseBallot } from '../claims/ballot.js';
import { buildPool, type Candidate, DEFAULT_MAX_CANDIDATES, oneLine } from '../claims/candidates.js';
import { tallyVotes } from '../claims/tallyVotes.js';
import type { ClaimRecord, FailureRecord, ModelOutcome, ModelRequest, PanelMember } from '../types.js';
import { cutStragglers } from './cutStragglers.js';
import type { GatheredVotes } from './gatherVotes.js';
import { scatter } from './scatter.js';

/** One voter's round-2 result: its call's outcome and, when readable, its ballot. */
export interface CastBallot {
  outcome: ModelOutcome;
  ballot: Ballot | null;
}

export interface VoteRoundOptions {
  request: ModelRequest;
  members: readonly PanelMember[];
  /** One vote call per voter (retries and timeouts included); must never error. */
  callPort: (member: PanelMember, request: ModelRequest) => Observable<ModelOutcome>;
  panelSize: number;
  quorum: number;
  minResponders: number;
  maxCandidates?: number;
  /** A fixed pool (a replay's recorded ballot), instead of one built from round 1's clusters. */
  candidates?: Candidate[];
  /** Straggler grace for the vote round; see `cutStragglers`. */
  graceMs?: number;
  concurrency?: number;
  /** Called when the pool is known, before any vote call. */
  onRoundStarted?: (candidates: Candidate[]) => void;
  onBallot?: (cast: CastBallot) => void;
  /** Wraps the tally (`vote_consensus`), e.g. in a trace span. */
  stage?: <T>(name: string, work: () => T) => T;
  scheduler?: SchedulerLike;
}

export interface VotedResult extends GatheredVotes {
  candidates: Candidate[];
  ballots: CastBallot[];
}

/**
 * Round 2 (DESIGN.md "Vote round"): puts round 1's candidate facts to every round-1 responder,
 * reads their ballots and re-tallies. A voter that fails or answers no readable ballot abstains.
 * When round 1 already lost the quorum there is nothing to vote on: the result passes through.
 *
 * ```
 * round 1:     ------(G|)
 * voteRound:   ------ votes… -(V|)
 * ```
 */
export function voteRound(options: VoteRoundOptions): OperatorFunction<GatheredVotes, GatheredVotes | VotedResult> {
  const { scheduler = asyncScheduler, stage = (_name, work) => work() } = options;
  return (source) =>
    source.pipe(
      switchMap((round1) => {
        if (round1.result.status === 'quorum_lost' || round1.clusters.length === 0) return of(round1);
        return defer(() => {
          const candidates = options.candidates ?? buildPool(round1.clusters, options.maxCandidates ?? DEFAULT_MAX_CANDIDATES).candidates;
          // What never reached the ballot: for a replay's recorded pool, the re-tallied round-1
          // facts that pool does not hold.
          const pooled = new Set(candidates.map((c) => c.text));
          const leftOut: ClaimRecord[] = round1.clusters
            .filter((c) => !pooled.has(oneLine(c.text)))
            .map((c) => ({ text: c.text, support: c.supporters.length, ports: c.supporters, wordings: c.wordings, strength: c.strength, ...(c.attested.length > 0 && { attested: c.attested }) }));
          const ids = new Set(candidates.map((c) => c.id));
          // Round 1's responders: an answer with no claim in it was not a usable answer.
          const voters = options.members.filter((m) => (round1.claimsByPort.get(m.port)?.length ?? 0) > 0);
          options.onRoundStarted?.(candidates);
          const ballotRequest: ModelRequest = { ...options.request, ballot: candidates.map(({ id, text }) => ({ id, text })) };
          return of(ballotRequest).pipe(
            scatter(voters, options.callPort, { concurrency: options.concurrency }),
            cutStragglers({ members: voters, needed: Math.min(round1.result.quorum.required, voters.length), graceMs: options.graceMs, scheduler }),
            map((outcome): CastBallot => ({ outcome, ballot: outcome.ok ? parseBallot(outcome.text, ids) : null })),
            tap((cast) => options.onBallot?.(cast)),
            toArray(),
            map((ballots): VotedResult => {
              const result = stage('vote_consensus', () =>
                tallyVotes({
                  candidates,
                  responders: voters.map((v) => v.port),
                  ballots: new Map(ballots.map((b) => [b.outcome.port, b.ballot])),
                  panelSize: options.panelSize,
                  quorum: options.quorum,
                  minResponders: options.minResponders,
                  failures: [...round1.result.failures, ...ballots.flatMap((b) => voteFailure(b))],
                }),
              );
              // Cut round-1 answers stay marked: their proposals are what went to the vote.
              const truncated = round1.result.truncated;
              return { ...round1, result: { ...result, ...(truncated && { truncated }), ...(leftOut.length > 0 && { leftOut }) }, candidates, ballots };
            }),
          );
        });
      }),
    );
}

/** A voter that failed its call, or answered without a readable ballot, abstains: say why. */
function voteFailure({ outcome, ballot }: CastBallot): FailureRecord[] {
  if (!outcome.ok) return [{ port: outcome.port, model: outcome.model, kind: outcome.kind, attempts: outcome.attempts, message: outcome.message, round: 2 }];
  if (ballot === null) return [{ port: outcome.port, model: outcome.model, kind: 'malformed', attempts: outcome.attempts, message: 'No votes could be read from the ballot', round: 2 }];
  return [];
}
