import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, ftruncateSync, mkdirSync, openSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir, type CliRun } from '../helpers/cli.js';

/** `quorum runs`: the recent runs from the end of runs.jsonl, through the built binary. */

let dir = '';
let bin = '';
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  dir = tempDir('quorum-runs-');
  bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(CLI, join(bin, 'quorum'));
});

/** The binary as `quorum` on PATH, so the commands it prints can be run back the same way. */
function cli(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(bin, 'quorum'), ...args], { env: { PATH: `${bin}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Splits a printed command line the way a POSIX shell would for plain and "double-quoted" words. */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** A run line with the fields `runs` and the SQL views read; the rest of a RunLine is not needed here. */
function runLine(i: number, query = `Question number ${i}?`): string {
  const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  return JSON.stringify({
    runId: `20260101T000000Z-${i.toString(16).padStart(6, '0')}`,
    query,
    status: i % 3 === 0 ? 'degraded' : 'consensus',
    claims: Array.from({ length: i % 4 }, (_, k) => ({ text: `claim ${k}`, support: 6, ports: [0, 1, 2, 3, 4, 5] })),
    dissent: [],
    failures: [],
    chunk: null,
    startedAt: at,
    finishedAt: at,
    sandbox: i % 2 === 0,
    models: [],
  });
}

describe('quorum runs', () => {
  it('lists the newest runs first, cut to the width, with --limit and a pointer to sql that runs', async () => {
    const out = join(dir, 'small');
    mkdirSync(out);
    const long = `A very long question ${'about many things '.repeat(20)}that ends here?`;
    writeFileSync(join(out, 'runs.jsonl'), [1, 2, 3, 4].map((i) => runLine(i, i === 4 ? long : undefined)).join('\n') + '\n{"torn": tru\n' + runLine(5) + '\n');

    const all = await cli(['runs', '--out', out]);
    expect(all.code, all.stderr).toBe(0);
    const rows = all.stdout.split('\n').filter((l) => /^\d{4}-/.test(l));
    expect(rows.map((r) => /(\S+)$/.exec(r)![1])).toEqual([5, 4, 3, 2, 1].map((i) => `20260101T000000Z-${i.toString(16).padStart(6, '0')}`));
    expect(rows[0]).toMatch(/^2026-01-01 00:05Z {2}consensus +1 {2}Question number 5\?/);
    expect(rows[2]).toMatch(/degraded/);
    // Not a terminal: lines fit 120 columns; the long question is cut with an ellipsis.
    for (const line of all.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(120);
    expect(rows[1]).toMatch(/A very long question about many things .*…/);
    expect(all.stdout).not.toMatch(/sql -c/);
    expect(all.stdout).toMatch(/One run: quorum show 20260101T000000Z-000005 --out /);

    const two = await cli(['runs', '--limit', '2', '--out', out]);
    expect(two.stdout.split('\n').filter((l) => /^\d{4}-/.test(l))).toHaveLength(2);
    const pointer = /more with --limit N, or with SQL: (quorum sql .*)$/m.exec(two.stdout)?.[1];
    expect(pointer, two.stdout).toBeDefined();
    // The printed command runs as printed.
    const sql = await cli(words(pointer!).slice(1));
    expect(sql.code, sql.stderr).toBe(0);
    expect(sql.stdout).toMatch(/Question number 5\?/);

    const json = await cli(['runs', '--limit', '1', '--json', '--out', out]);
    expect(JSON.parse(json.stdout)).toEqual([
      { time: '2026-01-01T00:05:00.000Z', status: 'consensus', claims: 1, query: 'Question number 5?', runId: '20260101T000000Z-000005', sandbox: false },
    ]);
  });

  it('reads only the end of a 64,000-run log (a 2 GB hole before the runs is never read)', async () => {
    const out = join(dir, 'big');
    mkdirSync(out);
    const path = join(out, 'runs.jsonl');
    // A sparse 2 GB run of NUL bytes with no newline, then 64,000 runs: reading the file from the
    // start would have to get through the hole (a single 2 GB "line", more than a string holds).
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 2 * 1024 ** 3);
    closeSync(fd);
    const batch: string[] = [];
    for (let i = 1; i <= 64_000; i++) {
      batch.push(runLine(i));
      if (batch.length === 8000) appendFileSync(path, `\n${batch.splice(0).join('\n')}`);
    }
    appendFileSync(path, '\n');
    expect(statSync(path).size).toBeGreaterThan(2 * 1024 ** 3);

    const run = await cli(['runs', '--limit', '3', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n').filter((l) => /^\d{4}-/.test(l)).map((r) => /(\S+)$/.exec(r)![1])).toEqual(
      [64_000, 63_999, 63_998].map((i) => `20260101T000000Z-${i.toString(16).padStart(6, '0')}`),
    );
    expect(run.stdout).toMatch(/The 3 most recent; more with --limit N/);
  }, 60_000);

  it('says what to do in a folder with no run, and refuses a missing folder', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const none = await cli(['runs', '--out', empty]);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/No run decided in .*empty yet \(runs\.jsonl holds none\)\. Try: quorum ask "What is Raft\?" --sandbox --out /);

    const missing = await cli(['runs', '--out', join(dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^Error: Artifacts folder .*nope does not exist; run quorum ask "What is Raft\?" --sandbox first/);
  });
});
