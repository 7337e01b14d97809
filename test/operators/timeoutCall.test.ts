import { describe, expect, it } from 'vitest';
import { ModelCallError } from '../../src/errors.js';
import { timeoutCall } from '../../src/operators/timeoutCall.js';
import { newScheduler } from '../helpers/marbles.js';

describe('timeoutCall', () => {
  it('passes an answer that comes in time', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('--a|').pipe(timeoutCall({ ms: 5 }))).toBe('--a|');
    });
  });

  it('fails a silent call with a timeout error and unsubscribes from it', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('------a|');
      const error = new ModelCallError('timeout', 'no answer within 3 ms');
      expectObservable(slow.pipe(timeoutCall({ ms: 3 }))).toBe('---#', undefined, error);
      expectSubscriptions(slow.subscriptions).toBe('^--!');
    });
  });

  it('rejects a timeout that is not a positive number', () => {
    expect(() => timeoutCall({ ms: 0 })).toThrow(/positive number of ms, got 0/);
    expect(() => timeoutCall({ ms: Number.NaN })).toThrow(/got NaN/);
  });
});
