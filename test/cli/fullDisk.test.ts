import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import { panelScenario, runCli, tempDir, writePanel } from '../helpers/cli.js';
import { runLines } from '../helpers/runLog.js';

const ENV = { OPENROUTER_API_KEY: 'sk-test' };

let server: SandboxServer | undefined;
let mnt: string | undefined;
let skip: string | undefined;

beforeEach(() => {
  skip = undefined;
  if (process.getuid?.() !== 0) return void (skip = 'needs root to mount a small tmpfs');
  mnt = tempDir('quorum-full-');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  if (mounted.status !== 0) skip = `cannot mount a tmpfs here: ${String(mounted.stderr).trim()}`;
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (mnt && !skip) spawnSync('umount', [mnt]);
  mnt = undefined;
});

/** Fills the tmpfs but for `leaveBytes`, with a file that can be removed to make room again. */
function fill(leaveBytes: number): string {
  const filler = join(mnt!, 'filler');
  const { bavail, bsize } = statfsSync(mnt!);
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - leaveBytes)));
  return filler;
}

/** Every log line in `out` is a whole JSON object, and the file ends with a newline. */
function expectWholeLogs(out: string): void {
  for (const file of readdirSync(out).filter((f) => f.endsWith('.jsonl'))) {
    const text = readFileSync(join(out, file), 'utf8');
    if (text === '') continue;
    expect(text.endsWith('\n'), file).toBe(true);
    for (const line of text.trimEnd().split('\n')) expect(() => JSON.parse(line), `${file}: ${line.slice(0, 60)}`).not.toThrow();
  }
}

/** The sandbox panel and an empty artifacts folder on the small disk. */
async function askSetup(): Promise<{ out: string; panel: string }> {
  const scenario = panelScenario();
  server = await startSandboxServer({ scenario });
  const out = join(mnt!, 'artifacts');
  mkdirSync(out);
  return { out, panel: writePanel(tempDir(), server.baseURL, scenario) };
}

describe('--out on a full disk', () => {
  it('a folder known to be full: one line, exit 1, and no model is asked', async (t) => {
    if (skip) return t.skip(skip);
    const { out, panel } = await askSetup();
    fill(0);
    const run = await runCli(['ask', 'What does the protocol do?', '--panel', panel, '--out', out], ENV);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--out .* is full \(ENOSPC\): no model was asked/);
    expect(server!.requests).toHaveLength(0);
  });

  it('a disk that fills during the run: the consensus is still printed, one line says what could not be written, exit 1; the next run leaves no torn line', async (t) => {
    if (skip) return t.skip(skip);
    const { out, panel } = await askSetup();
    const filler = fill(8 * 1024);
    const run = await runCli(['ask', 'What does the protocol do?', '--panel', panel, '--out', out, '--json'], ENV);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).claims.length).toBeGreaterThan(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(new RegExp(`^Error: Could not write the (artifacts|run files) in ${out}: .*(ENOSPC|no space)`));
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(runLines(out)).toHaveLength(0);

    rmSync(filler);
    const again = await runCli(['ask', 'What does the protocol do?', '--panel', panel, '--out', out, '--json'], ENV);
    expect(again.code).toBe(0);
    expect(runLines(out).map((l) => l.runId)).toEqual([JSON.parse(again.stdout).runId]);
    expectWholeLogs(out);
  });

  it('a batch that fills the disk stops asking, says how to resume, and --resume finishes with one run line per chunk', async (t) => {
    if (skip) return t.skip(skip);
    const scenario = panelScenario();
    server = await startSandboxServer({ scenario });
    const dir = tempDir();
    const specs = join(dir, 'specs');
    mkdirSync(specs);
    for (let f = 0; f < 12; f++) writeFileSync(join(specs, `s${f}.md`), `# Spec ${f}\n\nThe protocol ${f} keeps state and numbers every message.\n`);
    const out = join(mnt!, 'artifacts');
    mkdirSync(out);
    const panel = writePanel(dir, server.baseURL, scenario);
    const args = ['batch', specs, '--query', 'What does it say?', '--panel', panel, '--out', out, '--rounds', '1', '--concurrency', '1'];
    const filler = fill(40 * 1024);
    const run = await runCli(args, ENV);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Stopped: Could not write the (run log|artifacts) in /);
    expect(run.stderr).toMatch(/Resume with: (?:quorum|node \S+cli\.js) batch .* --resume/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const decided = runLines(out).length;
    expect(decided).toBeLessThan(12);
    // It stopped asking once the log could not be written: far fewer calls than the whole batch.
    expect(server.requests.length).toBeLessThan(12 * 8);

    rmSync(filler);
    const resumed = await runCli([...args, '--resume', '--json'], ENV);
    expect(resumed.code).toBe(0);
    const chunks = runLines(out).map((l) => l.chunk!.id);
    expect(chunks).toHaveLength(12);
    expect(new Set(chunks).size).toBe(12);
    expectWholeLogs(out);
  });
});
