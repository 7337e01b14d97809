import { type Observable, tap } from 'rxjs';

/** How a pipeline ended for the command awaiting it; `last` is its last value, if any. */
export type Done<T> = { interrupted: true } | { interrupted: false; last: T | undefined };

/**
 * The one bridge from a pipeline (cold, cancelled by unsubscription) to the promise a command
 * awaits (cancelled by an AbortSignal, i.e. Ctrl-C). Resolves when the stream completes, or as
 * `interrupted` when `signal` aborts: it unsubscribes first, so every call in flight is cancelled
 * and the recorder writes its run as interrupted before the command goes on. Rejects with the
 * stream's error. A signal already aborted never subscribes, so no model is asked after Ctrl-C.
 *
 * ```
 * source:  --a--b--|          --a--#          --a--(abort)
 * result:  { last: b }        rejects         { interrupted }  (source unsubscribed)
 * ```
 */
export function untilDone<T>(source: Observable<T>, signal?: AbortSignal): Promise<Done<T>> {
  return new Promise<Done<T>>((resolve, reject) => {
    if (signal?.aborted) return resolve({ interrupted: true });
    // Kept so the result can name the last value without the caller keeping closure state.
    let last: T | undefined;
    const onAbort = () => {
      subscription.unsubscribe();
      resolve({ interrupted: true });
    };
    // The listener goes once the stream has ended: a long-lived signal must not keep a dead run alive.
    const stopListening = () => signal?.removeEventListener('abort', onAbort);
    const subscription = source.pipe(tap((value) => (last = value))).subscribe({
      error: (error: unknown) => {
        stopListening();
        reject(error);
      },
      complete: () => {
        stopListening();
        resolve({ interrupted: false, last });
      },
    });
    // A stream that ended synchronously has nothing left to cancel.
    if (!subscription.closed) signal?.addEventListener('abort', onAbort, { once: true });
  });
}
