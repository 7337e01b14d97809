import { describe, expect, it } from 'vitest';
import { QuotaExhaustedError, RateLimiter } from '../../src/ratelimit/rateLimiter.js';
import { ModelCallError } from '../../src/errors.js';
import type { RawAnswer } from '../../src/models/call.js';
import { abortable } from '../../src/operators/abortable.js';
import { portCall } from '../../src/pipelines/portCall.js';
import { members, newScheduler } from '../helpers/marbles.js';

const answer: RawAnswer = { text: 'claim', usage: {} };
const noJitter = { jitter: 0, random: () => 0.5, baseDelayMs: 100 };

describe('portCall', () => {
  const member = { ...members(1)[0]!, timeoutMs: 50 };

  it('times each attempt out and reports a timeout failure without retrying it', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const silent = cold<RawAnswer>('-');
      const out = portCall(member, () => silent, { retry: noJitter });
      expectObservable(out).toBe('50ms (f|)', {
        f: { ok: false, port: 0, model: member.model, family: member.family, kind: 'timeout', message: 'no answer within 50 ms', latencyMs: 50, attempts: 1 },
      });
      expectSubscriptions(silent.subscriptions).toBe('^ 49ms !');
    });
  });

  it('counts attempts across retries of a 503', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      let n = 0;
      const out = portCall(member, () => (++n < 3 ? cold<RawAnswer>('#', undefined, new ModelCallError('http', '503', 503)) : cold('-a|', { a: answer })), {
        retry: noJitter,
      });
      // Retries after 100 ms and 200 ms; the third attempt answers 1 ms later.
      expectObservable(out).toBe('300ms -a|', {
        a: { ok: true, port: 0, model: member.model, family: member.family, text: 'claim', usage: {}, latencyMs: 301, attempts: 3, finishReason: undefined, responseId: undefined },
      });
    });
  });
});

describe('portCall with a rate limiter', () => {
  const member = { ...members(1)[0]!, timeoutMs: 50 };

  it('starts the timeout and the latency only once the slot is granted', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const limiter = new RateLimiter({ account: { requests: 1, windowMs: 100 }, headroom: 1 });
      const quick = cold<RawAnswer>('-a|', { a: answer });
      const silent = cold<RawAnswer>('-');
      const first = portCall(member, () => quick, { limiter, retry: noJitter });
      const second = portCall(member, () => silent, { limiter, retry: noJitter });
      expectObservable(first).toBe('-a|', {
        a: { ok: true, port: 0, model: member.model, family: member.family, text: 'claim', usage: {}, latencyMs: 1, attempts: 1, finishReason: undefined, responseId: undefined },
      });
      // Queued for 100 ms, then 50 ms of timeout: not timed out at 50 ms while waiting.
      expectObservable(second).toBe('150ms (f|)', {
        f: { ok: false, port: 0, model: member.model, family: member.family, kind: 'timeout', message: 'no answer within 50 ms', latencyMs: 50, attempts: 1 },
      });
      expectSubscriptions(silent.subscriptions).toBe('100ms ^ 49ms !');
    });
  });

  it('errors with QuotaExhaustedError, not a failure value, when the quota is gone', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const limiter = new RateLimiter();
      const gone = new ModelCallError('rate_limited', 'HTTP 429: daily limit', 429, 6 * 3600_000);
      const out = portCall(member, () => cold<RawAnswer>('-#', undefined, gone), { limiter, retry: noJitter });
      expectObservable(out).toBe('-#', undefined, new QuotaExhaustedError(1 + 6 * 3600_000));
      // Every later port stops the same way, without a request.
      expectObservable(portCall(member, () => cold<RawAnswer>('-a|', { a: answer }), { limiter }), '5ms ^').toBe('5ms #', undefined, new QuotaExhaustedError(1 + 6 * 3600_000));
    });
  });

  it('waits out a 429 longer than the default 10 s retry cap instead of failing the port', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const limiter = new RateLimiter({ account: { requests: 20, windowMs: 60_000 } });
      let n = 0;
      const limited = new ModelCallError('rate_limited', 'HTTP 429: per-minute limit', 429, 30_000);
      const out = portCall(member, () => (++n === 1 ? cold<RawAnswer>('-#', undefined, limited) : cold<RawAnswer>('-a|', { a: answer })), { limiter, retry: noJitter });
      expectObservable(out).toBe('1ms 30000ms -a|', {
        a: { ok: true, port: 0, model: member.model, family: member.family, text: 'claim', usage: {}, latencyMs: 30_002, attempts: 2, finishReason: undefined, responseId: undefined },
      });
    });
  });
});

describe('abortable', () => {
  it('aborts the call when unsubscribed', async () => {
    let signal: AbortSignal | undefined;
    const sub = abortable((s) => {
      signal = s;
      return new Promise<never>(() => {});
    }).subscribe();
    expect(signal?.aborted).toBe(false);
    sub.unsubscribe();
    expect(signal?.aborted).toBe(true);
  });

  it('emits the resolved value then completes', async () => {
    const values: number[] = [];
    await new Promise<void>((resolve) => abortable(async () => 42).subscribe({ next: (v) => values.push(v), complete: resolve }));
    expect(values).toEqual([42]);
  });
});
