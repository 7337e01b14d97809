import fc from 'fast-check';
import { concatMap, firstValueFrom, lastValueFrom, mergeMap, range, timer, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { QuotaExhaustedError, RateLimiter, type RateLimiterOptions, type RateLimiterStats } from '../../src/ratelimit/rateLimiter.js';
import { createOpenAICall } from '../../src/models/openaiCall.js';
import { abortable } from '../../src/operators/abortable.js';
import { portCall } from '../../src/pipelines/portCall.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { ModelOutcome, PanelMember } from '../../src/types.js';
import { newScheduler } from '../helpers/marbles.js';

/** A call asking for a slot at `at` (virtual ms) for `model`; `granted` is filled in when it gets one. */
interface Ask {
  at: number;
  model?: string;
  granted?: number;
  error?: unknown;
}

/**
 * Runs `asks` against a limiter in virtual time; `during(limiter, time)` may learn at chosen
 * times. Returns the limiter's stats once the scheduler has run dry.
 */
function simulate(options: RateLimiterOptions, asks: Ask[], during: Array<[number, (limiter: RateLimiter) => void]> = []): RateLimiterStats {
  let stats: RateLimiterStats | undefined;
  newScheduler().run(({ flush }) => {
    const limiter = new RateLimiter(options);
    for (const ask of asks) {
      timer(ask.at)
        .pipe(concatMap(() => limiter.acquire(ask.model ?? 'm')))
        .subscribe({ next: () => (ask.granted = limiter.now()), error: (e: unknown) => (ask.error = e) });
    }
    for (const [at, act] of during) timer(at).subscribe(() => act(limiter));
    flush();
    // Read while the clock is still virtual.
    stats = limiter.stats();
  });
  return stats!;
}

const at = (...times: number[]): Ask[] => times.map((t) => ({ at: t }));

describe('RateLimiter', () => {
  it('says what was expected when an option is out of range', () => {
    expect(() => new RateLimiter({ account: { requests: 0, windowMs: 1000 } })).toThrow('Expected account.requests to be an integer ≥ 1, got 0');
    expect(() => new RateLimiter({ perModel: { requests: 5, windowMs: -1 } })).toThrow('Expected perModel.windowMs to be a positive number of ms, got -1');
    expect(() => new RateLimiter({ headroom: 1.5 })).toThrow('Expected headroom to be in (0, 1], got 1.5');
  });

  it('grants at once when no limit is known', () => {
    const asks = at(0, 0, 0, 5);
    simulate({}, asks);
    expect(asks.map((a) => a.granted)).toEqual([0, 0, 0, 5]);
  });

  it('serves waiting calls first come, first served', () => {
    const asks = at(0, 1, 2, 3);
    simulate({ account: { requests: 2, windowMs: 100 }, headroom: 1 }, asks);
    expect(asks.map((a) => a.granted)).toEqual([0, 50, 100, 150]);
  });

  it('keeps both the account and the per-model limit', () => {
    const asks: Ask[] = [
      { at: 0, model: 'x' },
      { at: 0, model: 'x' },
      { at: 0, model: 'y' },
      { at: 0, model: 'y' },
    ];
    // Account: one per 10 ms; each model: one per 100 ms. The second y need not wait for the second x.
    simulate({ account: { requests: 10, windowMs: 100 }, perModel: { requests: 1, windowMs: 100 }, headroom: 1 }, asks);
    expect(asks.map((a) => a.granted)).toEqual([0, 100, 10, 110]);
  });

  it('adopts a lower X-RateLimit-Limit from a successful answer', () => {
    const asks = at(0, 0, 0);
    const stats = simulate({ account: { requests: 20, windowMs: 1000 }, headroom: 1 }, asks, [
      [1, (l) => l.learn('m', { status: 200, limit: 10, remaining: 9, sentAt: 0 })],
    ]);
    // 50 ms apart at first; after the answer at 1 ms, 100 ms apart.
    expect(asks.map((a) => a.granted)).toEqual([0, 100, 200]);
    expect(stats.ratePerMinute).toBe(600);
  });

  it('never raises a configured limit to a higher X-RateLimit-Limit', () => {
    const stats = simulate({ account: { requests: 20, windowMs: 60_000 }, headroom: 1 }, [], [[0, (l) => l.learn('m', { status: 200, limit: 1000 })]]);
    expect(stats.ratePerMinute).toBe(20);
  });

  it('cuts the rate by a quarter on a bare 429, once per congestion, and pauses for Retry-After', () => {
    const asks = at(0, 0, 0);
    const stats = simulate({ account: { requests: 20, windowMs: 1000 }, headroom: 1 }, asks, [
      [60, (l) => l.learn('m', { status: 429, retryAfterMs: 100, sentAt: 0 })],
      // A second call sent before the cut gets its 429 too: an echo, not new congestion.
      [70, (l) => l.learn('m', { status: 429, retryAfterMs: 100, sentAt: 50 })],
    ]);
    // 0, 50; the third waits out the pause (the echo's Retry-After ends it at 70 + 100 ms).
    expect(asks.map((a) => a.granted)).toEqual([0, 50, 170]);
    expect(stats).toMatchObject({ rateLimited: 2, ratePerMinute: 15 * 60 });
  });

  it('cuts again for a 429 of a call sent after the last cut', () => {
    const stats = simulate({ account: { requests: 20, windowMs: 1000 }, headroom: 1 }, at(0), [
      [10, (l) => l.learn('m', { status: 429, retryAfterMs: 0, sentAt: 0 })],
      [300, (l) => l.learn('m', { status: 429, retryAfterMs: 0, sentAt: 200 })],
    ]);
    expect(stats.ratePerMinute).toBeCloseTo(20 * 0.75 * 0.75 * 60);
  });

  it('climbs back by about one call per window per window of successes, up to the configured rate', () => {
    const successes = (n: number, from: number): Array<[number, (l: RateLimiter) => void]> =>
      Array.from({ length: n }, (_, i) => [from + i, (l: RateLimiter) => l.learn('m', { status: 200 })]);
    const after15 = simulate({ account: { requests: 20, windowMs: 1000 }, headroom: 1 }, at(0), [
      [10, (l) => l.learn('m', { status: 429, retryAfterMs: 0, sentAt: 0 })],
      ...successes(15, 20),
    ]);
    expect(after15.ratePerMinute! / 60).toBeCloseTo(16, 0);
    const after500 = simulate({ account: { requests: 20, windowMs: 1000 }, headroom: 1 }, at(0), [
      [10, (l) => l.learn('m', { status: 429, retryAfterMs: 0, sentAt: 0 })],
      ...successes(500, 20),
    ]);
    expect(after500.ratePerMinute).toBe(20 * 60);
  });

  it('waits for the reset when an answer says nothing remains, counting calls granted since', () => {
    const asks = at(0, 0, 0, 0);
    simulate({ account: { requests: 100, windowMs: 1000 }, headroom: 1 }, asks, [
      // The first call's answer: 2 left, but two more calls have gone out since: wait for the reset.
      [25, (l) => l.learn('m', { status: 200, remaining: 2, resetAtMs: 500, sentAt: 0 })],
    ]);
    expect(asks.map((a) => a.granted)).toEqual([0, 10, 20, 500]);
  });

  it('learns a limit from a bare 429 when none is configured: a quarter below the pace it had', () => {
    const stats = simulate({ headroom: 1 }, at(0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000), [[75_000, (l) => l.learn('m', { status: 429 })]]);
    // 6 calls in the last (assumed 60 s) window were too many: 4.5 per minute from now on,
    // after a pause of one new spacing (13.3 s), as the 429 named no wait.
    expect(stats.ratePerMinute).toBeCloseTo(4.5);
    expect(stats.pausedUntil).toBeCloseTo(75_000 + 60_000 / 4.5);
  });

  it('measures the pace of a run younger than a window over its age, not a whole window', () => {
    const stats = simulate({ headroom: 1 }, at(0, 0, 500, 1000, 1500, 2000), [[2000, (l) => l.learn('m', { status: 429, retryAfterMs: 1000 })]]);
    // 6 calls in 2 s is 180 a minute; a quarter below: 135.
    expect(stats.ratePerMinute).toBeCloseTo(135);
  });

  it('reads the window off the reset when none is configured', () => {
    const stats = simulate({}, at(0), [[5, (l) => l.learn('m', { status: 200, limit: 5, remaining: 4, resetAtMs: 5 + 995, sentAt: 0 })]]);
    // 5 per 1 s (995 ms rounded up), with the default 0.95 headroom.
    expect(stats.ratePerMinute).toBeCloseTo(5 * 0.95 * 60);
  });

  it('pauses only that model when only per-model limits are configured', () => {
    const asks: Ask[] = [
      { at: 0, model: 'x' },
      { at: 20, model: 'x' },
      { at: 20, model: 'y' },
    ];
    simulate({ perModel: { requests: 10, windowMs: 100 }, headroom: 1 }, asks, [[10, (l) => l.learn('x', { status: 429, retryAfterMs: 90 })]]);
    expect(asks.map((a) => a.granted)).toEqual([0, 100, 20]);
  });

  it('stops every pending and later call when a 429 says the day quota is gone', () => {
    const resetAt = Date.UTC(2030, 0, 2);
    const asks = at(0, 0, 0, 50);
    const stats = simulate({ account: { requests: 1, windowMs: 100 }, headroom: 1 }, asks, [
      [10, (l) => l.learn('m', { status: 429, retryAfterMs: resetAt - 10, limit: 50, remaining: 0, resetAtMs: resetAt })],
    ]);
    expect(asks[0]?.granted).toBe(0);
    for (const ask of asks.slice(1)) {
      expect(ask.granted).toBeUndefined();
      expect(ask.error).toBeInstanceOf(QuotaExhaustedError);
    }
    expect((asks[1]?.error as Error).message).toBe(
      "The provider's request quota is used up (it resets at 2030-01-02T00:00:00.000Z). Re-run the same command with --resume after that to continue where this run stopped.",
    );
    expect(stats).toMatchObject({ exhausted: true, waiting: 0, granted: 1 });
  });

  it('treats an answer with nothing remaining until a far reset as the quota gone', () => {
    const asks = at(0, 0);
    simulate({}, asks, [[1, (l) => l.learn('m', { status: 200, remaining: 0, resetAtMs: 3_600_000 })]]);
    // Unlimited: both went at 0; the next would have been a 429.
    expect(asks.map((a) => a.granted)).toEqual([0, 0]);
    const later = at(5);
    simulate({}, later, [[1, (l) => l.learn('m', { status: 200, remaining: 0, resetAtMs: 3_600_000 })]]);
    expect(later[0]?.error).toBeInstanceOf(QuotaExhaustedError);
  });

  it('judges "far" by quotaResetThresholdMs, and says to resume once reset when it does not know when', () => {
    const soon = at(0, 0);
    simulate({ account: { requests: 1, windowMs: 10 }, headroom: 1, quotaResetThresholdMs: 60_000 }, soon, [
      [1, (l) => l.learn('m', { status: 429, retryAfterMs: 30_000 })],
    ]);
    expect(soon[1]?.granted).toBe(30_001);
    const far = at(0, 0);
    simulate({ account: { requests: 1, windowMs: 10 }, headroom: 1, quotaResetThresholdMs: 60_000 }, far, [
      [1, (l) => l.learn('m', { status: 429, retryAfterMs: 90_000 })],
    ]);
    expect((far[1]?.error as QuotaExhaustedError).resetAtMs).toBe(90_001);
    expect(new QuotaExhaustedError().message).toBe(
      "The provider's request quota is used up. Re-run the same command with --resume once it has reset to continue where this run stopped.",
    );
  });

  it('counts grants, time spent waiting and 429s for the progress display', () => {
    const stats = simulate({ account: { requests: 1, windowMs: 100 }, headroom: 1 }, at(0, 0, 0), [[5, (l) => l.learn('m', { status: 429, retryAfterMs: 0, sentAt: 0 })]]);
    // Rate cut to 0.75 per 100 ms after the 429: the second call waits 133.3 ms, granted on the
    // next whole ms (134); the third 133.3 ms after that (268).
    expect(stats).toMatchObject({ granted: 3, waiting: 0, waitedMs: 134 + 268, rateLimited: 1, exhausted: false });
  });

  it('never lets a window hold more calls than the limit, whatever the arrivals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 10, max: 500 }),
        fc.constantFrom(1, 0.95, 0.8),
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 40 }),
        (requests, windowMs, headroom, arrivals) => {
          const asks = at(...arrivals);
          simulate({ account: { requests, windowMs }, headroom }, asks);
          const granted = asks.map((a) => a.granted!).sort((a, b) => a - b);
          expect(granted.every((g) => Number.isFinite(g))).toBe(true);
          granted.forEach((start, i) => {
            const inWindow = granted.slice(i).filter((g) => g < start + windowMs).length;
            expect(inWindow).toBeLessThanOrEqual(requests);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('RateLimiter against the sandbox server (real time)', () => {
  let sandbox: SandboxServer | undefined;
  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });

  const member = (baseURL: string): PanelMember => ({ port: 0, model: 'acme/ok:free', family: 'acme', baseURL, apiKeyEnv: 'K', timeoutMs: 5000 });
  const run = (limiter: RateLimiter, calls: number, concurrency: number): Promise<ModelOutcome[]> => {
    const call = createOpenAICall({ env: { K: 'sk-sandbox' } });
    const m = member(sandbox!.baseURL);
    return lastValueFrom(
      range(calls).pipe(
        mergeMap(() => portCall(m, () => abortable((signal) => call(m, { query: 'q' }, { signal })), { limiter }), concurrency),
        toArray(),
      ),
    );
  };

  it('stays under a server limit lower than the configured one, learning it from X-RateLimit-Limit', async () => {
    sandbox = await startSandboxServer({ scenario: { rateLimit: { requests: 5, windowMs: 400 }, models: [{ model: 'acme/ok:free', answer: 'fine' }] } });
    const limiter = new RateLimiter({ account: { requests: 10, windowMs: 400 } });
    const started = Date.now();
    const outcomes = await run(limiter, 20, 4);
    const elapsed = Date.now() - started;
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const limited = sandbox.requests.filter((r) => r.status === 429).length;
    expect(limited).toBe(0);
    // 20 calls at 5 per 400 ms (less the 5 % headroom): about 1.6 s; never faster than the server allows.
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(4000);
  });

  it('learns the limit and window with nothing configured, with few 429s', async () => {
    sandbox = await startSandboxServer({ scenario: { rateLimit: { requests: 5, windowMs: 400 }, models: [{ model: 'acme/ok:free', answer: 'fine' }] } });
    const limiter = new RateLimiter();
    const outcomes = await run(limiter, 20, 3);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const limited = sandbox.requests.filter((r) => r.status === 429).length;
    expect(limited).toBeLessThanOrEqual(2);
    expect(limiter.stats().ratePerMinute).toBeLessThanOrEqual(5 * (60_000 / 400));
  });

  it('stops with QuotaExhaustedError after the last allowed call, without a storm of 429s', async () => {
    // A window of an hour stands in for a daily quota: 3 calls, then nothing until the reset.
    sandbox = await startSandboxServer({ scenario: { rateLimit: { requests: 3, windowMs: 3_600_000 }, models: [{ model: 'acme/ok:free', answer: 'fine' }] } });
    const limiter = new RateLimiter();
    const error = await run(limiter, 10, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect((error as Error).message).toMatch(/quota is used up \(it resets at \d{4}-\d\d-\d\dT.*Z\)\. Re-run the same command with --resume after that/);
    expect(sandbox.requests.map((r) => r.status)).toEqual([200, 200, 200]);
    await expect(firstValueFrom(limiter.acquire('any'))).rejects.toBeInstanceOf(QuotaExhaustedError);
  });

  it('turns a 429 that says the quota is gone into QuotaExhaustedError for the port', async () => {
    sandbox = await startSandboxServer({ scenario: { rateLimit: { requests: 1, windowMs: 3_600_000 }, models: [{ model: 'acme/ok:free', answer: 'fine' }] } });
    // The quota was spent elsewhere: this run's first call is the 429.
    const call = createOpenAICall({ env: { K: 'sk-sandbox' } });
    await call(member(sandbox.baseURL), { query: 'q' }, { signal: new AbortController().signal });
    const error = await run(new RateLimiter(), 3, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect(sandbox.requests.map((r) => r.status)).toEqual([200, 429]);
  });
});

describe('RateLimiter with a configured window longer than the server\'s', () => {
  it('reads a server limit of 40 per 2 s as 1200 a minute, not 40 a minute', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const limiter = new RateLimiter({ account: { requests: 1200, windowMs: 60_000 }, scheduler });
      limiter.learn('m', { status: 200, limit: 40, remaining: 39, resetAtMs: scheduler.now() + 2000 });
      expect(limiter.stats().ratePerMinute).toBeGreaterThan(1000);
    });
  });
});

describe('RateLimiter and an answer read after its own reset (issue 11, row 11)', () => {
  /** `--rpm 1200`: learns one answer with `X-RateLimit-Limit: 40` whose reset is `resetIn` ms away (≤ 0: passed). */
  function probe(resetIns: number[]): { ratePerMinute: number | undefined; grants: number[] } {
    const scheduler = newScheduler();
    let ratePerMinute: number | undefined;
    const grants: number[] = [];
    scheduler.run(({ flush }) => {
      const limiter = new RateLimiter({ account: { requests: 1200, windowMs: 60_000 }, scheduler });
      for (const resetIn of resetIns) limiter.learn('m', { status: 200, limit: 40, remaining: 39, resetAtMs: scheduler.now() + resetIn });
      ratePerMinute = limiter.stats().ratePerMinute;
      // A minute's worth of calls queued at once: how many does the next minute grant?
      for (let i = 0; i < 1300; i++) limiter.acquire('m').subscribe(() => grants.push(limiter.now()));
      flush();
    });
    return { ratePerMinute, grants };
  }

  it.each([0, -5, -2000])('keeps --rpm 1200 at 1140 a minute when the reset was %i ms away', (resetIn) => {
    const { ratePerMinute, grants } = probe([resetIn]);
    // Before the fix: 38 a minute (40 read as 40 per minute, × 0.95), for good.
    expect(ratePerMinute).toBeCloseTo(1140);
    expect(grants.filter((t) => t < 60_000).length).toBeGreaterThanOrEqual(1140);
  });

  it('scales a passed reset\'s limit by the longest time-to-reset seen before', () => {
    // 40 per (at least) 2 s is 1200 a minute: not lower than --rpm 1200, nothing adopted.
    expect(probe([1990, -5]).ratePerMinute).toBeCloseTo(1140);
    // 40 per (at least) 3 s is 800 a minute: adopted, × 0.95.
    expect(probe([3000, 0]).ratePerMinute).toBeCloseTo(800 * 0.95);
    expect(probe([0, 3000]).ratePerMinute).toBeCloseTo(800 * 0.95);
  });

  it('adopts no limit from a passed reset when no window is configured or seen yet', () => {
    const stats = simulate({}, at(0), [[5, (l) => l.learn('m', { status: 200, limit: 40, remaining: 39, resetAtMs: 5, sentAt: 0 })]]);
    expect(stats.ratePerMinute).toBeUndefined();
    // Once a reset ahead shows the window, the same limit is read per that window.
    const later = simulate({}, at(0), [
      [5, (l) => l.learn('m', { status: 200, limit: 40, remaining: 39, resetAtMs: 5 + 1990, sentAt: 0 })],
      [6, (l) => l.learn('m', { status: 200, limit: 40, remaining: 38, resetAtMs: 6, sentAt: 0 })],
    ]);
    expect(later.ratePerMinute).toBeCloseTo(40 * 0.95 * 30);
  });
});
