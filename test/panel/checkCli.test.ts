/**
 * `quorum panel --check` through the real binary against the real sandbox server and a closed
 * loopback port (issue 12, item 9): a host nobody can reach is a network problem, not a reason
 * to replace members; each member's line appears as its result arrives, a hung member's after
 * its timeout with the time waited; one transient 429 is retried before judging.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Scenario } from '../../src/sandbox/scenario.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import { spawnCli, tempDir } from '../helpers/cli.js';

const ANSWER = '{"claims": ["ok"]}';
let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A panel file whose members are at the given base URLs (loopback: no key needed). */
function panelFile(members: { model: string; baseURL: string }[], extra: Record<string, unknown> = {}): string {
  const file = join(tempDir('quorum-check-'), 'panel.json');
  writeFileSync(file, JSON.stringify({ members, ...extra }));
  return file;
}

async function sandbox(scenario: Scenario): Promise<string> {
  server = await startSandboxServer({ scenario });
  return server.baseURL;
}

describe('quorum panel --check (real binary)', () => {
  it('every member on a closed port: "cannot reach" the host, never "replace the members"; exit 1', async () => {
    const port = await closedPort();
    const base = `http://127.0.0.1:${port}/v1`;
    const file = panelFile([{ model: 'a/x', baseURL: base }, { model: 'b/y', baseURL: base }, { model: 'c/z', baseURL: base }]);
    const run = await spawnCli(['panel', '--panel', file, '--check', '--timeout', '5000']).done;
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain('UNHEALTHY: only 0 of 3 members answered; the quorum is 3.');
    expect(run.stdout).toContain(`Cannot reach 127.0.0.1:${port} (connection refused, ECONNREFUSED; ports 0, 1, 2): check the network and the base URL`);
    expect(run.stdout).not.toMatch(/Replace/);
    // The three identical connection errors are said once, in that line.
    expect(run.stdout).not.toMatch(/^port \d /m);
    const json = await spawnCli(['panel', '--panel', file, '--check', '--timeout', '5000', '--json']).done;
    expect((JSON.parse(json.stdout) as { unreachable?: boolean; host?: string }[]).every((r) => r.unreachable && r.host === `127.0.0.1:${port}`)).toBe(true);
  }, 30_000);

  it('a host that cannot be reached beside a healthy one: healthy when a quorum answered, and the host named', async () => {
    const base = await sandbox({ models: [{ model: 'acme/ok:free', answer: ANSWER }, { model: 'beta/ok:free', answer: ANSWER }] });
    const port = await closedPort();
    const file = panelFile(
      [
        { model: 'acme/ok:free', baseURL: base },
        { model: 'beta/ok:free', baseURL: base },
        { model: 'gamma/far:free', baseURL: `http://127.0.0.1:${port}/v1` },
      ],
      { quorum: 2 },
    );
    const run = await spawnCli(['panel', '--panel', file, '--check', '--timeout', '5000']).done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('HEALTHY: 2 of 3 members answered; the quorum is 2.');
    expect(run.stdout).toContain(`Cannot reach 127.0.0.1:${port} (connection refused, ECONNREFUSED; port 2)`);
    expect(run.stdout).not.toMatch(/Replace/);
  }, 30_000);

  it('prints each member as it arrives: the healthy ones while a hung one is still waited for, then its timeout with the time waited', async () => {
    const base = await sandbox({
      models: [
        { model: 'acme/ok:free', answer: ANSWER, latencyMs: 5 },
        { model: 'beta/ok:free', answer: ANSWER, latencyMs: 10 },
        { model: 'gamma/hang:free', fault: 'hang' },
      ],
    });
    const file = panelFile(['acme/ok:free', 'beta/ok:free', 'gamma/hang:free'].map((model) => ({ model, baseURL: base })), { quorum: 2 });
    const { child, done, output } = spawnCli(['panel', '--panel', file, '--check', '--timeout', '4000']);
    // Both healthy lines show up while the hung member is still running: nothing waits for it.
    await vi.waitFor(
      () => {
        expect(output().stdout).toMatch(/^0\s+acme\/ok:free\s+acme\s+ok\s+\d+ ms$/m);
        expect(output().stdout).toMatch(/^1\s+beta\/ok:free\s+beta\s+ok\s+\d+ ms$/m);
      },
      { timeout: 3000, interval: 20 },
    );
    expect(output().stdout).not.toMatch(/gamma\/hang/);
    expect(child.exitCode).toBeNull();
    expect(output().stdout).toMatch(/^Checking 3 members at 127\.0\.0\.1:\d+: .*no answer within 4 s is a timeout/m);

    const run = await done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^2\s+gamma\/hang:free\s+gamma\s+failed: timeout\s+4\d{3} ms$/m);
    expect(run.stdout).toContain('port 2 gamma/hang:free: timeout: no answer within 4000 ms');
    expect(run.stdout).toContain('Replace the failing members (port 2)');
  }, 30_000);

  it('retries a 429 once after its Retry-After: a transient one is healthy, a lasting one is "rate limited", a broken model is "replace"', async () => {
    const base = await sandbox({
      models: [
        { model: 'acme/ok:free', answer: ANSWER },
        { model: 'beta/burst:free', answer: ANSWER, fault: 'rate_limit', faultTimes: 1, retryAfterS: 1 },
        { model: 'gamma/limited:free', answer: ANSWER, fault: 'rate_limit', retryAfterS: 1 },
        { model: 'delta/broken:free', answer: ANSWER, fault: 'http_502' },
      ],
    });
    const file = panelFile(['acme/ok:free', 'beta/burst:free', 'gamma/limited:free', 'delta/broken:free'].map((model) => ({ model, baseURL: base })), { quorum: 2 });
    const run = await spawnCli(['panel', '--panel', file, '--check', '--timeout', '5000']).done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^1\s+beta\/burst:free\s+beta\s+ok\s+1\d{3} ms$/m);
    expect(run.stdout).toContain('port 1 beta/burst:free: ok after one retry of a 429');
    expect(run.stdout).toMatch(/^port 2 gamma\/limited:free: rate_limited \(again after one retry\): HTTP 429/m);
    expect(run.stdout).toContain('HEALTHY: 2 of 4 members answered; the quorum is 2.');
    expect(run.stdout).toContain('Rate limited (port 2): still 429 after one retry; wait a minute and check again');
    expect(run.stdout).toMatch(/Replace the failing members \(port 3\); .*panel --free lists free models\./);
    const sent = (model: string) => server!.requests.filter((r) => r.model === model).length;
    expect([sent('acme/ok:free'), sent('beta/burst:free'), sent('gamma/limited:free'), sent('delta/broken:free')]).toEqual([1, 2, 2, 1]);
  }, 30_000);

  it('--json says how many attempts a retried member took', async () => {
    const base = await sandbox({ models: [{ model: 'beta/burst:free', answer: ANSWER, fault: 'rate_limit', faultTimes: 1, retryAfterS: 0 }] });
    const run = await spawnCli(['panel', '--panel', panelFile([{ model: 'beta/burst:free', baseURL: base }]), '--check', '--json']).done;
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([{ port: 0, model: 'beta/burst:free', ok: true, kind: null, latencyMs: expect.any(Number), attempts: 2 }]);
  }, 30_000);
});
