import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adoptCeiling, emptyPaceState, intervalOf, learnInto, parsePaceState, reserveSlot, speedUp, type PaceState } from '../../src/queue/paceState.js';

const tuning = { headroom: 1, quotaResetThresholdMs: 15 * 60_000 };

function paced(perMin: number, t = tuning): PaceState {
  const s = emptyPaceState();
  adoptCeiling(s, perMin, t);
  return s;
}

describe('paceState', () => {
  it('never hands out two slots closer than the spacing, whoever asks when (any order of CAS winners)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 2, maxLength: 60 }), (nows) => {
        const s = paced(1200);
        const slots = nows.map((now) => reserveSlot(s, now));
        for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(50);
        // And none before its asker's own time.
        slots.forEach((slot, i) => expect(slot).toBeGreaterThanOrEqual(nows[i]!));
      }),
    );
  });

  it('puts no slot inside a pause, and spaces the ones after it', () => {
    const s = paced(600);
    s.pausedUntil = 5000;
    expect([reserveSlot(s, 1000), reserveSlot(s, 1001), reserveSlot(s, 1002)]).toEqual([5000, 5100, 5200]);
  });

  it('does not space at all while no limit is known', () => {
    const s = emptyPaceState();
    expect(intervalOf(s)).toBe(0);
    expect([reserveSlot(s, 10), reserveSlot(s, 10), reserveSlot(s, 11)]).toEqual([10, 10, 11]);
  });

  it('cuts the rate by a quarter once for a 429 and its echoes, and pauses until Retry-After', () => {
    const s = paced(1200);
    learnInto(s, 1000, { status: 429, retryAfterMs: 500, sentAt: 990 }, 0, tuning);
    expect(s.ratePerMin).toBe(900);
    expect(s.pausedUntil).toBe(1500);
    // Echoes: calls sent before the cut.
    learnInto(s, 1010, { status: 429, retryAfterMs: 500, sentAt: 995 }, 0, tuning);
    learnInto(s, 1020, { status: 429, retryAfterMs: 500, sentAt: 999 }, 0, tuning);
    expect(s.ratePerMin).toBe(900);
    expect(s.lastCutAt).toBe(1000);
    // A call sent after the cut that still gets a 429: a new congestion event.
    learnInto(s, 2000, { status: 429, retryAfterMs: 500, sentAt: 1600 }, 0, tuning);
    expect(s.ratePerMin).toBe(675);
  });

  it("adopts the server's lower limit per its window (read off the reset), as a per-minute rate", () => {
    const s = paced(3600, { ...tuning, headroom: 0.95 });
    learnInto(s, 0, { status: 200, limit: 40, remaining: 30, resetAtMs: 2000 }, 0, tuning);
    // 40 per 2 s = 1200 a minute.
    expect(s.windowMs).toBe(2000);
    expect(s.ceilingPerMin).toBe(1200);
  });

  it('pauses until the reset when nothing is left in the window, counting this worker\'s calls since', () => {
    const s = paced(1200);
    learnInto(s, 100, { status: 200, limit: 600, remaining: 2, resetAtMs: 4000, sentAt: 90 }, 2, tuning);
    expect(s.pausedUntil).toBe(4000);
    const t = paced(1200);
    learnInto(t, 100, { status: 200, limit: 600, remaining: 2, resetAtMs: 4000, sentAt: 90 }, 1, tuning);
    expect(t.pausedUntil).toBe(0);
  });

  it('records an exhausted quota when the wait is beyond the threshold', () => {
    const s = paced(1200);
    const out = learnInto(s, 0, { status: 429, retryAfterMs: 3 * 3600_000, resetAtMs: 3 * 3600_000 }, 0, tuning);
    expect(out.exhausted).toEqual({ resetAtMs: 3 * 3600_000 });
    expect(s.exhaustedUntil).toBe(3 * 3600_000);
  });

  it('learns a limit from a bare 429 with nothing known: a quarter below the pace it was going', () => {
    const s = emptyPaceState();
    for (let t = 1000; t < 3000; t += 20) reserveSlot(s, t); // 100 calls in 2 s: 3000 a minute
    learnInto(s, 3000, { status: 429 }, 0, tuning);
    expect(s.ceilingPerMin).toBe(3000);
    expect(s.ratePerMin).toBe(2250);
    // No wait named: a blind pause of a second.
    expect(s.pausedUntil).toBe(4000);
  });

  it('climbs back with successes, never past the ceiling less headroom', () => {
    const t = { ...tuning, headroom: 0.9 };
    const s = paced(60, t);
    s.ratePerMin = 30;
    speedUp(s, 1, t);
    expect(s.ratePerMin).toBeCloseTo(30 + 1 / 30);
    speedUp(s, 100_000, t);
    expect(s.ratePerMin).toBe(54);
  });

  it('reads back what it writes, and starts afresh from anything else', () => {
    const s = paced(1200);
    s.pausedUntil = 123;
    expect(parsePaceState(JSON.stringify(s))).toEqual(s);
    expect(parsePaceState('not json')).toEqual(emptyPaceState());
    expect(parsePaceState('{"v":2}')).toEqual(emptyPaceState());
  });
});
