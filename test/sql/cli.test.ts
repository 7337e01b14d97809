import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listQueries } from '../../src/sql/catalog.js';
import { tempDir } from '../helpers/cli.js';
import { oneRun } from './fixture.js';
import { runSql } from './runSql.js';

let out: string;
const cacheDir = tempDir('quorum-sql-cache-');
const env = { QUORUM_CACHE_DIR: cacheDir };
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

function sqlFile(text: string): string {
  const path = join(tempDir('quorum-sql-q-'), 'query.sql');
  writeFileSync(path, text);
  return path;
}

function oneErrorLine(stderr: string): string {
  expect(stderr.endsWith('\n')).toBe(true);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^Error: /);
  return stderr.trim();
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
  it('answers over torn and garbage lines in every JSONL file and a broken consensus.json', async () => {
    const before = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await json([n, '--out', out])] as const)));
    const damaged = copyOf(out);
    appendFileSync(join(damaged, 'cloudevents.jsonl'), '{"specversion":"1.0","id":"torn-by-a-kill","source":"/quorum/po');
    appendFileSync(join(damaged, 'traces.jsonl'), 'not json at all\n{"traceId":\n');
    appendFileSync(join(damaged, 'blackboard.jsonl'), '\u0000\u0000garbage\n');
    mkdirSync(join(damaged, 'runs', 'broken-run'));
    writeFileSync(join(damaged, 'runs', 'broken-run', 'consensus.json'), '{"runId": "broken-run", "status": "consen');
    mkdirSync(join(damaged, 'runs', 'empty-run'));
    writeFileSync(join(damaged, 'runs', 'empty-run', 'consensus.json'), '');
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

  it('answers from the events alone when no run folder exists yet, and from runs alone without events', async () => {
    const eventsOnly = tempDir('quorum-sql-ev-');
    cpSync(join(out, 'cloudevents.jsonl'), join(eventsOnly, 'cloudevents.jsonl'));
    expect((await json(['model_latency', '--out', eventsOnly])).length).toBe(7);
    expect(await json(['consensus_rate', '--out', eventsOnly])).toEqual([]);
    const runsOnly = tempDir('quorum-sql-runs-');
    cpSync(join(out, 'runs'), join(runsOnly, 'runs'), { recursive: true });
    expect(await json(['model_latency', '--out', runsOnly])).toEqual([]);
    expect((await json(['consensus_rate', '--out', runsOnly])).length).toBe(1);
    // Without the events no model names are known; the ports still are.
    expect((await json(['lone_dissenters', '--out', runsOnly])).every((r) => r.model === null && typeof r.port === 'number')).toBe(true);
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

  it('reads the per-port answer and ballot files', async () => {
    const responses = await json([sqlFile('SELECT port, model, input_tokens FROM responses ORDER BY port'), '--out', out]);
    expect(responses.map((r) => r.port)).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(responses[0]).toEqual({ port: 0, model: 'family0/model-0', input_tokens: 100 });
    const votes = await json([sqlFile("SELECT count(*) AS n, count(*) FILTER (WHERE json_extract_string(ballot, '$.c1') = 'agree') AS c1 FROM votes"), '--out', out]);
    expect(votes).toEqual([{ n: 7, c1: 7 }]);
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

describe('quorum sql: the consensus snapshot', () => {
  it('follows new, changed and removed runs', async () => {
    const copy = copyOf(out);
    const cache = tempDir('quorum-sql-snap-');
    const rate = async () => {
      const run = await runSql(['consensus_rate', '--out', copy, '--format', 'json'], { QUORUM_CACHE_DIR: cache });
      expect(run.code).toBe(0);
      return JSON.parse(run.stdout) as Record<string, unknown>[];
    };
    const [first] = await rate();
    expect(first).toMatchObject({ status: 'degraded', consensus: 3 });
    const id = first!.runid as string;
    // A second run appears.
    cpSync(join(copy, 'runs', id), join(copy, 'runs', `${id}-twin`), { recursive: true });
    const twinDoc = join(copy, 'runs', `${id}-twin`, 'consensus.json');
    writeFileSync(twinDoc, readFileSync(twinDoc, 'utf8').replace(id, `${id}-twin`));
    expect((await rate()).map((r) => r.runid)).toEqual([id, `${id}-twin`]);
    // A consensus.json is rewritten.
    const doc = JSON.parse(readFileSync(twinDoc, 'utf8'));
    doc.status = 'quorum_lost';
    doc.dissent = [...doc.claims, ...doc.dissent];
    doc.claims = [];
    writeFileSync(twinDoc, JSON.stringify(doc, null, 2));
    expect((await rate()).find((r) => r.runid === `${id}-twin`)).toMatchObject({ status: 'quorum_lost', consensus: 0, dissent: 10 });
    // A run is removed.
    rmSync(join(copy, 'runs', id), { recursive: true });
    expect((await rate()).map((r) => r.runid)).toEqual([`${id}-twin`]);
    // The copy never lands in the artifacts folder.
    expect(readdirSync(copy).sort()).toEqual(['blackboard.jsonl', 'cloudevents.jsonl', 'runs', 'traces.jsonl']);
    expect(readdirSync(cache)).toHaveLength(1);
  });

  it('is not needed: --no-cache reads the files and writes no cache', async () => {
    const cache = tempDir('quorum-sql-nocache-');
    const run = await runSql(['claim_support', '--out', out, '--format', 'json', '--no-cache'], { QUORUM_CACHE_DIR: cache });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).length).toBeGreaterThan(0);
    expect(readdirSync(cache)).toEqual([]);
  });
});
