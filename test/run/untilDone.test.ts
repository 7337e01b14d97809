import { getEventListeners } from 'node:events';
import { NEVER, Observable, Subject, of, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { untilDone } from '../../src/run/untilDone.js';

describe('untilDone', () => {
  it('resolves with the last value when the stream completes', async () => {
    await expect(untilDone(of(1, 2, 3))).resolves.toEqual({ interrupted: false, last: 3 });
  });

  it('resolves with no value for a stream that completes empty', async () => {
    await expect(untilDone(of())).resolves.toEqual({ interrupted: false, last: undefined });
  });

  it("rejects with the stream's error", async () => {
    await expect(untilDone(throwError(() => new Error('quota spent')))).rejects.toThrow('quota spent');
  });

  it('on abort unsubscribes (cancelling the work in flight) and resolves as interrupted', async () => {
    const controller = new AbortController();
    let cancelled = false;
    const work = new Observable<number>((subscriber) => {
      subscriber.next(1);
      return () => (cancelled = true);
    });
    const done = untilDone(work, controller.signal);
    expect(cancelled).toBe(false);
    controller.abort();
    await expect(done).resolves.toEqual({ interrupted: true });
    expect(cancelled).toBe(true);
  });

  it('never subscribes when the signal was aborted before', async () => {
    const controller = new AbortController();
    controller.abort();
    let subscribed = false;
    const done = untilDone(new Observable(() => void (subscribed = true)), controller.signal);
    await expect(done).resolves.toEqual({ interrupted: true });
    expect(subscribed).toBe(false);
  });

  it('lets go of the signal once the stream has ended, so a long-lived signal holds no finished run', async () => {
    const controller = new AbortController();
    const source = new Subject<number>();
    const done = untilDone(source, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    source.next(7);
    source.complete();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expect(done).resolves.toEqual({ interrupted: false, last: 7 });
  });

  it('keeps waiting while the stream runs and the signal is quiet', async () => {
    const controller = new AbortController();
    const done = untilDone(NEVER, controller.signal);
    const settled = await Promise.race([done.then(() => 'settled'), Promise.resolve('pending')]);
    expect(settled).toBe('pending');
    controller.abort();
    await expect(done).resolves.toEqual({ interrupted: true });
  });
});
