import { mkdirSync, utimesSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { ConsensusDocument } from '../../src/types.js';
import { panelScenario, runCli, spawnCli, startCli, tempDir, writePanel } from '../helpers/cli.js';
import { runLines } from '../helpers/runLog.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const ENV = { OPENROUTER_API_KEY: 'sk-test' };
const docs = (out: string): ConsensusDocument[] => runLines(out);
const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 600 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};
/** How often the watcher has reported `file` as unchanged: its proof that it looked and ran nothing. */
const unchangedReports = (stdout: string, file: string) => stdout.split('\n').filter((l) => l === `${file}: same content as last researched; not run again`).length;

/** Starts `quorum watch` in-process; `stop()` is Ctrl-C. */
function watcher(dir: string, out: string, panel: string) {
  return startCli(['watch', dir, '--query', 'What does it say?', '--panel', panel, '--out', out, '--rounds', '1', '--grace', '-1'], ENV);
}

describe('quorum watch', () => {
  it('researches a new file, re-runs a changed one linked to the earlier run, and skips touched or re-saved ones, across restarts', async () => {
    const scenario = panelScenario();
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-watch-');
    const folder = join(dir, 'inbox');
    mkdirSync(folder);
    const out = join(dir, 'artifacts');
    const panel = writePanel(dir, server.baseURL, scenario);
    let w = watcher(folder, out, panel);

    writeFileSync(join(folder, 'a.md'), '# A\n\nThe protocol is small.\n');
    writeFileSync(join(folder, '.hidden.md'), 'secret\n');
    writeFileSync(join(folder, 'a.md.swp'), 'swap\n');
    writeFileSync(join(folder, 'notes.bin'), 'binary-ish\n');
    await until(() => docs(out).length === 1, 'the first consensus');
    const first = docs(out)[0]!;
    expect(first.chunk!.source).toBe('a.md');

    writeFileSync(join(folder, 'a.md'), '# A\n\nThe protocol is small and fast.\n');
    await until(() => docs(out).length === 2, 'the re-run of the changed file');
    const second = docs(out).find((d) => d.runId !== first.runId)!;
    expect(second.supersedes).toEqual([first.runId]);

    const now = new Date();
    utimesSync(join(folder, 'a.md'), now, now);
    writeFileSync(join(folder, 'a.md'), '# A\n\nThe protocol is small and fast.\n');
    // The watcher saw the touch/re-save and decided: no run. Only then is "still 2 runs" a finding.
    await until(() => unchangedReports(w.output().stdout, 'a.md') >= 1, 'the watcher to report a.md unchanged');
    expect(docs(out)).toHaveLength(2);
    expect(server.requests).toHaveLength(16);
    const stopped = await w.stop();
    expect(stopped.code).toBe(130);
    expect(stopped.stdout).toMatch(/a\.md: same content as last researched; not run again/);

    // A restart sees a.md again at start-up: same content, so no new run.
    w = watcher(folder, out, panel);
    await until(() => unchangedReports(w.output().stdout, 'a.md') === 1, 'the restarted watcher to report a.md unchanged');
    expect(docs(out)).toHaveLength(2);
    expect(server.requests).toHaveLength(16);
    await w.stop();
    expect(docs(out).every((d) => d.chunk!.source === 'a.md')).toBe(true);
  });

  it('ignores a symlink that leads out of the folder and survives a file deleted mid-run', async () => {
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ latencyMs: 150 })));
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-watch2-');
    const folder = join(dir, 'inbox');
    mkdirSync(folder);
    writeFileSync(join(dir, 'outside.md'), 'Outside the folder.\n');
    symlinkSync(join(dir, 'outside.md'), join(folder, 'link.md'));
    const out = join(dir, 'artifacts');
    const w = watcher(folder, out, writePanel(dir, server.baseURL, scenario));
    writeFileSync(join(folder, 'doomed.md'), 'Short-lived.\n');
    await until(() => server!.requests.length > 0, 'the run on doomed.md');
    const { rmSync } = await import('node:fs');
    rmSync(join(folder, 'doomed.md'));
    writeFileSync(join(folder, 'b.md'), 'Still here.\n');
    await until(() => docs(out).some((d) => d.chunk!.source === 'b.md'), 'b.md researched');
    await w.stop();
    expect(docs(out).some((d) => d.chunk!.source === 'link.md')).toBe(false);
  });

  it('stops on SIGINT with 130', async () => {
    const dir = tempDir('quorum-watch3-');
    mkdirSync(join(dir, 'inbox'));
    const cli = spawnCli(['watch', join(dir, 'inbox'), '--query', 'Q?', '--sandbox', '--out', join(dir, 'a')]);
    await until(() => /Watching/.test(cli.output().stderr), 'the watcher to start');
    cli.child.kill('SIGINT');
    const run = await cli.done;
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/Stopped watching/);
  });

  it('a missing folder is exit 2', async () => {
    const run = await runCli(['watch', join(tempDir(), 'nope'), '--query', 'Q?', '--sandbox'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Folder .*nope does not exist/);
  });
});
