import { Observable } from 'rxjs';

/**
 * Turns a promise-returning call into a cold Observable whose unsubscription aborts the call.
 * This is how timeouts and straggler cuts reach the HTTP layer: unsubscribing aborts the
 * request, so no socket or retry outlives the stream that wanted it.
 *
 * ```
 * abortable(call):  ----a|        (call resolves)
 *                   ---!          (unsubscribed: signal aborted, nothing emitted)
 * ```
 */
export function abortable<T>(call: (signal: AbortSignal) => Promise<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const controller = new AbortController();
    call(controller.signal).then(
      (value) => {
        subscriber.next(value);
        subscriber.complete();
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => controller.abort();
  });
}
