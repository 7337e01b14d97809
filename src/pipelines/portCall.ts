import { type Observable, type SchedulerLike, asyncScheduler, defer } from 'rxjs';
import type { RawAnswer } from '../models/call.js';
import { retryBackoff, type RetryBackoffOptions } from '../operators/retryBackoff.js';
import { timeoutCall } from '../operators/timeoutCall.js';
import { toOutcome } from '../operators/toOutcome.js';
import type { ModelOutcome, PanelMember } from '../types.js';

export interface PortCallOptions {
  retry?: RetryBackoffOptions;
  scheduler?: SchedulerLike;
}

/**
 * One port's whole call: each attempt under the member's timeout, retried with backoff, ending
 * in exactly one outcome value. `attempt` must be cold: every subscription is a fresh request.
 */
export function portCall(member: PanelMember, attempt: () => Observable<RawAnswer>, options: PortCallOptions = {}): Observable<ModelOutcome> {
  const scheduler = options.scheduler ?? asyncScheduler;
  return defer(() => {
    const startedAt = scheduler.now();
    // Counted per subscription so a replayed port reports its own tries, not a running total.
    let attempts = 0;
    return defer(() => {
      attempts += 1;
      return attempt();
    }).pipe(
      timeoutCall<RawAnswer>({ ms: member.timeoutMs, scheduler }),
      retryBackoff<RawAnswer>({ scheduler, ...options.retry }),
      toOutcome(member, { startedAt, attempts: () => attempts, scheduler }),
    );
  });
}
