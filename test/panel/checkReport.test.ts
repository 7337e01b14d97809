/**
 * What `panel --check` prints (src/panel/checkReport.ts): aligned lines that can be printed one
 * at a time, and a verdict naming the fix for each kind of failure.
 */
import { describe, expect, it } from 'vitest';
import type { CheckResult, CheckVerdict } from '../../src/panel/check.js';
import { checkColumns, checkDetails, checkHeader, checkLine, verdictLines } from '../../src/panel/checkReport.js';
import { parsePanel } from '../../src/panel/loadPanel.js';

const panel = parsePanel(
  { baseURL: 'https://a.example/v1', apiKeyEnv: 'X_KEY', timeoutMs: 30000, members: [{ model: 'acme/short' }, { model: 'beta/a-much-longer-model-id:free' }] },
  't',
  { X_KEY: 'k' },
);
const result = (port: number, over: Partial<CheckResult>): CheckResult => ({
  port,
  model: panel.members[port]?.model ?? `v${port}/m`,
  family: panel.members[port]?.family ?? `v${port}`,
  host: 'a.example',
  ok: true,
  kind: null,
  latencyMs: 12,
  attempts: 1,
  ...over,
});
const verdict = (over: Partial<CheckVerdict>): CheckVerdict => ({
  passed: false,
  healthy: 0,
  total: 2,
  quorum: 2,
  unreachableHosts: [],
  refusedHosts: [],
  rateLimited: [],
  failing: [],
  ...over,
});

describe('check lines', () => {
  it('align whatever order they arrive in, from widths fixed before the first result', () => {
    const columns = checkColumns(panel);
    const [intro, blank, header] = checkHeader(panel, undefined, columns);
    expect(intro).toBe('Checking 2 members at a.example: one request each, all at once; no answer within 30 s is a timeout, and a 429 is retried once (after its Retry-After, up to 5 s).');
    expect(blank).toBe('');
    const late = checkLine(result(1, { ok: false, kind: 'timeout', latencyMs: 30004, message: 'no answer within 30000 ms' }), columns);
    const early = checkLine(result(0, {}), columns);
    expect(late).toMatch(/^1\s+beta\/a-much-longer-model-id:free\s+beta\s+failed: timeout\s+30004 ms$/);
    expect(early).toMatch(/^0\s+acme\/short\s+acme\s+ok\s+12 ms$/);
    for (const line of [early, late]) expect(line.indexOf('ms') - line.indexOf(' ms')).toBe(1);
    expect(early.length).toBe(late.length);
    expect(header!.indexOf('model')).toBe(early.indexOf('acme/short'));
  });

  it("details: each failure's reason, retried members, nothing for an unreachable host's members", () => {
    const results = [result(0, { attempts: 2 }), result(1, { ok: false, kind: 'http', message: 'HTTP 502: Provider returned error', attempts: 1 })];
    expect(checkDetails(results, verdict({}))).toEqual(['port 0 acme/short: ok after one retry of a 429', 'port 1 beta/a-much-longer-model-id:free: http: HTTP 502: Provider returned error']);
    expect(checkDetails(results, verdict({ unreachableHosts: [{ host: 'a.example', ports: [1], reason: 'ENOTFOUND' }] }))).toEqual(['port 0 acme/short: ok after one retry of a 429']);
  });
});

describe('verdictLines', () => {
  it('says which fix each failure needs, and "replace" only for the models that failed', () => {
    const lines = verdictLines(
      verdict({
        healthy: 1,
        total: 6,
        quorum: 4,
        unreachableHosts: [{ host: 'openrouter.ai', ports: [4, 5], reason: 'ENOTFOUND' }],
        refusedHosts: [{ host: 'b.example', apiKeyEnv: 'B_KEY', ports: [2] }],
        rateLimited: [result(1, { ok: false, kind: 'rate_limited' })],
        failing: [result(3, { ok: false, kind: 'malformed' })],
      }),
      'npx quorum panel --free',
    );
    expect(lines).toEqual([
      'UNHEALTHY: only 1 of 6 members answered; the quorum is 4.',
      "Cannot reach openrouter.ai (the name does not resolve, ENOTFOUND; ports 4, 5): check the network and the base URL (the panel file's baseURL, or OPENROUTER_BASE_URL). The models there were not tested; do not replace them for this.",
      'b.example refused the key (port 2): check B_KEY; the models there were not tested.',
      'Rate limited (port 1): still 429 after one retry; wait a minute and check again, or replace them if it persists.',
      'Replace the failing members (port 3); npx quorum panel --free lists free models.',
    ]);
  });

  it('a healthy panel gets one line', () => {
    expect(verdictLines(verdict({ passed: true, healthy: 2 }), 'quorum panel --free')).toEqual(['HEALTHY: 2 of 2 members answered; the quorum is 2.']);
  });
});
