import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchLine } from '../../src/runlog/lines.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { Scenario } from '../../src/sandbox/scenario.js';
import { type CliRun, panelScenario, spawnCli, tempDir, writePanel } from '../helpers/cli.js';
import { logLines, runLines } from '../helpers/runLog.js';

/**
 * Issue 11, row 7: one batch of a command runs at a time in a folder. A running batch holds
 * `<out>/.batch-<key>.lock` (pid, host, start, batch id); a second identical batch, or a
 * `--resume`, is refused naming the pid; `--resume <batchId>` picks a batch; a dead owner's lock
 * (SIGKILL) is taken over.
 */

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const ENV = { OPENROUTER_API_KEY: 'sk-test' };

function specs(dir: string, sections: number): string {
  const root = join(dir, 'specs');
  mkdirSync(root, { recursive: true });
  const long = Array.from({ length: sections }, (_, s) => `## Section ${s}\n\n${Array.from({ length: 4 }, (_, p) => `Paragraph ${p} of section ${s} explains part ${s}.${p} of the protocol in some detail, with enough words to take space.`).join('\n\n')}`).join('\n\n');
  writeFileSync(join(root, 'long.md'), long);
  return root;
}

/** A guard, not a timing assert: a process that never ends (today's code, a hung batch) is killed and the test fails on its exit code. */
async function within(cli: ReturnType<typeof spawnCli>, limitMs = 30_000): Promise<CliRun> {
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), limitMs);
  const run = await cli.done;
  clearTimeout(timer);
  return run;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const setFault = (scenario: Scenario, fault: 'hang' | undefined) => {
  for (const model of scenario.models) model.fault = fault;
};
const locks = (out: string) => readdirSync(out).filter((name) => name.startsWith('.batch-'));
const batchLines = (out: string) => logLines<BatchLine>(out, 'batches.jsonl');
const hanging = (s: SandboxServer) => s.requests.filter((r) => r.fault === 'hang' && !r.disconnected).length;

/** A long per-call timeout, so a hanging batch makes no new request (no retry) while the test looks at it. */
const PANEL = { timeoutMs: 600_000 };

async function folder(prefix: string, sections: number, overrides: Parameters<typeof panelScenario>[0] = []) {
  const scenario = panelScenario(overrides);
  server = await startSandboxServer({ scenario });
  const dir = tempDir(prefix);
  const out = join(dir, 'artifacts');
  const panel = writePanel(dir, server.baseURL, scenario, PANEL);
  const args = ['batch', specs(dir, sections), '--query', 'What does the spec say?', '--panel', panel, '--out', out, '--chunk-tokens', '120', '--rounds', '1', '--concurrency', '2'];
  return { scenario, server, dir, out, args };
}

describe('row 7: one running batch per command and folder', () => {
  it('a second identical batch while the first runs: exit 2, one line naming the pid, no model call, nothing written; --resume is refused too', async () => {
    const { server, out, args } = await folder('quorum-lock-two-', 8, Array.from({ length: 8 }, () => ({ fault: 'hang' as const })));
    const first = spawnCli(args, ENV);
    await until(() => hanging(server) >= 16, 'the first batch to wait on 16 hanging calls');
    const calls = server.requests.length;

    const second = await within(spawnCli(args, ENV));
    expect(second.code).toBe(2);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toMatch(new RegExp(`already running into .* \\(pid ${first.child.pid}\\b`));
    const [lock] = locks(out);
    expect(JSON.parse(readFileSync(join(out, lock!), 'utf8'))).toMatchObject({ pid: first.child.pid, host: hostname(), batchId: batchLines(out)[0]!.batchId });
    const resume = await within(spawnCli([...args, '--resume'], ENV));
    expect(resume.code).toBe(2);
    expect(resume.stderr.trim().split('\n')).toHaveLength(1);
    expect(resume.stderr).toMatch(new RegExp(`is running \\(pid ${first.child.pid}\\b.*--resume never attaches to a running batch`));
    expect(server.requests.length).toBe(calls);
    expect(batchLines(out).filter((l) => l.type === 'started')).toHaveLength(1);

    first.child.kill('SIGINT');
    expect((await within(first)).code).toBe(130);
    expect(locks(out)).toEqual([]);
  }, 60_000);

  it('Ctrl-C of the first of two (the second refused), then --resume finishes it with exactly one run line per chunk', async () => {
    const { scenario, server, out, args } = await folder('quorum-lock-int-', 20, Array.from({ length: 8 }, () => ({ latencyMs: 60 })));
    const first = spawnCli(args, ENV);
    await until(() => runLines(out).length >= 2, 'two decided chunks');
    // From here on every call hangs: the first batch keeps running (it cannot end), with chunks
    // decided and chunks left.
    setFault(scenario, 'hang');
    await until(() => hanging(server) >= 1, 'a hanging call');
    const second = await within(spawnCli(args, ENV));
    expect(second.code).toBe(2);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toMatch(new RegExp(`pid ${first.child.pid}\\b`));

    first.child.kill('SIGINT');
    const interrupted = await within(first);
    expect(interrupted.code).toBe(130);
    const batchId = batchLines(out).find((l) => l.type === 'started')!.batchId;
    expect(interrupted.stderr).toContain(`--resume ${batchId}`);
    const decided = runLines(out).length;
    expect(decided).toBeGreaterThanOrEqual(2);

    setFault(scenario, undefined);
    const resumed = await within(spawnCli([...args, '--resume', '--json'], ENV));
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary).toMatchObject({ batchId, outcome: 'completed' });
    expect(summary.alreadyDone).toBe(decided);
    const lines = runLines(out);
    expect(lines).toHaveLength(summary.chunks);
    expect(lines.every((l) => l.batchId === batchId)).toBe(true);
    expect(new Set(lines.map((l) => l.chunk!.id)).size).toBe(lines.length);
    // The refused batch left no trace: the log holds the one batch, started and resumed.
    expect(new Set(batchLines(out).map((l) => l.batchId))).toEqual(new Set([batchId]));
    expect(locks(out)).toEqual([]);
  }, 90_000);

  it("a SIGKILLed batch's lock (its pid dead) does not block --resume, which takes it over and releases it", async () => {
    const { out, args } = await folder('quorum-lock-kill-', 12, Array.from({ length: 8 }, () => ({ latencyMs: 60 })));
    const first = spawnCli(args, ENV);
    await until(() => runLines(out).length >= 2, 'two decided chunks');
    first.child.kill('SIGKILL');
    await first.done;
    // SIGKILL runs no handler: the lock stays, naming a pid that is gone.
    const [lock] = locks(out);
    expect(JSON.parse(readFileSync(join(out, lock!), 'utf8'))).toMatchObject({ pid: first.child.pid });

    const resumed = await within(spawnCli([...args, '--resume', '--json'], ENV));
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    const lines = runLines(out);
    expect(lines).toHaveLength(summary.chunks);
    expect(new Set(lines.map((l) => l.chunk!.id)).size).toBe(lines.length);
    expect(locks(out)).toEqual([]);
  }, 60_000);

  it('--resume <batchId> finishes that batch, not the latest; an unknown id or another command\'s batch is exit 2, one line', async () => {
    const { scenario, out, args } = await folder('quorum-lock-id-', 6, Array.from({ length: 8 }, () => ({ fault: 'rate_limit' as const, retryAfterS: 6 * 3600 })));
    // Two batches of the same command, both stopped by a spent quota before deciding anything.
    const a = await within(spawnCli(args, ENV));
    const b = await within(spawnCli(args, ENV));
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([1, 1]);
    const [first, second] = batchLines(out).filter((l) => l.type === 'started').map((l) => l.batchId);
    expect(first).not.toBe(second);
    expect(b.stderr).toContain(`--resume ${second}`);

    const unknown = await within(spawnCli([...args, '--resume', '20200101T000000Z-abcdef'], ENV));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/No batch 20200101T000000Z-abcdef in .*batches\.jsonl/);
    const other = await within(spawnCli([...args.map((x) => (x === 'What does the spec say?' ? 'Another question?' : x)), '--resume', first!], ENV));
    expect(other.code, other.stderr).toBe(2);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect(other.stderr).toMatch(new RegExp(`Batch ${first} was started with another query`));

    setFault(scenario, undefined);
    const resumed = await within(spawnCli([...args, '--resume', first!, '--json'], ENV));
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary).toMatchObject({ batchId: first, outcome: 'completed' });
    const lines = runLines(out);
    expect(lines).toHaveLength(summary.chunks);
    expect(lines.every((l) => l.batchId === first)).toBe(true);
    expect(batchLines(out).filter((l) => l.type === 'started' && l.resumed).map((l) => l.batchId)).toEqual([first]);
    expect(locks(out)).toEqual([]);
  }, 60_000);
});
