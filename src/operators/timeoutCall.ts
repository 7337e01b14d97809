import { type MonoTypeOperatorFunction, type Observable, type SchedulerLike, asyncScheduler, throwError, timeout } from 'rxjs';
import { ModelCallError } from '../errors.js';

export interface TimeoutCallOptions {
  /** Longest one attempt may take from subscription to its answer, in ms. */
  ms: number;
  /** Scheduler for the timer; tests pass a TestScheduler (or rely on run mode). */
  scheduler?: SchedulerLike;
}

/**
 * Fails an attempt that has not answered within `ms` with a `ModelCallError` of kind
 * `timeout`. Unsubscribing from the attempt on timeout aborts its request (see `abortable`).
 *
 * ```
 * source:            ------a|
 * timeoutCall(3ms):  ---#          (# = ModelCallError('timeout'))
 * ```
 */
export function timeoutCall<T>({ ms, scheduler = asyncScheduler }: TimeoutCallOptions): MonoTypeOperatorFunction<T> {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(`Expected timeout to be a positive number of ms, got ${ms}`);
  }
  return timeout<T, Observable<never>>({
    first: ms,
    scheduler,
    with: () => throwError(() => new ModelCallError('timeout', `no answer within ${ms} ms`)),
  });
}
