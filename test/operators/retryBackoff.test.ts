import { defer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ModelCallError } from '../../src/errors.js';
import { backoffDelay, retryBackoff } from '../../src/operators/retryBackoff.js';
import { newScheduler } from '../helpers/marbles.js';

const http503 = new ModelCallError('http', '503 overloaded', 503);
const noJitter = { jitter: 0, random: () => 0.5 };

describe('retryBackoff', () => {
  it('retries a 503 with exponential backoff: 500 ms, then 1000 ms', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const flaky = cold('-#', undefined, http503);
      expectObservable(flaky.pipe(retryBackoff({ maxRetries: 2, baseDelayMs: 500, ...noJitter }))).toBe(
        '- 500ms - 1000ms -#',
        undefined,
        http503,
      );
      expectSubscriptions(flaky.subscriptions).toBe(['^!', '- 500ms ^!', '- 500ms - 1000ms ^!']);
    });
  });

  it('gives the answer of the attempt that succeeds', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      let attempt = 0;
      // The first attempt fails, the second answers.
      const source = defer(() => (++attempt === 1 ? cold('-#', undefined, http503) : cold('-x|')));
      expectObservable(source.pipe(retryBackoff({ baseDelayMs: 100, ...noJitter }))).toBe('- 100ms -x|');
    });
  });

  it('waits as long as Retry-After asks when that is longer than the backoff', () => {
    newScheduler().run(({ cold, expectSubscriptions }) => {
      const limited = cold('#', undefined, new ModelCallError('rate_limited', '429', 429, 2000));
      limited.pipe(retryBackoff({ maxRetries: 1, baseDelayMs: 100, ...noJitter })).subscribe({ error: () => {} });
      expectSubscriptions(limited.subscriptions).toBe(['(^!)', '2000ms (^!)']);
    });
  });

  it('fails at once as rate_limited when Retry-After exceeds the cap instead of sleeping', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const limited = cold('-#', undefined, new ModelCallError('rate_limited', '429 Too Many Requests', 429, 3_600_000));
      const out = limited.pipe(retryBackoff({ retryAfterCapMs: 10_000, ...noJitter }));
      expectObservable(out).toBe(
        '-#',
        undefined,
        new ModelCallError('rate_limited', '429 Too Many Requests (server asked to retry after 3600 s, longer than the 10 s cap)', 429, 3_600_000),
      );
      expectSubscriptions(limited.subscriptions).toBe('^!');
    });
  });

  it('does not retry auth failures, 4xx, malformed answers or timeouts', () => {
    for (const error of [
      new ModelCallError('auth', '401', 401),
      new ModelCallError('http', '402 insufficient credits', 402),
      new ModelCallError('malformed', 'bad json'),
      new ModelCallError('timeout', 'slow'),
    ]) {
      newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failing = cold('-#', undefined, error);
        expectObservable(failing.pipe(retryBackoff())).toBe('-#', undefined, error);
        expectSubscriptions(failing.subscriptions).toBe('^!');
      });
    }
  });

  it('spreads retries with jitter within ±jitter of the backoff', () => {
    const opts = { maxRetries: 3, baseDelayMs: 1000, maxDelayMs: 8000, jitter: 0.2, retryAfterCapMs: 10_000 };
    expect(backoffDelay(http503, 1, { ...opts, random: () => 0 })).toBe(800);
    expect(backoffDelay(http503, 1, { ...opts, random: () => 0.999999 })).toBe(1200);
    expect(backoffDelay(http503, 3, { ...opts, random: () => 0.5 })).toBe(4000);
    expect(backoffDelay(http503, 4, { ...opts, random: () => 0.5 })).toBeNull();
  });

  it('caps the exponential backoff at maxDelayMs', () => {
    const opts = { maxRetries: 10, baseDelayMs: 1000, maxDelayMs: 5000, jitter: 0, retryAfterCapMs: 10_000, random: () => 0 };
    expect(backoffDelay(http503, 8, opts)).toBe(5000);
  });

  it('rejects a negative retry count', () => {
    expect(() => retryBackoff({ maxRetries: -1 })).toThrow(/maxRetries to be an integer ≥ 0, got -1/);
  });
});
