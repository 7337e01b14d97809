import { describe, expect, it } from 'vitest';
import { cutStragglers } from '../../src/operators/cutStragglers.js';
import type { ModelOutcome } from '../../src/types.js';
import { failed, members, newScheduler, ok } from '../helpers/marbles.js';

describe('cutStragglers', () => {
  const panel = members(3);
  const [m0, m1, m2] = panel as [typeof panel[0], typeof panel[0], typeof panel[0]];
  const values = { a: ok(m0), b: ok(m1), c: ok(m2) };

  it('waits as long as reaching quorum took, then cancels the rest', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const outcomes = cold<ModelOutcome>('-a-b----------c|', values);
      const cancelled = { ...failed(m2, 'cancelled', 6), message: 'cut as a straggler after quorum was reached' };
      // Quorum (2) at frame 3, so grace is 3 frames: the cut comes at frame 6.
      expectObservable(outcomes.pipe(cutStragglers({ members: panel, needed: 2 }))).toBe('-a-b--(C|)', { ...values, C: cancelled });
      expectSubscriptions(outcomes.subscriptions).toBe('^-----!');
    });
  });

  it('keeps a straggler that answers within the grace period', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const outcomes = cold<ModelOutcome>('-a-b-c|', values);
      expectObservable(outcomes.pipe(cutStragglers({ members: panel, needed: 2 }))).toBe('-a-b-c|', values);
    });
  });

  it('uses an explicit grace period', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const outcomes = cold<ModelOutcome>('ab-----c|', values);
      const out = outcomes.pipe(cutStragglers({ members: panel, needed: 2, graceMs: 10 }));
      expectObservable(out).toBe('ab-----c|', values);
    });
  });

  it('with grace -1 waits for every port', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const outcomes = cold<ModelOutcome>('ab 100ms c|', values);
      expectObservable(outcomes.pipe(cutStragglers({ members: panel, needed: 2, graceMs: -1 }))).toBe('ab 100ms c|', values);
    });
  });

  it('does not start the grace period on failures: waits while quorum is still possible', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const f = failed(m0, 'timeout');
      const outcomes = cold<ModelOutcome>('f-b 20ms c|', { ...values, f });
      expectObservable(outcomes.pipe(cutStragglers({ members: panel, needed: 2 }))).toBe('f-b 20ms c|', { ...values, f });
    });
  });

  it('rejects a needed count below 1 and a negative grace other than -1', () => {
    expect(() => cutStragglers({ members: panel, needed: 0 })).toThrow(/needed to be an integer ≥ 1, got 0/);
    expect(() => cutStragglers({ members: panel, needed: 1, graceMs: -5 })).toThrow(/got -5/);
  });
});
