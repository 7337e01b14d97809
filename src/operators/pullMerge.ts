import { Observable, type Subscription } from 'rxjs';

export interface PullMergeOptions {
  /** Most inner observables running at once; the source is pulled only when one finishes. */
  concurrency: number;
}

/**
 * `mergeMap` over an async iterable, with backpressure: an item is pulled only when fewer than
 * `concurrency` projects are running. `from(asyncIterable).pipe(mergeMap(…, k))` would drain the
 * whole source into mergeMap's buffer; this holds at most `concurrency` items, so 10,000 chunks
 * of a batch never sit in memory at once. Unsubscribing stops pulling, closes the iterator and
 * cancels the running projects.
 *
 * ```
 * source (pulled):  a b . . c        (c pulled when a's project completes)
 * project(x):       --X|
 * pullMerge(k=2):   --A-B-C|
 * ```
 */
export function pullMerge<T, R>(source: AsyncIterable<T>, project: (item: T, index: number) => Observable<R>, { concurrency }: PullMergeOptions): Observable<R> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`Expected concurrency to be an integer ≥ 1, got ${concurrency}`);
  return new Observable<R>((subscriber) => {
    const iterator = source[Symbol.asyncIterator]();
    const running = new Set<Subscription>();
    let index = 0;
    // One pull at a time: async iterators must not be asked for `next` concurrently.
    let pulling = false;
    let exhausted = false;
    let closed = false;

    const finishIfDone = () => {
      if (exhausted && running.size === 0 && !pulling && !closed) {
        closed = true;
        subscriber.complete();
      }
    };

    const pump = (): void => {
      if (closed || pulling || exhausted || running.size >= concurrency) return;
      pulling = true;
      iterator.next().then(
        (step) => {
          pulling = false;
          if (closed) return;
          if (step.done) {
            exhausted = true;
            finishIfDone();
            return;
          }
          let inner: Observable<R>;
          try {
            inner = project(step.value, index++);
          } catch (error) {
            fail(error);
            return;
          }
          let sync = true;
          let done = false;
          const sub = inner.subscribe({
            next: (value) => subscriber.next(value),
            error: (error: unknown) => fail(error),
            complete: () => {
              done = true;
              // A synchronous completion happens before `sub` exists; it was never added.
              if (!sync) {
                running.delete(sub);
                finishIfDone();
                pump();
              }
            },
          });
          sync = false;
          if (!done) running.add(sub);
          finishIfDone();
          pump();
        },
        (error: unknown) => {
          pulling = false;
          fail(error);
        },
      );
    };

    const fail = (error: unknown) => {
      if (closed) return;
      closed = true;
      subscriber.error(error);
    };

    pump();
    return () => {
      closed = true;
      for (const sub of running) sub.unsubscribe();
      running.clear();
      // Lets a file-reading generator close its stream; its result does not matter here.
      void iterator.return?.().catch(() => undefined);
    };
  });
}
