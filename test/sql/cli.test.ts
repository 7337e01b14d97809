import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listQueries } from '../../src/sql/catalog.js';
import { spawnCli, tempDir } from '../helpers/cli.js';
import { oneRun } from './fixture.js';
import { legacyFolder, runLine, writeLogs } from './logs.js';
import { oneErrorLine, runSql, sqlFile } from './runSql.js';

let out: string;
const env = {};
/** The queries this issue bundles (other features add their own files to queries/). */
const NAMES = ['agreement_matrix', 'claim_support', 'consensus_rate', 'lone_dissenters', 'model_failures', 'model_latency', 'slowest_chunks', 'tokens_cost'];

beforeAll(async () => {
  out = await oneRun();
}, 120_000);

async function json(args: string[]) {
  const run = await runSql([...args, '--format', 'json'], env);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>[];
}

function copyOf(src: string): string {
  const dst = join(tempDir('quorum-sql-copy-'), 'artifacts');
  cpSync(src, dst, { recursive: true });
  return dst;
}

/** Content hash of every file under `dir` (names, sizes, bytes, mtimes). */
function fingerprint(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const f of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, f.name);
      h.update(p);
      if (f.isDirectory()) walk(p);
      else h.update(readFileSync(p)).update(String(statSync(p).mtimeMs));
    }
  };
  walk(dir);
  return h.digest('hex');
}

describe('quorum sql --list', () => {
  it('names every bundled query with its first-line description', async () => {
    const run = await runSql(['--list'], env);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(listQueries().length);
    for (const q of listQueries()) {
      const first = readFileSync(q.path, 'utf8').split('\n')[0]!;
      expect(first.startsWith('-- ')).toBe(true);
      expect(q.description).toBe(first.slice(3).trim());
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${q.name} +${q.description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)));
    }
    expect(NAMES).toEqual(expect.arrayContaining(['model_latency', 'model_failures', 'agreement_matrix', 'consensus_rate', 'claim_support', 'tokens_cost', 'slowest_chunks', 'lone_dissenters']));
  });

  it('prints the list as JSON with --format json', async () => {
    const list = await json(['--list']);
    expect(list.map((q) => q.name)).toEqual(listQueries().map((q) => q.name));
    expect(list.map((q) => q.name)).toEqual(expect.arrayContaining(NAMES));
    expect(list.every((q) => typeof q.description === 'string' && (q.description as string).length > 20)).toBe(true);
  });
});

describe('quorum sql: robust input', () => {
  it('answers over torn and garbage lines in every JSONL file (and ignores broken per-run files)', async () => {
    const before = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await json([n, '--out', out])] as const)));
    const damaged = copyOf(out);
    appendFileSync(join(damaged, 'cloudevents.jsonl'), '{"specversion":"1.0","id":"torn-by-a-kill","source":"/quorum/po');
    appendFileSync(join(damaged, 'traces.jsonl'), 'not json at all\n{"traceId":\n');
    appendFileSync(join(damaged, 'blackboard.jsonl'), '\u0000\u0000garbage\n');
    mkdirSync(join(damaged, 'runs', 'broken-run'), { recursive: true });
    writeFileSync(join(damaged, 'runs', 'broken-run', 'consensus.json'), '{"runId": "broken-run", "status": "consen');
    mkdirSync(join(damaged, 'runs', 'empty-run'));
    writeFileSync(join(damaged, 'runs', 'empty-run', 'consensus.json'), '');
    appendFileSync(join(damaged, 'answers.jsonl'), 'garbage\n{"runId":"x","round":1,"port":0,"text":"torn');
    for (const n of NAMES) expect(await json([n, '--out', damaged]), n).toEqual(before[n]);
    // Garbage lines in the middle, not only at the end.
    const lines = readFileSync(join(out, 'cloudevents.jsonl'), 'utf8').split('\n');
    lines.splice(3, 0, 'not json at all', '[1, 2, 3]', '"a string"', '{"type": 42}');
    writeFileSync(join(damaged, 'cloudevents.jsonl'), lines.join('\n'));
    for (const n of NAMES) expect(await json([n, '--out', damaged]), n).toEqual(before[n]);
    // A killed writer's fragment with the next writer's line glued on: that line is lost to SQL
    // (readJsonl recovers it), the rest is read.
    const lastLine = lines.filter(Boolean).at(-1)!;
    appendFileSync(join(damaged, 'cloudevents.jsonl'), `{"specversion":"1.0","id":"tor${lastLine.replace(/"id":"[^"]+"/, '"id":"glued"')}\n`);
    for (const n of NAMES) expect(await json([n, '--out', damaged]), n).toEqual(before[n]);
  });

  it('answers with zero rows over an empty artifacts folder', async () => {
    const empty = tempDir('quorum-sql-empty-');
    for (const n of NAMES) {
      expect(await json([n, '--out', empty]), n).toEqual([]);
      const table = await runSql([n, '--out', empty], env);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/\(0 rows\)\n$/);
    }
    expect(readdirSync(empty)).toEqual([]);
  });

  it('ignores a torn last line of runs.jsonl (a writer killed mid-commit)', async () => {
    const torn = copyOf(out);
    const before = await json(['consensus_rate', '--out', torn]);
    const line = JSON.stringify(runLine('20990101T000000Z-torn00'));
    // Cut inside the claims list, and cut right before the closing brace and the newline.
    for (const cut of [line.slice(0, line.indexOf('"claims"') + 20), line.slice(0, -1)]) {
      const copy = copyOf(out);
      appendFileSync(join(copy, 'runs.jsonl'), cut);
      expect(await json(['consensus_rate', '--out', copy])).toEqual(before);
      expect(await json([sqlFile("SELECT count(*) AS n FROM claims WHERE runid LIKE '2099%'"), '--out', copy])).toEqual([{ n: 0 }]);
    }
    // Once the next commit ends the line, it is read.
    appendFileSync(join(torn, 'runs.jsonl'), `${line}\n`);
    expect((await json(['consensus_rate', '--out', torn])).map((r) => r.runid).sort()).toEqual([...before.map((r) => r.runid), '20990101T000000Z-torn00'].sort());
  });

  it('answers from the events alone when no run is decided yet, and from the run log alone without events', async () => {
    const eventsOnly = tempDir('quorum-sql-ev-');
    cpSync(join(out, 'cloudevents.jsonl'), join(eventsOnly, 'cloudevents.jsonl'));
    expect((await json(['model_latency', '--out', eventsOnly])).length).toBe(7);
    expect(await json(['consensus_rate', '--out', eventsOnly])).toEqual([]);
    const runsOnly = tempDir('quorum-sql-runs-');
    cpSync(join(out, 'runs.jsonl'), join(runsOnly, 'runs.jsonl'));
    expect(await json(['model_latency', '--out', runsOnly])).toEqual([]);
    expect((await json(['consensus_rate', '--out', runsOnly])).length).toBe(1);
    // The run lines name each port's model themselves.
    expect((await json(['lone_dissenters', '--out', runsOnly])).map((r) => [r.port, r.model])).toEqual(
      (await json(['lone_dissenters', '--out', out])).map((r) => [r.port, r.model]),
    );
    expect((await json(['agreement_matrix', '--out', runsOnly])).every((r) => r.model_a === `family${r.port_a}/model-${r.port_a}`)).toBe(true);
  });

  it('never changes the artifacts folder, whatever it runs', async () => {
    const copy = copyOf(out);
    const print = fingerprint(copy);
    for (const n of NAMES) await json([n, '--out', copy]);
    await runSql([sqlFile("COPY (SELECT 1) TO 'x.csv'"), '--out', copy], env);
    await json([sqlFile('SELECT count(*) AS n FROM responses; '), '--out', copy]);
    expect(fingerprint(copy)).toBe(print);
  });
});

describe('quorum sql: usage errors are exit 2 with one line', () => {
  it('a missing folder', async () => {
    const run = await runSql(['model_latency', '--out', '/nonexistent/quorum-artifacts'], env);
    expect(run.code).toBe(2);
    expect(oneErrorLine(run.stderr)).toMatch(/Artifacts folder \/nonexistent\/quorum-artifacts does not exist/);
    expect(run.stdout).toBe('');
  });

  it('a file given as the folder', async () => {
    const run = await runSql(['model_latency', '--out', join(out, 'cloudevents.jsonl')], env);
    expect(run.code).toBe(2);
    expect(oneErrorLine(run.stderr)).toMatch(/is not a folder/);
  });

  it('an unknown query name, listing the known ones', async () => {
    const run = await runSql(['model_latencies', '--out', out], env);
    expect(run.code).toBe(2);
    const line = oneErrorLine(run.stderr);
    expect(line).toMatch(/Unknown query "model_latencies"/);
    for (const n of NAMES) expect(line).toContain(n);
  });

  it('a .sql file that does not exist', async () => {
    const run = await runSql(['./nope/mine.sql', '--out', out], env);
    expect(run.code).toBe(2);
    expect(oneErrorLine(run.stderr)).toMatch(/No such file: \.\/nope\/mine\.sql/);
  });

  it('no query at all', async () => {
    const run = await runSql(['--out', out], env);
    expect(run.code).toBe(2);
    expect(oneErrorLine(run.stderr)).toMatch(/Give a query name or a \.sql file/);
  });

  it('an unknown --format', async () => {
    const run = await runSql(['model_latency', '--out', out, '--format', 'xml'], env);
    expect(run.code).toBe(2);
    expect(oneErrorLine(run.stderr)).toMatch(/format/);
  });

  it('SQL with an error, with DuckDB\'s message', async () => {
    const binder = await runSql([sqlFile('SELECT no_such_column FROM events'), '--out', out], env);
    expect(binder.code).toBe(2);
    expect(oneErrorLine(binder.stderr)).toMatch(/query\.sql: Binder Error: Referenced column "no_such_column" not found/);
    const parser = await runSql([sqlFile('SELEC 1'), '--out', out], env);
    expect(parser.code).toBe(2);
    expect(oneErrorLine(parser.stderr)).toMatch(/Parser Error: syntax error at or near "SELEC"/);
    const empty = await runSql([sqlFile('-- nothing here\n'), '--out', out], env);
    expect(empty.code).toBe(2);
    expect(oneErrorLine(empty.stderr)).toMatch(/no SQL statement/);
  });

  it.each([
    ['COPY … TO', "COPY (SELECT * FROM events) TO '%T'", /refused COPY/],
    ['EXPORT DATABASE', "EXPORT DATABASE '%D'", /refused EXPORT/],
    ['ATTACH', "ATTACH '%T' AS x", /refused ATTACH/],
    ['INSTALL', 'INSTALL httpfs', /refused INSTALL/],
    ['LOAD', 'LOAD json', /refused LOAD/],
    ['CREATE TABLE', 'CREATE TABLE t AS SELECT 1', /refused CREATE/],
    ['CREATE VIEW', 'CREATE VIEW events AS SELECT 1', /refused CREATE/],
    ['INSERT', 'INSERT INTO events SELECT * FROM events', /refused INSERT/],
    ['UPDATE', "UPDATE events SET type = 'x'", /refused UPDATE/],
    ['DELETE', 'DELETE FROM events', /refused DELETE/],
    ['a write inside WITH', "WITH x AS (SELECT 1) INSERT INTO events SELECT * FROM events", /refused|Error/],
    ['IMPORT DATABASE', "IMPORT DATABASE '%D'", /refused IMPORT/],
    ['CHECKPOINT', 'CHECKPOINT', /refused CHECKPOINT/],
    ['PRAGMA that sets', 'PRAGMA threads = 1', /refused PRAGMA/],
    ['DROP', 'DROP VIEW events', /refused DROP/],
    ['EXPLAIN ANALYZE COPY', "EXPLAIN ANALYZE COPY (SELECT 1) TO '%T'", /refused EXPLAIN of COPY/],
    ['SET of a setting', "SET profile_output = '%T'", /refused SET/],
    ['PRAGMA that writes', 'PRAGMA enable_profiling', /refused PRAGMA/],
    ['CALL', 'CALL pragma_version()', /refused CALL/],
    ['a write after a read', "SELECT 1; COPY (SELECT 1) TO '%T'", /statement 2: refused COPY/],
    ['a write behind a comment', "/* just a select */ -- really\nCOPY (SELECT 1) TO '%T'", /refused COPY/],
  ])('refuses %s', async (_, text, message) => {
    const dir = tempDir('quorum-sql-w-');
    const target = join(dir, 'written.csv');
    const run = await runSql([sqlFile(text.replaceAll('%T', target).replaceAll('%D', join(dir, 'db'))), '--out', out], env);
    expect(run.code).toBe(2);
    expect(oneErrorLine(run.stderr)).toMatch(message);
    expect(run.stdout).toBe('');
    expect(existsSync(target)).toBe(false);
    expect(existsSync(join(dir, 'db'))).toBe(false);
  });
});

describe('quorum sql: your own SQL', () => {
  it('runs a .sql file over the views, several statements, printing the last', async () => {
    const rows = await json([sqlFile("-- my question\nSET VARIABLE kind = 'quorum.model.failed';\nSELECT port, count(*) AS n FROM events WHERE type = getvariable('kind') GROUP BY port;\n"), '--out', out]);
    expect(rows).toEqual([{ port: 5, n: 1 }]);
  });

  it('allows DESCRIBE, SHOW TABLES, SUMMARIZE, table PRAGMAs and EXPLAIN', async () => {
    const tables = (await json([sqlFile('SHOW TABLES'), '--out', out])).map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['events', 'model_calls', 'members', 'runs', 'batches', 'spans', 'blackboard', 'consensus', 'claims', 'responses', 'votes']));
    expect((await json([sqlFile('DESCRIBE model_calls'), '--out', out])).map((r) => r.column_name)).toContain('latency_ms');
    expect((await json([sqlFile("PRAGMA table_info('claims')"), '--out', out])).map((r) => r.name)).toContain('ports');
    expect((await json([sqlFile('SUMMARIZE SELECT latency_ms FROM model_calls'), '--out', out])).length).toBe(1);
    expect((await json([sqlFile('EXPLAIN SELECT count(*) FROM events'), '--out', out])).length).toBeGreaterThan(0);
    expect((await json([sqlFile('EXPLAIN ANALYZE SELECT count(*) FROM events'), '--out', out])).length).toBeGreaterThan(0);
  });

  it('reads the answers log: round-1 answers as responses, round-2 replies and ballots as votes', async () => {
    const responses = await json([sqlFile('SELECT port, model, input_tokens FROM responses ORDER BY port'), '--out', out]);
    expect(responses.map((r) => r.port)).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(responses[0]).toEqual({ port: 0, model: 'family0/model-0', input_tokens: 100 });
    const votes = await json([sqlFile("SELECT count(*) AS n, count(*) FILTER (WHERE json_extract_string(ballot, '$.c1') = 'agree') AS c1 FROM votes"), '--out', out]);
    expect(votes).toEqual([{ n: 7, c1: 7 }]);
  });

  it('names the run behind a blackboard signal, whether it pulls consensus.md or the run line', async () => {
    const dir = join(tempDir('quorum-sql-bb-'), 'artifacts');
    mkdirSync(dir);
    const signal = (pull: string) => JSON.stringify({ ts: '2025-06-01T10:00:00Z', mark: 'consensus', pull, msg: '3 consensus claim(s)', type: 'signal', hive: 'quorum', gen: 0, port: 'gather' });
    writeFileSync(join(dir, 'blackboard.jsonl'), `${signal('runs/20250601T100000Z-aaaaaa/consensus.md')}\n${signal('runs.jsonl#20250601T100001Z-bbbbbb')}\n`);
    expect(await json([sqlFile('SELECT runid FROM blackboard ORDER BY runid'), '--out', dir])).toEqual([{ runid: '20250601T100000Z-aaaaaa' }, { runid: '20250601T100001Z-bbbbbb' }]);
  });

  it('--format json prints BIGINTs (and HUGEINT sums) as JSON numbers', async () => {
    const run = await runSql([sqlFile('SELECT count(*) AS n, sum(count(*)) OVER () AS total, 9007199254740993::HUGEINT AS big FROM events'), '--out', out, '--format', 'json'], env);
    expect(run.stdout).toMatch(/^\[\n\{"n":\d+,"total":\d+,"big":9007199254740993\}\n\]\n$/);
  });

  it('--format csv is RFC 4180; markdown escapes; table aligns', async () => {
    const file = sqlFile(`SELECT 'a,b' AS "x,y", 'say "hi"' AS q, 'two' || chr(10) || 'lines' AS t, 'a|b' AS p, 1234567 AS n, 2.5 AS f, NULL AS z`);
    const csv = await runSql([file, '--out', out, '--format', 'csv'], env);
    expect(csv.stdout).toBe('"x,y",q,t,p,n,f,z\r\n"a,b","say ""hi""","two\nlines",a|b,1234567,2.5,\r\n');
    const md = await runSql([file, '--out', out, '--format', 'markdown'], env);
    expect(md.stdout).toBe('| x,y | q | t | p | n | f | z |\n| --- | --- | --- | --- | ---: | ---: | ---: |\n| a,b | say "hi" | two<br>lines | a\\|b | 1234567 | 2.5 |  |\n');
    const table = await runSql([file, '--out', out], env);
    expect(table.stdout).toBe(
      'x,y  q         t           p            n    f     z\n' +
      '---  --------  ----------  ---  ---------  ---  ----\n' +
      'a,b  say "hi"  two\\nlines  a|b  1,234,567  2.5  NULL\n' +
      '(1 row)\n',
    );
  });
});

describe('quorum sql: events recorded more than once', () => {
  const batchEvent = (type: string, time: string, data: Record<string, unknown>) => ({
    specversion: '1.0', id: `${type}-${time}`, source: '/quorum/run', type, time, datacontenttype: 'application/json', runid: 'B1', batchid: 'B1', data,
  });
  const started = (time: string, resumed: boolean) => batchEvent('quorum.batch.started', time, { query: 'q', files: 2, chunks: 4, resumed });
  const ended = (time: string, outcome: string, consensus: number) => batchEvent('quorum.batch.completed', time, { outcome, chunks: 4, consensus, calls: consensus * 8 });

  it('a batch resumed after an interruption reads as its latest ending, whatever the line order', async () => {
    const events = [started('2025-06-01T10:00:00Z', false), ended('2025-06-01T10:05:00Z', 'interrupted', 1), started('2025-06-01T11:00:00Z', true), ended('2025-06-01T11:09:00Z', 'completed', 4)];
    for (const order of [events, [...events].reverse()]) {
      const out = writeLogs(join(tempDir('quorum-sql-resumed-'), 'artifacts'), { events: order });
      expect(await json(['report_batches', '--out', out])).toEqual([
        // Chunks and calls are counted from the run lines and call events (none here), never from the completion event.
        expect.objectContaining({ batchid: 'B1', outcome: 'completed', chunks: 4, decided: 0, undecided: 4, calls: 0, started: '2025-06-01 10:00:00 UTC', completed: '2025-06-01 11:09:00 UTC' }),
      ]);
    }
  });

  it('a batch resumed and still running has no outcome yet', async () => {
    const out = writeLogs(join(tempDir('quorum-sql-running-'), 'artifacts'), {
      events: [started('2025-06-01T10:00:00Z', false), ended('2025-06-01T10:05:00Z', 'interrupted', 1), started('2025-06-01T11:00:00Z', true)],
    });
    expect(await json(['report_batches', '--out', out])).toEqual([expect.objectContaining({ batchid: 'B1', outcome: null, completed: null })]);
  });
});

describe('quorum sql: no cache', () => {
  it('writes nothing outside the artifacts folder either: no cache in $HOME, $XDG_CACHE_HOME, $QUORUM_CACHE_DIR, and the temp dir left as found', async () => {
    const copy = copyOf(out);
    const print = fingerprint(copy);
    const homes = { HOME: tempDir('quorum-sql-home-'), XDG_CACHE_HOME: tempDir('quorum-sql-xdg-'), QUORUM_CACHE_DIR: tempDir('quorum-sql-qc-'), TMPDIR: tempDir('quorum-sql-tmp-') };
    // The built binary in its own process, so these variables are the ones it runs with.
    for (const q of ['consensus_rate', 'claim_support', 'agreement_matrix']) {
      const run = await spawnCli(['sql', q, '--out', copy, '--format', 'json'], homes).done;
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).length, q).toBeGreaterThan(0);
    }
    for (const [name, dir] of Object.entries(homes)) expect(readdirSync(dir), name).toEqual([]);
    expect(fingerprint(copy)).toBe(print);
    // The option is gone, not ignored.
    const old = await runSql(['consensus_rate', '--out', copy, '--no-cache'], env);
    expect(old.code).toBe(2);
  });
});

describe('quorum sql: 0.1 folders', () => {
  it('stops with one line naming quorum migrate, exit 2', async () => {
    const legacy = legacyFolder();
    for (const q of ['consensus_rate', 'model_latency']) {
      const run = await runSql([q, '--out', legacy], env);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(oneErrorLine(run.stderr)).toMatch(new RegExp(`quorum migrate --out ${legacy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    }
    // Once migrated (a run log beside the old files), the same folder is read.
    writeLogs(legacy, { runs: [runLine('20250101T000000Z-abcdef')] });
    expect((await json(['consensus_rate', '--out', legacy])).map((r) => r.runid)).toEqual(['20250101T000000Z-abcdef']);
  });
});

describe('the consensus view', () => {
  it('shows the ports whose answer was cut at the output limit (empty when none)', async () => {
    const out = writeLogs(join(tempDir('quorum-sql-truncated-'), 'artifacts'), {
      runs: [runLine('20250601T100000Z-aaaaaa', { truncated: [2] }), runLine('20250601T110000Z-bbbbbb')],
    });
    const file = join(out, '..', 'q.sql');
    writeFileSync(file, 'SELECT runid, truncated FROM consensus ORDER BY runid;');
    const got = await runSql([file, '--out', out, '--format', 'json']);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual([
      { runid: '20250601T100000Z-aaaaaa', truncated: [2] },
      { runid: '20250601T110000Z-bbbbbb', truncated: [] },
    ]);
  });
});
