import { type Observable, type SchedulerLike, asyncScheduler, defer, identity, map, tap } from 'rxjs';
import { QuotaExhaustedError } from '../ratelimit/rateLimiter.js';
import type { Limiter } from '../ratelimit/limiter.js';
import type { RawAnswer } from '../models/call.js';
import { rateLimit } from '../operators/rateLimit.js';
import { retryBackoff, type RetryBackoffOptions } from '../operators/retryBackoff.js';
import { timeoutCall } from '../operators/timeoutCall.js';
import { toOutcome } from '../operators/toOutcome.js';
import type { ModelOutcome, PanelMember } from '../types.js';

export interface PortCallOptions {
  retry?: RetryBackoffOptions;
  /**
   * Shared rate limiter. Each attempt (retries too) waits for a slot before its timeout starts
   * and teaches the limiter from its answer or error. With a limiter, the retry cap on
   * Retry-After defaults to the limiter's quota threshold (the limiter decides how long a wait
   * is too long), and a used-up quota errors the port with `QuotaExhaustedError` instead of
   * ending in a failure value: the run must stop, not record a failed port.
   */
  limiter?: Limiter;
  scheduler?: SchedulerLike;
}

/**
 * One port's whole call: each attempt under the member's timeout (and, with a limiter, after
 * its slot), retried with backoff, ending in exactly one outcome value. `attempt` must be cold:
 * every subscription is a fresh request.
 */
export function portCall(member: PanelMember, attempt: () => Observable<RawAnswer>, options: PortCallOptions = {}): Observable<ModelOutcome> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const { limiter } = options;
  return defer(() => {
    const subscribedAt = scheduler.now();
    // When the first attempt started: latency is the model's, not the time queued for a slot.
    let firstAttemptAt: number | undefined;
    // Counted per subscription so a replayed port reports its own tries, not a running total.
    let attempts = 0;
    // Set when the limiter says the quota is gone: that ends the run, not only this port.
    let quotaGone: QuotaExhaustedError | undefined;
    return defer(() => {
      attempts += 1;
      firstAttemptAt ??= scheduler.now();
      return attempt();
    }).pipe(
      timeoutCall<RawAnswer>({ ms: member.timeoutMs, scheduler }),
      limiter ? rateLimit<RawAnswer>(limiter, member.model) : identity,
      tap({
        error: (error: unknown) => {
          if (error instanceof QuotaExhaustedError) quotaGone = error;
        },
      }),
      retryBackoff<RawAnswer>({ scheduler, ...(limiter && { retryAfterCapMs: limiter.quotaResetThresholdMs }), ...options.retry }),
      toOutcome(member, {
        get startedAt() {
          return firstAttemptAt ?? subscribedAt;
        },
        attempts: () => attempts,
        scheduler,
      }),
      map((outcome) => {
        if (quotaGone) throw quotaGone;
        return outcome;
      }),
    );
  });
}
