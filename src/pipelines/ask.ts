import { type Observable, type SchedulerLike, asyncScheduler, defer, finalize, of, tap } from 'rxjs';
import { defaultQuorum } from '../claims/quorumRules.js';
import type { ModelCall } from '../models/call.js';
import { abortable } from '../operators/abortable.js';
import { cutStragglers } from '../operators/cutStragglers.js';
import { type GatheredVotes, gatherVotes } from '../operators/gatherVotes.js';
import type { RetryBackoffOptions } from '../operators/retryBackoff.js';
import { scatter } from '../operators/scatter.js';
import type { ModelOutcome, ModelRequest, Panel, PanelMember } from '../types.js';
import { portCall } from './portCall.js';

/** What a caller may watch while a run is in flight: sinks and the live view tap these. */
export interface AskObserver {
  portStarted?(member: PanelMember): void;
  firstToken?(member: PanelMember): void;
  /** Every port ends in exactly one outcome, straggler cuts included. */
  outcome?(outcome: ModelOutcome): void;
  /** Runs one gather stage (`extract_claims`, `vote_consensus`) so it can be traced. */
  stage?<T>(name: string, work: () => T): T;
}

export interface AskOptions {
  panel: Panel;
  call: ModelCall;
  /** Votes required with the whole panel answering. Default: the panel file's, else ceil(0.75·N). */
  quorum?: number;
  /** Strayed ports' grace period after quorum; -1 waits for all. Default: as long as quorum took. */
  graceMs?: number;
  /** Most model calls in flight at once. Default: the whole panel. */
  concurrency?: number;
  /** Retry policy; default: the panel's `retry`, else `retryBackoff`'s defaults. */
  retry?: RetryBackoffOptions;
  observer?: AskObserver;
  scheduler?: SchedulerLike;
}

/**
 * The `ask` pipeline: scatter the request to every port (timeouts, retries, cancellation),
 * cut stragglers once a quorum answered, and gather the outcomes into one vote.
 */
export function askPipeline(request: ModelRequest, options: AskOptions): Observable<GatheredVotes> {
  const { panel, call, observer = {}, scheduler = asyncScheduler } = options;
  const n = panel.members.length;
  const quorum = options.quorum ?? panel.quorum ?? defaultQuorum(n);
  const callOne = (member: PanelMember, req: ModelRequest) =>
    defer(() => {
      observer.portStarted?.(member);
      // The first-token hook fires once per port, not once per retry.
      let streaming = false;
      const onFirstToken = () => {
        if (!streaming) observer.firstToken?.(member);
        streaming = true;
      };
      return portCall(member, () => abortable((signal) => call(member, req, { signal, onFirstToken })), { retry: options.retry ?? panel.retry, scheduler });
    });
  return of(request).pipe(
    scatter(panel.members, callOne, { concurrency: options.concurrency }),
    cutStragglers({ members: panel.members, needed: quorum, graceMs: options.graceMs, scheduler }),
    tap((outcome) => observer.outcome?.(outcome)),
    gatherVotes({ panelSize: n, quorum, stage: observer.stage }),
  );
}
