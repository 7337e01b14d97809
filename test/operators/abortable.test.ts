import { firstValueFrom, lastValueFrom, Subject, takeUntil, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { abortable } from '../../src/operators/abortable.js';

/** A call that hands out its signal and settles when the test says so. */
function deferredCall<T>() {
  let signal: AbortSignal | undefined;
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const call = (s: AbortSignal) => {
    signal = s;
    return new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
  };
  return { call, signal: () => signal!, resolve: (v: T) => resolve(v), reject: (e: unknown) => reject(e) };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('abortable', () => {
  it('emits the resolved value, completes, and leaves the finished call\'s signal alone', async () => {
    const d = deferredCall<string>();
    const values: string[] = [];
    let completed = false;
    const subscription = abortable(d.call).subscribe({ next: (v) => values.push(v), complete: () => (completed = true) });
    d.resolve('a');
    await tick();
    expect(values).toEqual(['a']);
    expect(completed).toBe(true);
    // Completion ran the teardown; an explicit unsubscribe afterwards must not abort either.
    subscription.unsubscribe();
    expect(d.signal().aborted).toBe(false);
  });

  it('does not abort a call that rejected', async () => {
    const d = deferredCall<string>();
    const failure = new Error('boom');
    const result = lastValueFrom(abortable(d.call)).catch((e: unknown) => e);
    d.reject(failure);
    expect(await result).toBe(failure);
    expect(d.signal().aborted).toBe(false);
  });

  it('aborts the call when unsubscribed before it settled, and emits nothing after', async () => {
    const d = deferredCall<string>();
    const values: string[] = [];
    const subscription = abortable(d.call).subscribe((v) => values.push(v));
    await tick();
    expect(d.signal().aborted).toBe(false);
    subscription.unsubscribe();
    expect(d.signal().aborted).toBe(true);
    d.resolve('late');
    await tick();
    expect(values).toEqual([]);
  });

  it('aborts an in-flight call cut by an operator downstream (takeUntil)', async () => {
    const d = deferredCall<number>();
    const stop = new Subject<void>();
    const all = lastValueFrom(abortable(d.call).pipe(takeUntil(stop), toArray()));
    stop.next();
    expect(await all).toEqual([]);
    expect(d.signal().aborted).toBe(true);
  });

  it('is cold: every subscription makes its own call with its own signal', async () => {
    const signals: AbortSignal[] = [];
    const source = abortable(async (signal) => {
      signals.push(signal);
      return signals.length;
    });
    expect(await firstValueFrom(source)).toBe(1);
    expect(await firstValueFrom(source)).toBe(2);
    expect(signals[0]).not.toBe(signals[1]);
    expect(signals.map((s) => s.aborted)).toEqual([false, false]);
  });
});
