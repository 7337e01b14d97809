import { describe, expect, it } from 'vitest';
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
