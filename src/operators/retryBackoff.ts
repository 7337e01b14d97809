import { type MonoTypeOperatorFunction, type SchedulerLike, asyncScheduler, retry, throwError, timer } from 'rxjs';
import { ModelCallError } from '../errors.js';

export interface RetryBackoffOptions {
  /** Retries after the first attempt; 0 turns retrying off. Default 2. */
  maxRetries?: number;
  /** Backoff before retry k (k = 1, 2, …) is baseDelayMs·2^(k-1), capped at maxDelayMs. Default 500. */
  baseDelayMs?: number;
  /** Ceiling of the exponential backoff. Default 8000. */
  maxDelayMs?: number;
  /** Jitter as a fraction of the delay: the wait is scaled by a factor in [1-jitter, 1+jitter]. Default 0.2. */
  jitter?: number;
  /**
   * Longest server-requested wait (Retry-After) we honour. A longer request fails the call as
   * `rate_limited` at once instead of sleeping: free tiers answer "retry in an hour", and a run
   * must not hang on that. Default 10000.
   */
  retryAfterCapMs?: number;
  /** Source of randomness for jitter, injectable for deterministic tests. Default Math.random. */
  random?: () => number;
  scheduler?: SchedulerLike;
}

/** Only faults that a later attempt can fix are retried; auth, 4xx, garbage and timeouts are not. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof ModelCallError)) return false;
  if (error.kind === 'rate_limited' || error.kind === 'network') return true;
  // A 5xx or an error inside a 200 body (no status) is a provider hiccup; a 4xx like 402 is not.
  return error.kind === 'http' && (error.status === undefined || error.status >= 500);
}

/** The wait before retry number `retryCount` (1-based), or null when the call should give up. */
export function backoffDelay(error: unknown, retryCount: number, opts: Required<Omit<RetryBackoffOptions, 'scheduler'>>): number | null {
  if (retryCount > opts.maxRetries || !isRetryable(error)) return null;
  const requested = error instanceof ModelCallError ? error.retryAfterMs : undefined;
  if (requested !== undefined && requested > opts.retryAfterCapMs) return null;
  const exponential = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (retryCount - 1));
  const factor = 1 - opts.jitter + 2 * opts.jitter * opts.random();
  return Math.max(requested ?? 0, Math.round(exponential * factor));
}

/**
 * Resubscribes to a failed call with exponential backoff and jitter, honouring the server's
 * Retry-After up to a cap. Gives up (rethrows the last error) when retries run out, the error
 * is not retryable, or the server asks for a wait longer than the cap.
 *
 * ```
 * source:          -#              (# = 503)
 * retryBackoff():  -- 500ms -#  -- 1000ms -a|   (subscriptions at 0, 501, 1502)
 * ```
 */
export function retryBackoff<T>(options: RetryBackoffOptions = {}): MonoTypeOperatorFunction<T> {
  const opts = {
    maxRetries: options.maxRetries ?? 2,
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 8000,
    jitter: options.jitter ?? 0.2,
    retryAfterCapMs: options.retryAfterCapMs ?? 10_000,
    random: options.random ?? Math.random,
  };
  const scheduler = options.scheduler ?? asyncScheduler;
  if (!Number.isInteger(opts.maxRetries) || opts.maxRetries < 0) {
    throw new RangeError(`Expected maxRetries to be an integer ≥ 0, got ${opts.maxRetries}`);
  }
  if (!(opts.jitter >= 0 && opts.jitter < 1)) {
    throw new RangeError(`Expected jitter to be in [0, 1), got ${opts.jitter}`);
  }
  return retry<T>({
    count: opts.maxRetries,
    delay: (error: unknown, retryCount: number) => {
      const wait = backoffDelay(error, retryCount, opts);
      return wait === null ? throwError(() => explainGiveUp(error, opts.retryAfterCapMs)) : timer(wait, scheduler);
    },
  });
}

/** Says why a rate-limited call was not retried when the server asked for too long a wait. */
function explainGiveUp(error: unknown, capMs: number): unknown {
  if (!(error instanceof ModelCallError) || error.retryAfterMs === undefined || error.retryAfterMs <= capMs) return error;
  const asked = Math.ceil(error.retryAfterMs / 1000);
  return new ModelCallError(
    error.kind,
    `${error.message} (server asked to retry after ${asked} s, longer than the ${capMs / 1000} s cap)`,
    error.status,
    error.retryAfterMs,
  );
}
