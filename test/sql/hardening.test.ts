/**
 * `quorum sql` under attack and abuse (issue 11, rows 2, 12, 13), through the real binary
 * (dist/bin/cli.js) as a child process where signals and pipes matter:
 *   - reads stay inside the artifacts folder (and quorum's own scratch folder): /etc/passwd,
 *     read_blob, glob('/root/*'), a `..` path and a symlink pointing out are refused, one line, exit 2;
 *   - Ctrl-C / SIGTERM stop a long query promptly (exit 130), even one signalled before DuckDB started;
 *   - HOME and QUORUM_CACHE_DIR that cannot be created do not matter;
 *   - a reader that closes the pipe early (`| head`) ends the output quietly, exit 0.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';
import { twoRunFolder } from './logs.js';
import { oneErrorLine, sqlFile } from './runSql.js';

/** A file outside every artifacts folder, with a marker that must never reach the output. */
function secretFile(): string {
  const path = join(tempDir('quorum-sql-secret-'), 'secret.txt');
  writeFileSync(path, 'SECRET-MARKER-7f3a\n');
  return path;
}

const sq = (text: string) => `'${text.replace(/'/g, "''")}'`;

describe('quorum sql reads only the artifacts folder', () => {
  const out = twoRunFolder();
  const secret = secretFile();
  const secretCsv = `${secret}.csv`;
  writeFileSync(secretCsv, 'a,b\nSECRET-MARKER-7f3a,1\n');
  symlinkSync(secret, join(out, 'innocent.jsonl'));
  const escapes: [string, string][] = [
    ['read_text of /etc/passwd', "SELECT * FROM read_text('/etc/passwd')"],
    ['read_blob of /etc/passwd', "SELECT * FROM read_blob('/etc/passwd')"],
    ['read_text of a file outside', `SELECT * FROM read_text(${sq(secret)})`],
    ['glob of /root', "SELECT * FROM glob('/root/*')"],
    ['glob of the secret folder', `SELECT * FROM glob(${sq(join(secret, '..', '*'))})`],
    ['a .. path out of the folder', `SELECT * FROM read_text(${sq(`${out}/../../${secret.split('/').slice(-2).join('/')}`)})`],
    ['a symlink in the folder pointing out', `SELECT * FROM read_text(${sq(join(out, 'innocent.jsonl'))})`],
    ['a glob that takes in the symlink', `SELECT * FROM read_text(${sq(join(out, '*.jsonl'))})`],
    ['read_csv of a file outside', `SELECT * FROM read_csv(${sq(secret)}, header = false)`],
    ['read_json_auto of a file outside', `SELECT * FROM read_json_auto(${sq(secret)})`],
    ['a file named in FROM', `SELECT * FROM ${sq(secretCsv)}`],
    ['inside an EXPLAIN', `EXPLAIN SELECT * FROM read_text(${sq(secret)})`],
  ];

  it.each(escapes)('%s: refused, one line, exit 2', async (_, query) => {
    const run = await spawnCli(['sql', sqlFile(query), '--out', out, '--format', 'json']).done;
    expect(run.stdout).toBe('');
    expect(oneErrorLine(run.stderr)).toMatch(/: refused reading .*: quorum's SQL reads only files inside the artifacts folder /);
    expect(run.stderr).not.toContain('SECRET-MARKER');
    expect(run.code).toBe(2);
  });

  it('says when the file refused is a symlink in the folder', async () => {
    const run = await spawnCli(['sql', sqlFile(`SELECT * FROM read_text(${sq(join(out, 'innocent.jsonl'))})`), '--out', out]).done;
    expect(oneErrorLine(run.stderr)).toMatch(/\(this one is a symlink that points out of it\)$/);
  });

  it('still reads the folder: its files, a glob of it, the views, a folder reached through a symlink', async () => {
    const files = await runCli(['sql', sqlFile(`SELECT count(*) AS n FROM read_text(${sq(join(out, 'runs.jsonl'))})`), '--out', out, '--format', 'json']);
    expect(files.stderr).toBe('');
    expect(JSON.parse(files.stdout)).toEqual([{ n: 1 }]);
    const listed = await runCli(['sql', sqlFile(`SELECT file FROM glob(${sq(join(out, '*'))}) ORDER BY file`), '--out', out, '--format', 'json']);
    expect(JSON.parse(listed.stdout).map((r: { file: string }) => r.file.split('/').pop())).toEqual(['answers.jsonl', 'innocent.jsonl', 'runs.jsonl']);
    const link = join(tempDir('quorum-sql-link-'), 'artifacts');
    symlinkSync(out, link);
    for (const folder of [out, link]) {
      const run = await spawnCli(['sql', 'consensus_rate', '--out', folder, '--format', 'json']).done;
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).length).toBeGreaterThan(0);
    }
  });

  it('a log in the folder that is a symlink pointing out is refused when a view reads it', async () => {
    const folder = join(tempDir('quorum-sql-loglink-'), 'artifacts');
    mkdirSync(folder);
    writeFileSync(join(folder, 'runs.jsonl'), '');
    symlinkSync(secret, join(folder, 'cloudevents.jsonl'));
    const run = await spawnCli(['sql', sqlFile('SELECT * FROM events'), '--out', folder]).done;
    expect(oneErrorLine(run.stderr)).toMatch(/refused reading .*cloudevents\.jsonl: .*symlink/);
    expect(run.stderr + run.stdout).not.toContain('SECRET-MARKER');
    expect(run.code).toBe(2);
  });
});

/** A query that runs for hours unless interrupted, reading nothing from disk. */
const SLOW = 'SELECT sum(a) FROM range(100000000000000) t(a);';

describe('Ctrl-C and SIGTERM always stop sql', () => {
  const out = twoRunFolder();

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during a long query: exit 130 within seconds`, async () => {
      const { child, done } = spawnCli(['sql', sqlFile(SLOW), '--out', out]);
      // Long enough for DuckDB to be well into the query on a loaded machine.
      await new Promise((r) => setTimeout(r, 2500));
      const sent = Date.now();
      child.kill(signal);
      const run = await done;
      expect(run.code).toBe(130);
      expect(run.stderr).toBe('Interrupted: the query was cancelled.\n');
      expect(Date.now() - sent).toBeLessThan(20_000);
    }, 60_000);
  }

  it('a signal that came while DuckDB was starting still stops the query', async () => {
    const aborted = AbortSignal.abort();
    const run = await runCli(['sql', sqlFile(SLOW), '--out', out], {}, aborted);
    expect(run.code).toBe(130);
    expect(run.stderr).toBe('Interrupted: the query was cancelled.\n');
  }, 30_000);

  it('a signal between two statements stops the second', async () => {
    const controller = new AbortController();
    // The first statement is quick; the abort lands before the second one starts.
    const run = runCli(['sql', sqlFile(`SET VARIABLE x = 1;\n${SLOW}`), '--out', out], {}, controller.signal);
    controller.abort();
    const result = await run;
    expect(result.code).toBe(130);
  }, 30_000);

  it('HOME and QUORUM_CACHE_DIR that cannot be created do not matter', async () => {
    const run = await spawnCli(['sql', 'consensus_rate', '--out', out, '--format', 'json'], { HOME: '/nonexistent/x', QUORUM_CACHE_DIR: '/nonexistent/y', XDG_CACHE_HOME: '/nonexistent/z' }).done;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).length).toBeGreaterThan(0);
  }, 30_000);
});

describe('sql --format csv through the CLI', () => {
  it("guards formula cells with a leading ' unless --csv-raw", async () => {
    const out = twoRunFolder();
    const query = sqlFile("SELECT '=HYPERLINK(\"http://x.example\")' AS claim, -1 AS n;");
    const guarded = await runCli(['sql', query, '--out', out, '--format', 'csv']);
    expect(guarded.stderr).toBe('');
    expect(guarded.stdout).toBe('claim,n\r\n"\'=HYPERLINK(""http://x.example"")",-1\r\n');
    const raw = await runCli(['sql', query, '--out', out, '--format', 'csv', '--csv-raw']);
    expect(raw.stdout).toBe('claim,n\r\n"=HYPERLINK(""http://x.example"")",-1\r\n');
  }, 30_000);
});

describe('a reader that closes the pipe early', () => {
  const out = twoRunFolder();

  // 300,000 rows: megabytes, far more than a pipe holds, so quorum is still writing when the reader goes.
  it.each(['csv', 'table'])('sql --format %s | head: exit 0, nothing on stderr', async (format) => {
    const { child, done } = spawnCli(['sql', sqlFile('SELECT a, a * 2 AS b FROM range(300000) t(a);'), '--out', out, '--format', format]);
    // Read the first chunk, then go away as `head` does.
    child.stdout.once('data', () => child.stdout.destroy());
    const run = await done;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  }, 60_000);
});

