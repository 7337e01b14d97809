import type { TestScheduler } from 'rxjs/testing';

/**
 * An async iterable as pullMerge sees it, with each pull's virtual frame logged. Its `next`
 * settles synchronously (a thenable, not a Promise): pullMerge awaits every pull, and a real
 * Promise would settle only after virtual time has been flushed, so no pull would be seen.
 * `failWith`, when given, is thrown by the pull after the last item (a file found unusable).
 */
export function pulledInVirtualTime<T>(scheduler: TestScheduler, items: T[], failWith?: unknown) {
  const pulls: number[] = [];
  let closed = false;
  let i = 0;
  const iterable: AsyncIterable<T> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        pulls.push(scheduler.now());
        const step: IteratorResult<T> = i < items.length ? { done: false, value: items[i++]! } : { done: true, value: undefined };
        const fails = step.done && failWith !== undefined;
        return { then: (settle: (s: IteratorResult<T>) => unknown, fail: (e: unknown) => unknown) => (fails ? fail(failWith) : settle(step)) } as unknown as Promise<IteratorResult<T>>;
      },
      return: () => {
        closed = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  return { iterable, pulls, closed: () => closed };
}
