import { lastValueFrom, toArray, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ModelCallError } from '../../src/errors.js';
import type { ModelCall } from '../../src/models/call.js';
import { CHECK_REQUEST, type CheckResult, checkPanel, checkPassed, judgeCheck, panelQuorum, unreachable } from '../../src/panel/check.js';
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

  it('does not retry a network failure: one request per member', async () => {
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
  const result = (port: number, ok: boolean) => ({ port, model: `m${port}`, family: 'f', host: 'h', ok, kind: ok ? null : ('timeout' as const), latencyMs: 1, attempts: 1 });

  it("judges against the panel file's quorum, else ceil(0.75·N)", () => {
    expect(panelQuorum(panel())).toBe(3);
    expect(panelQuorum(panel(2))).toBe(2);
    const two = [result(0, true), result(1, true), result(2, false), result(3, false)];
    expect(checkPassed(panel(), two)).toBe(false);
    expect(checkPassed(panel(2), two)).toBe(true);
    expect(checkPassed(panel(), [...two.slice(0, 2), result(2, true), result(3, false)])).toBe(true);
  });
});

/** A call answering from a per-model script of outcomes, one per request, logging each request. */
function sequenceCall(script: Record<string, (ModelCallError | 'ok')[]>) {
  const log: { model: string }[] = [];
  const call: ModelCall = (member) => {
    log.push({ model: member.model });
    const next = script[member.model]!.shift() ?? 'ok';
    return next === 'ok' ? Promise.resolve({ text: '{"claims":["ok"]}', usage: {} }) : Promise.reject(next);
  };
  return { call, log };
}

const rateLimited = (retryAfterMs?: number) => new ModelCallError('rate_limited', 'HTTP 429: Rate limit exceeded', 429, retryAfterMs);

describe('checkPanel: a 429 is retried once', () => {
  const two = parsePanel({ baseURL: 'http://127.0.0.1:9/v1', timeoutMs: 2000, members: [{ model: 'a/limited' }, { model: 'b/ok' }] }, 't', {});

  it('after its Retry-After: a transient 429 ends ok, with two attempts (virtual time)', async () => {
    // Virtual time up to frame 500: the retry's timer runs when flushed, the second request's
    // 2000 ms timeout never does. The calls are promises, so microtasks are let run between steps.
    const scheduler = new VirtualTimeScheduler(VirtualAction, 500);
    const at: Record<string, number[]> = {};
    const script: Record<string, (ModelCallError | 'ok')[]> = { 'a/limited': [rateLimited(300)], 'b/ok': ['ok'] };
    const call: ModelCall = (member) => {
      (at[member.model] ??= []).push(scheduler.now());
      const next = script[member.model]!.shift() ?? 'ok';
      return next === 'ok' ? Promise.resolve({ text: '{"claims":["ok"]}', usage: {} }) : Promise.reject(next);
    };
    const results: CheckResult[] = [];
    let completed = false;
    checkPanel(two, call, { scheduler }).subscribe({ next: (r) => results.push(r), complete: () => (completed = true) });
    await new Promise((r) => setImmediate(r));
    expect(results.map((r) => r.model)).toEqual(['b/ok']);
    expect(at['a/limited']).toEqual([0]);
    scheduler.flush();
    await new Promise((r) => setImmediate(r));
    expect(at['a/limited']).toEqual([0, 300]);
    expect(completed).toBe(true);
    expect(results.find((r) => r.model === 'a/limited')).toMatchObject({ ok: true, kind: null, attempts: 2, latencyMs: 300 });
    expect(results.find((r) => r.model === 'b/ok')).toMatchObject({ ok: true, attempts: 1, latencyMs: 0 });
  });

  it('waits 1 s when the 429 carried no Retry-After (virtual time)', async () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 1500);
    const at: number[] = [];
    let first = true;
    const call: ModelCall = () => {
      at.push(scheduler.now());
      if (first) return (first = false), Promise.reject(rateLimited());
      return Promise.resolve({ text: '{"claims":["ok"]}', usage: {} });
    };
    const one = parsePanel({ baseURL: 'http://127.0.0.1:9/v1', timeoutMs: 2000, members: [{ model: 'a/limited' }] }, 't', {});
    const results: CheckResult[] = [];
    checkPanel(one, call, { scheduler }).subscribe((r) => results.push(r));
    await new Promise((r) => setImmediate(r));
    scheduler.flush();
    await new Promise((r) => setImmediate(r));
    expect(at).toEqual([0, 1000]);
    expect(results).toMatchObject([{ ok: true, attempts: 2 }]);
  });

  it('only once: a second 429 is the verdict (virtual time)', async () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 500);
    const { call, log } = sequenceCall({ 'a/limited': [rateLimited(100), rateLimited(100), rateLimited(100)], 'b/ok': ['ok'] });
    const results: CheckResult[] = [];
    checkPanel(two, call, { scheduler }).subscribe((r) => results.push(r));
    await new Promise((r) => setImmediate(r));
    scheduler.flush();
    await new Promise((r) => setImmediate(r));
    expect(results.find((r) => r.model === 'a/limited')).toMatchObject({ ok: false, kind: 'rate_limited', attempts: 2, latencyMs: 100 });
    expect(log.filter((l) => l.model === 'a/limited')).toHaveLength(2);
  });

  it('not when the server asks for longer than the cap: judged at once, saying so', async () => {
    const { call, log } = sequenceCall({ 'a/limited': [rateLimited(60_000)], 'b/ok': ['ok'] });
    const results = await lastValueFrom(checkPanel(two, call, { retry429CapMs: 5000 }).pipe(toArray()));
    expect(results.find((r) => r.model === 'a/limited')).toMatchObject({
      ok: false,
      kind: 'rate_limited',
      attempts: 1,
      message: 'HTTP 429: Rate limit exceeded (server asked to retry after 60 s, longer than the 5 s a check waits)',
    });
    expect(log.filter((l) => l.model === 'a/limited')).toHaveLength(1);
  });
});

describe('judgeCheck', () => {
  const members = (baseURLs: string[]) =>
    parsePanel({ members: baseURLs.map((baseURL, i) => ({ model: `v${i}/m`, baseURL, apiKeyEnv: 'X_KEY' })) }, 't', { X_KEY: 'k' });
  const r = (port: number, host: string, kind: CheckResult['kind'], message?: string): CheckResult => ({
    port,
    model: `v${port}/m`,
    family: `v${port}`,
    host,
    ok: kind === null,
    kind,
    latencyMs: 5,
    attempts: 1,
    ...(message && { message }),
  });

  it('every member failing to connect is a network problem, not one to fix by replacing members', () => {
    const panel = members(['https://openrouter.ai/api/v1', 'https://openrouter.ai/api/v1']);
    const results = [0, 1].map((p) => r(p, 'openrouter.ai', 'network', 'Connection error: fetch failed: getaddrinfo ENOTFOUND openrouter.ai'));
    expect(results.every(unreachable)).toBe(true);
    expect(judgeCheck(panel, results)).toMatchObject({
      passed: false,
      unreachableHosts: [{ host: 'openrouter.ai', ports: [0, 1], reason: 'ENOTFOUND' }],
      failing: [],
      rateLimited: [],
    });
  });

  it('tells apart, per host: unreachable, key refused, rate limited, and models to replace', () => {
    const panel = members(['http://127.0.0.1:1/v1', 'https://a.example/v1', 'https://a.example/v1', 'https://b.example/v1', 'https://b.example/v1', 'https://b.example/v1']);
    const v = judgeCheck(panel, [
      r(0, '127.0.0.1:1', 'network', 'connect ECONNREFUSED 127.0.0.1:1'),
      r(1, 'a.example', 'auth', 'HTTP 401: User not found'),
      r(2, 'a.example', 'auth', 'HTTP 401: User not found'),
      r(3, 'b.example', 'rate_limited', 'HTTP 429'),
      r(4, 'b.example', 'http', 'HTTP 502: Provider returned error'),
      r(5, 'b.example', null),
    ]);
    expect(v.unreachableHosts).toEqual([{ host: '127.0.0.1:1', ports: [0], reason: 'ECONNREFUSED' }]);
    expect(v.refusedHosts).toEqual([{ host: 'a.example', apiKeyEnv: 'X_KEY', ports: [1, 2] }]);
    expect(v.rateLimited.map((x) => x.port)).toEqual([3]);
    expect(v.failing.map((x) => x.port)).toEqual([4]);
    expect(v).toMatchObject({ healthy: 1, total: 6, passed: false });
  });

  it('a connection reset mid-answer is the model’s problem, not an unreachable host', () => {
    expect(unreachable(r(0, 'h', 'network', 'Connection error: ECONNRESET'))).toBe(false);
    expect(unreachable(r(0, 'h', 'timeout', 'no answer within 100 ms'))).toBe(false);
  });
});
