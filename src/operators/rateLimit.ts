import { type MonoTypeOperatorFunction, catchError, concatMap, tap, throwError } from 'rxjs';
import type { Limiter } from '../ratelimit/limiter.js';
import type { RateLimitInfo } from '../ratelimit/rateLimiter.js';
import { ModelCallError } from '../errors.js';
import type { RateLimitHeaders } from '../types.js';

/**
 * Holds one model call back until the shared limiter grants it a slot, then subscribes to it,
 * and teaches the limiter from its outcome: an answer's `rateLimit` headers (`RawAnswer`), a
 * `ModelCallError`'s 429, Retry-After and headers. Put it inside the retry loop and outside
 * the call's timeout, so every attempt waits for its own slot and the wait does not count
 * against the timeout:
 *
 * ```ts
 * defer(() => attempt()).pipe(timeoutCall({ ms }), rateLimit(limiter, model), retryBackoff())
 * ```
 *
 * When the limiter's quota is gone, the call fails with `QuotaExhaustedError`, as does a 429
 * that told the limiter so; the pipeline should stop on it rather than record a failure.
 *
 * ```
 * three calls, each:        -a|
 * rateLimit (3 per 300 ms): -a|
 *                           100ms -a|
 *                           200ms -a|
 * ```
 */
export function rateLimit<T>(limiter: Limiter, model: string): MonoTypeOperatorFunction<T> {
  if (typeof model !== 'string' || model === '') throw new RangeError(`Expected a model id, got ${JSON.stringify(model)}`);
  return (source) =>
    limiter.acquire(model).pipe(
      concatMap(() => {
        // When this attempt's slot came: `remaining` counts and 429 echoes are judged by it.
        const sentAt = limiter.now();
        return source.pipe(
          tap({
            next: (value) => limiter.learn(model, { ...headersOf(value), status: 200, sentAt }),
            error: (error: unknown) => {
              const info = infoOf(error);
              if (info) limiter.learn(model, { ...info, sentAt });
            },
          }),
          catchError((error: unknown) =>
            throwError(() => (limiter.exhausted && infoOf(error)?.status === 429 ? limiter.exhausted : error)),
          ),
        );
      }),
    );
}

/** The `rateLimit` headers an answer carries (`RawAnswer.rateLimit`), if any. */
function headersOf(value: unknown): RateLimitHeaders | undefined {
  const headers = value !== null && typeof value === 'object' ? (value as { rateLimit?: unknown }).rateLimit : undefined;
  return headers !== null && typeof headers === 'object' ? (headers as RateLimitHeaders) : undefined;
}

/** What a failed call tells the limiter: a 429, or any error response that carried headers. */
function infoOf(error: unknown): RateLimitInfo | undefined {
  if (!(error instanceof ModelCallError)) return undefined;
  const limited = error.kind === 'rate_limited' || error.status === 429;
  if (!limited && !error.rateLimit) return undefined;
  return {
    ...error.rateLimit,
    ...(limited ? { status: 429 } : error.status !== undefined ? { status: error.status } : {}),
    ...(limited && error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
  };
}
