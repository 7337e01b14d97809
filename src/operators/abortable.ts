import { Observable } from 'rxjs';

/**
 * Turns a promise-returning call into a cold Observable whose unsubscription aborts the call.
 * This is how timeouts and straggler cuts reach the HTTP layer: unsubscribing aborts the
 * request, so no socket or retry outlives the stream that wanted it.
 *
 * Only a call still in flight is aborted: once its promise settled, the teardown that every
 * completed subscription runs leaves the signal alone (aborting a finished call costs CPU for
 * nothing: listeners on the signal would run, `AbortError`s get built, per call).
 *
 * ```
 * abortable(call):  ----a|        (call resolves; signal not aborted)
 *                   ---!          (unsubscribed: signal aborted, nothing emitted)
 * ```
 */
export function abortable<T>(call: (signal: AbortSignal) => Promise<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const controller = new AbortController();
    let settled = false;
    call(controller.signal).then(
      (value) => {
        settled = true;
        subscriber.next(value);
        subscriber.complete();
      },
      (error: unknown) => {
        settled = true;
        subscriber.error(error);
      },
    );
    return () => {
      if (!settled) controller.abort();
    };
  });
}
