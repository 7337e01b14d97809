import { describe, it } from 'vitest';
import { ModelCallError } from '../../src/errors.js';
import type { RawAnswer } from '../../src/models/call.js';
import { toOutcome } from '../../src/operators/toOutcome.js';
import { members, newScheduler } from '../helpers/marbles.js';

describe('toOutcome', () => {
  const [m] = members(1) as [ReturnType<typeof members>[number]];

  it('turns an answer into a success with latency and attempts', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const answer = { text: 'Paris is the capital of France.', usage: { inputTokens: 10, outputTokens: 7, cost: 0 } };
      const out = cold('---a|', { a: answer }).pipe(toOutcome(m, { startedAt: 0, attempts: () => 2 }));
      expectObservable(out).toBe('---a|', {
        a: { ok: true, port: 0, model: m.model, family: m.family, latencyMs: 3, attempts: 2, text: answer.text, usage: answer.usage, finishReason: undefined, responseId: undefined },
      });
    });
  });

  it('turns a classified error into a failure value and completes', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const out = cold<RawAnswer>('--#', undefined, new ModelCallError('rate_limited', '429 slow down', 429)).pipe(toOutcome(m, { startedAt: 0, attempts: () => 1 }));
      expectObservable(out).toBe('--(f|)', {
        f: { ok: false, port: 0, model: m.model, family: m.family, latencyMs: 2, attempts: 1, kind: 'rate_limited', message: '429 slow down', status: 429 },
      });
    });
  });
});
