/**
 * `quorum report` and signals and pipes (issue 11, rows 12 and 13): a Ctrl-C that comes at any
 * time, even before DuckDB has started, writes no report and exits 130; a reader that closes the
 * pipe (`report --to - | head`) ends the output quietly, exit 0, through the real binary.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateReport, ReportInterrupted } from '../../src/report/generate.js';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';
import { twoRunFolder } from '../sql/logs.js';

describe('report and Ctrl-C', () => {
  it('a signal that came before the report started: ReportInterrupted, nothing written', async () => {
    const out = twoRunFolder();
    const to = join(tempDir('quorum-report-int-'), 'r.html');
    await expect(generateReport({ out, target: { kind: 'all' }, to, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ReportInterrupted);
    expect(existsSync(to)).toBe(false);
    expect(readdirSync(out)).not.toContain('reports');
  }, 60_000);

  it('through the CLI: exit 130, one line', async () => {
    const out = twoRunFolder();
    const run = await runCli(['report', '--all', '--out', out, '--to', '-'], {}, AbortSignal.abort());
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('Interrupted: no report was written\n');
    expect(run.code).toBe(130);
  }, 60_000);

  it('HOME and QUORUM_CACHE_DIR that cannot be created do not matter', async () => {
    const out = twoRunFolder();
    const run = await spawnCli(['report', '--all', '--out', out, '--to', '-'], { HOME: '/nonexistent/x', QUORUM_CACHE_DIR: '/nonexistent/y', XDG_CACHE_HOME: '/nonexistent/z' }).done;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^<!doctype html>/i);
  }, 60_000);
});

describe('report --to - into a pipe the reader closed', () => {
  it('ends quietly: exit 0, nothing on stderr', async () => {
    const out = twoRunFolder();
    const { child, done } = spawnCli(['report', '--all', '--out', out, '--to', '-']);
    // The reader is gone before the report is written, as with `| head -c 0` or a `| true`.
    child.stdout.destroy();
    const run = await done;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  }, 60_000);

  it('also when the reader goes after the first chunk (| head)', async () => {
    const out = twoRunFolder();
    const { child, done } = spawnCli(['report', '--all', '--out', out, '--to', '-']);
    child.stdout.once('data', () => child.stdout.destroy());
    const run = await done;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  }, 60_000);
});
