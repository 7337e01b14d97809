import { Observable, Subject, delay, firstValueFrom, map, of, timer, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { pullMerge } from '../../src/operators/pullMerge.js';

async function* counted(n: number, pulled: { count: number }) {
  for (let i = 0; i < n; i++) {
    pulled.count++;
    yield i;
  }
}

describe('pullMerge', () => {
  it('maps every item and completes', async () => {
    const pulled = { count: 0 };
    const out = await firstValueFrom(pullMerge(counted(5, pulled), (x) => of(x * 10), { concurrency: 2 }).pipe(toArray()));
    expect(out.sort((a, b) => a - b)).toEqual([0, 10, 20, 30, 40]);
  });

  it('pulls an item only when a slot is free', async () => {
    const pulled = { count: 0 };
    const gates = Array.from({ length: 6 }, () => new Subject<number>());
    const results: number[] = [];
    const done = new Promise<void>((resolve) =>
      pullMerge(counted(6, pulled), (i) => gates[i]!, { concurrency: 2 }).subscribe({ next: (v) => results.push(v), complete: resolve }),
    );
    await new Promise((r) => setImmediate(r));
    expect(pulled.count).toBe(2);
    gates[0]!.next(0);
    gates[0]!.complete();
    await new Promise((r) => setImmediate(r));
    expect(pulled.count).toBe(3);
    for (const [i, g] of gates.entries()) {
      g.next(i);
      g.complete();
      await new Promise((r) => setImmediate(r));
    }
    await done;
    expect(pulled.count).toBe(6);
    expect(new Set(results)).toEqual(new Set([0, 1, 2, 3, 4, 5]));
  });

  it('stops pulling, closes the source and cancels running work when unsubscribed', async () => {
    let closedSource = false;
    let cancelled = 0;
    async function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closedSource = true;
      }
    }
    const sub = pullMerge(source(), () => new Observable<number>(() => () => cancelled++), { concurrency: 3 }).subscribe();
    await new Promise((r) => setImmediate(r));
    sub.unsubscribe();
    await new Promise((r) => setImmediate(r));
    expect(cancelled).toBe(3);
    expect(closedSource).toBe(true);
  });

  it('passes on an error from the source or a project', async () => {
    async function* broken() {
      yield 1;
      throw new Error('disk gone');
    }
    await expect(firstValueFrom(pullMerge(broken(), (x) => of(x), { concurrency: 1 }).pipe(toArray()))).rejects.toThrow('disk gone');
    await expect(firstValueFrom(pullMerge(counted(3, { count: 0 }), () => timer(1).pipe(map(() => { throw new Error('bad chunk'); })), { concurrency: 2 }))).rejects.toThrow('bad chunk');
  });

  it('works with concurrency 1 and asynchronous projects, in order', async () => {
    const out = await firstValueFrom(pullMerge(counted(4, { count: 0 }), (x) => of(x).pipe(delay(1)), { concurrency: 1 }).pipe(toArray()));
    expect(out).toEqual([0, 1, 2, 3]);
  });

  it('rejects a concurrency below 1', () => {
    expect(() => pullMerge(counted(1, { count: 0 }), (x) => of(x), { concurrency: 0 })).toThrow(/integer ≥ 1, got 0/);
  });
});
