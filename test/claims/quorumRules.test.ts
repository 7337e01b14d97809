import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultMinResponders, defaultQuorum, requiredVotes, validateMinResponders, validateQuorum } from '../../src/claims/quorumRules.js';
import { UsageError } from '../../src/errors.js';

describe('defaults', () => {
  it('requires 6 of 8 votes and 5 of 8 responders by default', () => {
    expect(defaultQuorum(8)).toBe(6);
    expect(defaultMinResponders(8)).toBe(5);
  });

  it('rounds the default quorum up and the strict majority correctly for small panels', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(defaultQuorum)).toEqual([1, 2, 3, 3, 4, 5, 6]);
    expect([1, 2, 3, 4, 5, 6, 7].map(defaultMinResponders)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });
});

describe('validateQuorum', () => {
  it('accepts every integer from 1 to N', () => {
    for (let q = 1; q <= 8; q++) expect(validateQuorum(q, 8)).toBe(q);
  });

  it('rejects a quorum outside 1..N with a usage error that says what came', () => {
    expect(() => validateQuorum(9, 8)).toThrow(new UsageError('Expected --quorum to be an integer from 1 to 8, got 9'));
    expect(() => validateQuorum(0, 8)).toThrow(UsageError);
    expect(() => validateQuorum(2.5, 8)).toThrow('got 2.5');
    expect(() => validateQuorum(Number.NaN, 8)).toThrow('got NaN');
    expect(() => validateQuorum('6', 8)).toThrow('got "6"');
  });

  it('rejects a minimum number of responders outside 1..N', () => {
    expect(validateMinResponders(5, 8)).toBe(5);
    expect(() => validateMinResponders(9, 8)).toThrow(UsageError);
  });
});

describe('requiredVotes', () => {
  it('requires the configured quorum when every port answers', () => {
    expect(requiredVotes({ configured: 6, responders: 8, panel: 8 })).toEqual({ status: 'consensus', required: 6 });
  });

  it('drops to a degraded quorum of ceil(q·r/N) when a port fails', () => {
    expect(requiredVotes({ configured: 6, responders: 7, panel: 8 })).toEqual({ status: 'degraded', required: 6 });
    expect(requiredVotes({ configured: 6, responders: 6, panel: 8 })).toEqual({ status: 'degraded', required: 5 });
    expect(requiredVotes({ configured: 6, responders: 5, panel: 8 })).toEqual({ status: 'degraded', required: 4 });
  });

  it('loses the quorum below a strict majority of responders', () => {
    expect(requiredVotes({ configured: 6, responders: 4, panel: 8 })).toEqual({ status: 'quorum_lost', required: 3 });
    expect(requiredVotes({ configured: 6, responders: 0, panel: 8 })).toEqual({ status: 'quorum_lost', required: 1 });
  });

  it('honours a configured minimum of responders', () => {
    expect(requiredVotes({ configured: 6, responders: 4, panel: 8, minResponders: 4 }).status).toBe('degraded');
    expect(requiredVotes({ configured: 6, responders: 6, panel: 8, minResponders: 7 }).status).toBe('quorum_lost');
  });

  it('treats a panel of one as consensus when it answers and lost when it does not', () => {
    expect(requiredVotes({ configured: 1, responders: 1, panel: 1 })).toEqual({ status: 'consensus', required: 1 });
    expect(requiredVotes({ configured: 1, responders: 0, panel: 1 })).toEqual({ status: 'quorum_lost', required: 1 });
  });

  it('never asks more votes than there are responders, even for a unanimous quorum', () => {
    expect(requiredVotes({ configured: 8, responders: 5, panel: 8 })).toEqual({ status: 'degraded', required: 5 });
  });

  it('rejects impossible inputs', () => {
    expect(() => requiredVotes({ configured: 9, responders: 8, panel: 8 })).toThrow(UsageError);
    expect(() => requiredVotes({ configured: 6, responders: 9, panel: 8 })).toThrow(RangeError);
    expect(() => requiredVotes({ configured: 1, responders: 0, panel: 0 })).toThrow(RangeError);
  });

  const setting = fc
    .integer({ min: 1, max: 64 })
    .chain((panel) =>
      fc.record({
        panel: fc.constant(panel),
        configured: fc.integer({ min: 1, max: panel }),
        minResponders: fc.integer({ min: 1, max: panel }),
        responders: fc.integer({ min: 0, max: panel }),
      }),
    );

  it('requires at least one vote and never more than the responders unless the quorum is lost', () => {
    fc.assert(
      fc.property(setting, (s) => {
        const { status, required } = requiredVotes(s);
        expect(required).toBeGreaterThanOrEqual(1);
        expect(required).toBeLessThanOrEqual(s.configured);
        if (status !== 'quorum_lost') expect(required).toBeLessThanOrEqual(s.responders);
        expect(status === 'quorum_lost').toBe(s.responders < s.minResponders);
        expect(status === 'consensus').toBe(s.responders === s.panel);
      }),
    );
  });

  it('is monotone in the number of responders', () => {
    const rank = { quorum_lost: 0, degraded: 1, consensus: 2 } as const;
    fc.assert(
      fc.property(setting, (s) => {
        if (s.responders === s.panel) return;
        const fewer = requiredVotes(s);
        const more = requiredVotes({ ...s, responders: s.responders + 1 });
        expect(more.required).toBeGreaterThanOrEqual(fewer.required);
        expect(rank[more.status]).toBeGreaterThanOrEqual(rank[fewer.status]);
      }),
    );
  });

  it('keeps the same share of the answers as the configured quorum is of the panel', () => {
    fc.assert(
      fc.property(setting, (s) => {
        const { required } = requiredVotes(s);
        if (s.responders === 0) return;
        // q' is the least whole number of votes with q'/r ≥ q/N.
        expect(required * s.panel).toBeGreaterThanOrEqual(s.configured * s.responders);
        expect((required - 1) * s.panel).toBeLessThan(s.configured * s.responders);
      }),
    );
  });
});
