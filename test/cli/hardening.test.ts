// Issue 11, rows 3, 4 and 6: a --context that is no regular file, an --out that cannot take a run,
// and SIGHUP. Real processes, real files, real signals, a loopback sandbox server.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readJsonl } from '../../src/sinks/readJsonl.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import { CLI, type CliRun, panelScenario, runCli, spawnCli, tempDir, writePanel } from '../helpers/cli.js';
import { runLines } from '../helpers/runLog.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
});

const ENV = { OPENROUTER_API_KEY: 'sk-test' };

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

/** The run's exit, or SIGKILL after `limitMs` (a hang): resolves with the time it took. */
async function within(cli: ReturnType<typeof spawnCli>, limitMs: number): Promise<CliRun & { ms: number; killed: boolean }> {
  const started = Date.now();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    cli.child.kill('SIGKILL');
  }, limitMs);
  const run = await cli.done;
  clearTimeout(timer);
  return { ...run, ms: Date.now() - started, killed };
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Error: '));

/** Every file under `dir`, relative paths. */
function allFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1));
}

/** A folder of one document long enough for several chunks. */
function specs(dir: string, sections: number): string {
  const root = join(dir, 'specs');
  mkdirSync(root, { recursive: true });
  const long = Array.from({ length: sections }, (_, s) => `## Section ${s}\n\n${Array.from({ length: 4 }, (_, p) => `Paragraph ${p} of section ${s} explains part ${s}.${p} of the protocol in some detail, with enough words to take space.`).join('\n\n')}`).join('\n\n');
  writeFileSync(join(root, 'long.md'), long);
  return root;
}

describe('row 3: a --context that is not a regular file is refused at once, without opening it', () => {
  it('a FIFO with no writer: exit 2 in well under a second, one line naming it a FIFO', async () => {
    const dir = tempDir('quorum-fifo-');
    const fifo = join(dir, 'pipe.md');
    const made = spawnSync('mkfifo', [fifo]);
    expect(made.status, `mkfifo failed: ${made.stderr}`).toBe(0);
    const out = join(dir, 'artifacts');
    const run = await within(spawnCli(['ask', 'q?', '--context', fifo, '--out', out], ENV), 10_000);
    expect(run.killed, 'the CLI hung on the FIFO and had to be killed').toBe(false);
    expect(run.code).toBe(2);
    expect(run.ms).toBeLessThan(5_000); // the issue asks < 1 s; generous on a loaded machine
    expect(errorLines(run.stderr)).toEqual([expect.stringMatching(new RegExp(`--context ${fifo.replace(/[.]/g, '\\.')} is a FIFO \\(named pipe\\), not a regular file`))]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it('/dev/zero: exit 2, called a character device (not "empty")', async () => {
    const out = join(tempDir('quorum-zero-'), 'artifacts');
    const run = await within(spawnCli(['ask', 'q?', '--context', '/dev/zero', '--out', out], ENV), 10_000);
    expect(run.killed).toBe(false);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual([expect.stringMatching(/--context \/dev\/zero is a character device, not a regular file/)]);
    expect(run.stderr).not.toMatch(/is empty/);
    expect(existsSync(out)).toBe(false);
  });

  it('a regular file still works, also through a symlink', async () => {
    const scenario = panelScenario();
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-ctx-ok-');
    const doc = join(dir, 'doc.md');
    writeFileSync(doc, 'The protocol uses port 8080 by default.\n');
    spawnSync('ln', ['-s', doc, join(dir, 'link.md')]);
    const run = await runCli(['ask', 'q?', '--context', join(dir, 'link.md'), '--panel', writePanel(dir, server.baseURL, scenario), '--out', join(dir, 'artifacts'), '--rounds', '1', '--json'], ENV);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).status).toBeDefined();
    expect(server.requests.length).toBeGreaterThan(0);
  });
});

/** Runs the built CLI as the unprivileged user 65534 (nobody) through setpriv. */
function runAsNobody(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code, sig) => resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr })));
}

const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const nobodyReason = !isRoot ? 'not running as root, so setpriv cannot switch to an unprivileged user' : !hasSetpriv ? 'setpriv is missing' : '';
if (nobodyReason) console.warn(`row 4, read-only --out as a non-root user: skipped (${nobodyReason})`);

describe('row 4: an --out that cannot take the run fails before the first model call', () => {
  it('an existing file as --out: ask and batch exit 2 with one line, zero model calls', async () => {
    const scenario = panelScenario();
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-outfile-');
    const out = join(dir, 'artifacts.txt');
    writeFileSync(out, 'not a folder\n');
    const panel = writePanel(dir, server.baseURL, scenario);
    for (const args of [
      ['ask', 'q?', '--panel', panel, '--out', out],
      ['batch', specs(dir, 4), '--query', 'Q?', '--panel', panel, '--out', out, '--chunk-tokens', '120'],
    ]) {
      const run = await within(spawnCli(args, ENV), 30_000);
      expect(run.code, `${args[0]}: ${run.stderr}`).toBe(2);
      expect(errorLines(run.stderr)).toEqual([expect.stringMatching(new RegExp(`^Error: --out ${out.replace(/[.]/g, '\\.')} is a regular file, not a folder; give a folder`))]);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(server.requests).toHaveLength(0);
    }
    // watch, in-process: it would otherwise wait for files; the signal ends it in any case.
    const watched = await runCli(['watch', join(dir, 'specs'), '--query', 'Q?', '--panel', panel, '--out', out], ENV, AbortSignal.timeout(5_000));
    expect(watched.code).toBe(2);
    expect(errorLines(watched.stderr)).toEqual([expect.stringMatching(/is a regular file, not a folder/)]);
    expect(server.requests).toHaveLength(0);
  });

  it('a missing --out is still created (the probe leaves nothing behind)', async () => {
    const scenario = panelScenario();
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-outnew-');
    const out = join(dir, 'a', 'b', 'artifacts');
    const run = await runCli(['ask', 'q?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--rounds', '1'], ENV);
    expect(run.code).toBe(0);
    expect(runLines(out)).toHaveLength(1);
    expect(allFiles(out).filter((f) => f.includes('probe'))).toEqual([]);
  });

  it.skipIf(Boolean(nobodyReason))('a read-only --out as a non-root user: ask, batch and replay exit 2 with one line, zero model calls', async () => {
    const scenario = panelScenario();
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-outro-');
    const panel = writePanel(dir, server.baseURL, scenario);
    const root = specs(dir, 4);
    // A folder nobody may read but not write (root's 0755), with one recorded run for replay.
    const out = join(dir, 'artifacts');
    const recorded = await runCli(['ask', 'q?', '--panel', panel, '--out', out, '--rounds', '1'], ENV);
    expect(recorded.code).toBe(0);
    const runId = runLines(out)[0]!.runId;
    const calls = server.requests.length;
    spawnSync('chmod', ['-R', 'a+rX', dir]);
    chmodSync(out, 0o755);
    for (const args of [
      ['ask', 'q?', '--panel', panel, '--out', out],
      ['batch', root, '--query', 'Q?', '--panel', panel, '--out', out, '--chunk-tokens', '120'],
      ['replay', runId, '--out', out, '--rounds', '1'],
    ]) {
      const run = await runAsNobody(args, { ...ENV, HOME: dir });
      expect(run.code, `${args[0]}: ${run.stderr}`).toBe(2);
      expect(errorLines(run.stderr)).toEqual([expect.stringMatching(new RegExp(`^Error: --out ${out.replace(/[.]/g, '\\.')} is not writable \\(EACCES\\); give a folder you can write to`))]);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(server.requests).toHaveLength(calls);
    }
    // A missing folder under a read-only parent cannot be created: the same, one line.
    const nested = await runAsNobody(['ask', 'q?', '--panel', panel, '--out', join(out, 'new')], ENV);
    expect(nested.code).toBe(2);
    expect(errorLines(nested.stderr)).toEqual([expect.stringMatching(/--out .*new cannot be created \(EACCES\)/)]);
    expect(server.requests).toHaveLength(calls);
  });
});

describe('row 6: SIGHUP stops like SIGTERM, orderly, and exits 129', () => {
  it('ask: run.completed "interrupted" and every span flushed, exit 129, no temp file left', async () => {
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ fault: 'hang' as const })));
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-hup-');
    const out = join(dir, 'artifacts');
    const cli = spawnCli(['ask', 'q?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out], ENV);
    await until(() => server!.requests.length === 8, 'all eight requests');
    cli.child.kill('SIGHUP');
    const run = await within(cli, 30_000);
    expect(run.code).toBe(129);
    expect(run.stderr).toMatch(/Interrupted: run .* cancelled; no consensus was written/);
    const events = await readJsonl<Record<string, any>>(join(out, 'cloudevents.jsonl'));
    expect(events.skipped).toBe(0);
    expect(events.records.at(-1)).toMatchObject({ type: 'quorum.run.completed', data: { status: 'interrupted' } });
    const spans = await readJsonl<Record<string, any>>(join(out, 'traces.jsonl'));
    expect(spans.skipped).toBe(0);
    expect(spans.records.filter((s) => s.name === 'query_model')).toHaveLength(8);
    expect(spans.records.some((s) => s.name === 'scatter')).toBe(true);
    expect(allFiles(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('watch: stops watching with everything flushed and exits 129', async () => {
    const dir = tempDir('quorum-hup-watch-');
    mkdirSync(join(dir, 'inbox'));
    const cli = spawnCli(['watch', join(dir, 'inbox'), '--query', 'Q?', '--sandbox', '--out', join(dir, 'artifacts')]);
    await until(() => /Watching /.test(cli.output().stderr), 'the watcher to start');
    cli.child.kill('SIGHUP');
    const run = await within(cli, 30_000);
    expect(run.code).toBe(129);
    expect(run.stderr).toMatch(/Stopped watching; every artifact is flushed/);
  });

  it('batch: prints the resume hint, exits 129; --resume finishes it and no temp file survives', async () => {
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ latencyMs: 60 })));
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-hup-batch-');
    const out = join(dir, 'artifacts');
    const args = ['batch', specs(dir, 12), '--query', 'Q?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--chunk-tokens', '120', '--rounds', '1', '--concurrency', '2', '--run-files'];
    const cli = spawnCli(args, ENV);
    await until(() => runLines(out).length >= 2, 'two decided chunks');
    cli.child.kill('SIGHUP');
    const run = await within(cli, 30_000);
    expect(run.code).toBe(129);
    expect(run.stderr).toMatch(/Interrupted: in-flight chunks were cancelled/);
    expect(run.stderr).toMatch(/Resume with: (?:quorum|node \S+cli\.js) batch .* --resume/);
    const events = (await readJsonl<Record<string, any>>(join(out, 'cloudevents.jsonl'))).records;
    expect(events.some((e) => e.type === 'quorum.run.completed' && e.data?.status === 'interrupted')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'quorum.batch.completed' });
    expect(allFiles(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const resumed = await runCli([...args, '--resume', '--json'], ENV);
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(runLines(out)).toHaveLength(summary.chunks);
    expect(allFiles(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
