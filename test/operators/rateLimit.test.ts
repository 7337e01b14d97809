import { defer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { QuotaExhaustedError, RateLimiter } from '../../src/ratelimit/rateLimiter.js';
import { ModelCallError } from '../../src/errors.js';
import { rateLimit } from '../../src/operators/rateLimit.js';
import { retryBackoff } from '../../src/operators/retryBackoff.js';
import { newScheduler } from '../helpers/marbles.js';

const rateLimited = (retryAfterMs?: number, headers?: ModelCallError['rateLimit']) => {
  const error = new ModelCallError('rate_limited', 'HTTP 429: Rate limit exceeded', 429, retryAfterMs);
  if (headers) error.rateLimit = headers;
  return error;
};

describe('rateLimit', () => {
  it('spaces 3 calls evenly over the window instead of sending them at once', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const limiter = new RateLimiter({ account: { requests: 3, windowMs: 300 }, headroom: 1 });
      const [a, b, c] = [cold('-a|'), cold('-b|'), cold('-c|')];
      expectObservable(a.pipe(rateLimit(limiter, 'm'))).toBe('-a|');
      expectObservable(b.pipe(rateLimit(limiter, 'm'))).toBe('100ms -b|');
      expectObservable(c.pipe(rateLimit(limiter, 'm'))).toBe('200ms -c|');
      expectSubscriptions(a.subscriptions).toBe('^-!');
      expectSubscriptions(b.subscriptions).toBe('100ms ^-!');
      expectSubscriptions(c.subscriptions).toBe('200ms ^-!');
    });
  });

  it('leaves headroom by default: 3 per 300 ms go out every 105 ms or so', () => {
    newScheduler().run(({ cold, expectSubscriptions }) => {
      const limiter = new RateLimiter({ account: { requests: 3, windowMs: 300 } });
      const call = cold('-a|');
      for (let i = 0; i < 3; i++) call.pipe(rateLimit(limiter, 'm')).subscribe();
      // 300 / (3 × 0.95) = 105.3 ms apart; the timer fires on the next whole ms.
      expectSubscriptions(call.subscriptions).toBe(['^-!', '106ms ^-!', '211ms ^-!']);
    });
  });

  it('pauses every other call until Retry-After when one call gets a 429', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const limiter = new RateLimiter({ account: { requests: 10, windowMs: 100 }, headroom: 1 });
      // The server also says its limit is 5 per window: the limiter adopts it (20 ms apart).
      const error = rateLimited(50, { limit: 5, remaining: 0 });
      const a = cold('-#', undefined, error);
      const [b, c] = [cold('-b|'), cold('-c|')];
      expectObservable(a.pipe(rateLimit(limiter, 'm1'))).toBe('-#', undefined, error);
      expectObservable(b.pipe(rateLimit(limiter, 'm2'))).toBe('51ms -b|');
      expectObservable(c.pipe(rateLimit(limiter, 'm3'))).toBe('71ms -c|');
      expectSubscriptions(b.subscriptions).toBe('51ms ^-!');
      expectSubscriptions(c.subscriptions).toBe('71ms ^-!');
    });
  });

  it('paces each model under the per-model limit, without holding back other models', () => {
    newScheduler().run(({ cold, expectSubscriptions }) => {
      const limiter = new RateLimiter({ perModel: { requests: 2, windowMs: 100 }, headroom: 1 });
      const [x, y] = [cold('-x|'), cold('-y|')];
      for (let i = 0; i < 3; i++) x.pipe(rateLimit(limiter, 'x')).subscribe();
      y.pipe(rateLimit(limiter, 'y')).subscribe();
      expectSubscriptions(x.subscriptions).toBe(['^-!', '50ms ^-!', '100ms ^-!']);
      expectSubscriptions(y.subscriptions).toBe('^-!');
    });
  });

  it('fails every waiting call with QuotaExhaustedError when a 429 says the quota is gone for hours', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const limiter = new RateLimiter({ account: { requests: 1, windowMs: 100 }, headroom: 1 });
      const a = cold('-#', undefined, rateLimited(2 * 3600_000, { limit: 50, remaining: 0, resetAtMs: 2 * 3600_000 + 1 }));
      const [b, c] = [cold('-b|'), cold('-c|')];
      const quotaGone = new QuotaExhaustedError(2 * 3600_000 + 1);
      // The 429 itself becomes the quota error too, so the run stops instead of recording a failure.
      expectObservable(a.pipe(rateLimit(limiter, 'm'))).toBe('-#', undefined, quotaGone);
      expectObservable(b.pipe(rateLimit(limiter, 'm'))).toBe('-#', undefined, quotaGone);
      expectObservable(c.pipe(rateLimit(limiter, 'm'))).toBe('-#', undefined, quotaGone);
      // A call asked for later fails at once.
      expectObservable(defer(() => b.pipe(rateLimit(limiter, 'm'))), '500ms ^').toBe('500ms #', undefined, quotaGone);
      expectSubscriptions(b.subscriptions).toBe([]);
      expectSubscriptions(c.subscriptions).toBe([]);
    });
  });

  it('frees the queue place of a call unsubscribed while waiting', () => {
    let limiter: RateLimiter | undefined;
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      limiter = new RateLimiter({ account: { requests: 1, windowMs: 100 }, headroom: 1 });
      const [a, b, c] = [cold('-a|'), cold('-b|'), cold('-c|')];
      expectObservable(a.pipe(rateLimit(limiter, 'm'))).toBe('-a|');
      expectObservable(b.pipe(rateLimit(limiter, 'm')), '^ 49ms !').toBe('');
      expectObservable(c.pipe(rateLimit(limiter, 'm'))).toBe('100ms -c|');
      expectSubscriptions(b.subscriptions).toBe([]);
      expectSubscriptions(c.subscriptions).toBe('100ms ^-!');
    });
    expect(limiter?.stats()).toMatchObject({ granted: 2, waiting: 0, waitedMs: 100 });
  });

  it('makes every retry attempt wait for a slot of its own', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const limiter = new RateLimiter({ account: { requests: 1, windowMs: 100 }, headroom: 1 });
      let attempt = 0;
      const first = cold('-#', undefined, new ModelCallError('http', 'HTTP 503', 503));
      const second = cold('-a|');
      const call = defer(() => (++attempt === 1 ? first : second)).pipe(
        rateLimit(limiter, 'm'),
        retryBackoff({ baseDelayMs: 10, jitter: 0, random: () => 0.5 }),
      );
      // The retry is due at 11 ms, but the next slot is at 100 ms.
      expectObservable(call).toBe('100ms -a|');
      expectSubscriptions(second.subscriptions).toBe('100ms ^-!');
    });
  });

  it('teaches the limiter from the headers of an answer', () => {
    newScheduler().run(({ cold, expectSubscriptions, flush }) => {
      const limiter = new RateLimiter({ account: { requests: 10, windowMs: 100 }, headroom: 1 });
      // The answer says the window's last request is spent and it resets at 80 ms.
      const a = cold('-a|', { a: { text: 'x', rateLimit: { limit: 10, remaining: 0, resetAtMs: 80 } } });
      const b = cold('-b|');
      a.pipe(rateLimit(limiter, 'm')).subscribe();
      b.pipe(rateLimit(limiter, 'm')).subscribe();
      expectSubscriptions(b.subscriptions).toBe('80ms ^-!');
      flush();
      expect(limiter.stats()).toMatchObject({ granted: 2, rateLimited: 0 });
    });
  });
});
