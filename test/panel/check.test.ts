import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ModelCallError } from '../../src/errors.js';
import type { ModelCall } from '../../src/models/call.js';
import { CHECK_REQUEST, checkPanel, checkPassed, panelQuorum } from '../../src/panel/check.js';
import { parsePanel } from '../../src/panel/loadPanel.js';

const panel = (quorum?: number) =>
  parsePanel(
    { baseURL: 'http://127.0.0.1:9/v1', timeoutMs: 5000, ...(quorum && { quorum }), members: ['a/ok', 'b/hang', 'c/garbage', 'd/flaky'].map((model) => ({ model })) },
    'test',
    {},
  );

/** Calls that answer, hang until aborted, send garbage, or drop the connection; counted per model. */
function scriptedCall() {
  const calls = new Map<string, number>();
  const aborted: string[] = [];
  const call: ModelCall = (member, request, { signal }) => {
    calls.set(member.model, (calls.get(member.model) ?? 0) + 1);
    expect(request).toBe(CHECK_REQUEST);
    switch (member.model) {
      case 'a/ok':
        return new Promise((resolve) => setTimeout(() => resolve({ text: '{"claims":["ok"]}', usage: {} }), 5));
      case 'b/hang':
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted.push(member.model);
            reject(new ModelCallError('cancelled', 'Request cancelled'));
          }),
        );
      case 'c/garbage':
        return Promise.reject(new ModelCallError('malformed', 'Unreadable response: not JSON'));
      default:
        return Promise.reject(new ModelCallError('network', 'Connection error: ECONNRESET'));
    }
  };
  return { call, calls, aborted };
}

describe('checkPanel', () => {
  it('tells a hanging and a malformed member from a healthy one within the timeout, aborting the hang', async () => {
    const { call, aborted } = scriptedCall();
    const started = Date.now();
    const results = await lastValueFrom(checkPanel(panel(), call, { timeoutMs: 100 }).pipe(toArray()));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(1000);
    const byModel = Object.fromEntries(results.map((r) => [r.model, r]));
    expect(byModel['a/ok']).toMatchObject({ port: 0, ok: true, kind: null, family: 'a' });
    expect(byModel['a/ok']).not.toHaveProperty('message');
    expect(byModel['b/hang']).toMatchObject({ port: 1, ok: false, kind: 'timeout', message: 'no answer within 100 ms' });
    expect(byModel['b/hang']!.latencyMs).toBeGreaterThanOrEqual(95);
    expect(byModel['c/garbage']).toMatchObject({ port: 2, ok: false, kind: 'malformed' });
    expect(aborted).toEqual(['b/hang']);
  });

  it('does not retry: one request per member, even for a retryable failure', async () => {
    const { call, calls } = scriptedCall();
    const results = await lastValueFrom(checkPanel(panel(), call, { timeoutMs: 50 }).pipe(toArray()));
    expect(results.find((r) => r.model === 'd/flaky')).toMatchObject({ ok: false, kind: 'network' });
    expect([...calls.values()]).toEqual([1, 1, 1, 1]);
  });

  it("uses each member's own timeout when none is given", async () => {
    const short = parsePanel({ baseURL: 'http://127.0.0.1:9/v1', members: [{ model: 'b/hang', timeoutMs: 30 }] }, 't', {});
    const [result] = await lastValueFrom(checkPanel(short, scriptedCall().call).pipe(toArray()));
    expect(result).toMatchObject({ kind: 'timeout', message: 'no answer within 30 ms' });
  });

  it('rejects a bad timeout when created', () => {
    expect(() => checkPanel(panel(), scriptedCall().call, { timeoutMs: 0 })).toThrow(/Expected timeoutMs to be a positive integer, got 0/);
  });
});

describe('checkPassed', () => {
  const result = (port: number, ok: boolean) => ({ port, model: `m${port}`, family: 'f', ok, kind: ok ? null : ('timeout' as const), latencyMs: 1 });

  it("judges against the panel file's quorum, else ceil(0.75·N)", () => {
    expect(panelQuorum(panel())).toBe(3);
    expect(panelQuorum(panel(2))).toBe(2);
    const two = [result(0, true), result(1, true), result(2, false), result(3, false)];
    expect(checkPassed(panel(), two)).toBe(false);
    expect(checkPassed(panel(2), two)).toBe(true);
    expect(checkPassed(panel(), [...two.slice(0, 2), result(2, true), result(3, false)])).toBe(true);
  });
});
