import type { Observable } from 'rxjs';
import type { QuotaExhaustedError, RateLimiterStats, RateLimitInfo } from './rateLimiter.js';

/**
 * What the `rateLimit` operator and `portCall` need from a limiter: the local `RateLimiter`
 * (one process) and the queue's `SharedPacer` (workers sharing one account over NATS) both
 * provide it, so the pipelines do not know which one paces them.
 */
export interface Limiter {
  /**
   * A slot for one call to `model`: cold, emits once and completes when the call may start;
   * unsubscribing earlier takes nothing. Errors with {@link QuotaExhaustedError} once the quota is gone.
   */
  acquire(model: string): Observable<void>;
  /** Learns from one response: a 429, `X-RateLimit-*` headers, a success. */
  learn(model: string, info: RateLimitInfo): void;
  /** The limiter's clock, in ms; `RateLimitInfo.sentAt` and `resetAtMs` are read on it. */
  now(): number;
  /** The error every acquire fails with once the quota is gone; undefined until then. */
  readonly exhausted: QuotaExhaustedError | undefined;
  /** A wait longer than this (ms) means the quota is gone; `portCall` caps Retry-After retries by it. */
  readonly quotaResetThresholdMs: number;
  stats(): RateLimiterStats;
}
