import { type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { scatter } from '../../src/operators/scatter.js';
import type { ModelOutcome, PanelMember } from '../../src/types.js';
import { members, newScheduler, ok } from '../helpers/marbles.js';

describe('scatter', () => {
  const panel = members(3);

  it('calls every port at once and emits outcomes as they arrive', () => {
    newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const calls = [cold('---a|', { a: ok(panel[0]!) }), cold('-b|', { b: ok(panel[1]!) }), cold('--c|', { c: ok(panel[2]!) })];
      const request = hot('x|');
      const out = request.pipe(scatter(panel, (m: PanelMember) => calls[m.port] as Observable<ModelOutcome>));
      expectObservable(out).toBe('-bca|', { a: ok(panel[0]!), b: ok(panel[1]!), c: ok(panel[2]!) });
      expectSubscriptions(calls[0]!.subscriptions).toBe('^---!');
      expectSubscriptions(calls[1]!.subscriptions).toBe('^-!');
      expectSubscriptions(calls[2]!.subscriptions).toBe('^--!');
    });
  });

  it('with concurrency 1 calls the ports one after another', () => {
    newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const calls = [cold('---a|', { a: ok(panel[0]!) }), cold('-b|', { b: ok(panel[1]!) }), cold('--c|', { c: ok(panel[2]!) })];
      const out = hot('x|').pipe(scatter(panel, (m) => calls[m.port]!, { concurrency: 1 }));
      expectObservable(out).toBe('---a-b--c|', { a: ok(panel[0]!), b: ok(panel[1]!), c: ok(panel[2]!) });
      expectSubscriptions(calls[0]!.subscriptions).toBe('^---!');
      expectSubscriptions(calls[1]!.subscriptions).toBe('----^-!');
      expectSubscriptions(calls[2]!.subscriptions).toBe('------^--!');
    });
  });

  it('with concurrency 2 keeps two calls in flight', () => {
    newScheduler().run(({ cold, hot, expectSubscriptions }) => {
      const calls = [cold<ModelOutcome>('----a|'), cold<ModelOutcome>('-b|'), cold<ModelOutcome>('--c|')];
      hot('x|').pipe(scatter(panel, (m) => calls[m.port]!, { concurrency: 2 })).subscribe();
      expectSubscriptions(calls[0]!.subscriptions).toBe('^----!');
      expectSubscriptions(calls[1]!.subscriptions).toBe('^-!');
      expectSubscriptions(calls[2]!.subscriptions).toBe('--^--!');
    });
  });

  it('cancels every call in flight when unsubscribed', () => {
    newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const calls = panel.map(() => cold<ModelOutcome>('-----a|'));
      expectObservable(hot('x|').pipe(scatter(panel, (m) => calls[m.port]!)), '^--!').toBe('---');
      for (const c of calls) expectSubscriptions(c.subscriptions).toBe('^--!');
    });
  });

  it('rejects an empty panel and a bad concurrency when created', () => {
    expect(() => scatter([], () => undefined as never)).toThrow(/at least one member/);
    expect(() => scatter(panel, () => undefined as never, { concurrency: 0 })).toThrow(/integer ≥ 1, got 0/);
  });
});
