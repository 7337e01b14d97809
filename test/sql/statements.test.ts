import { describe, expect, it } from 'vitest';
import { explained, isTypo, precheck } from '../../src/sql/readOnly.js';
import { splitStatements, stripComments } from '../../src/sql/statements.js';

describe('splitStatements', () => {
  it('splits at top-level semicolons and drops empty and comment-only pieces', () => {
    expect(splitStatements('SELECT 1; SELECT 2;\n-- done\n;')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('keeps semicolons inside strings, quoted names, dollar quotes and comments', () => {
    const sql = `SELECT 'a;b', "c;d", $$e;f$$, $t$g;h$t$, E'i\\';j' -- k;l\n /* m; /* nested; */ n; */ FROM x; SELECT 2`;
    const parts = splitStatements(sql);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toContain("E'i\\';j'");
    expect(parts[1]).toBe('SELECT 2');
  });

  it('handles doubled quotes', () => {
    expect(splitStatements("SELECT 'it''s; fine'; SELECT \"a\"\"b;\"")).toEqual(["SELECT 'it''s; fine'", 'SELECT "a""b;"']);
  });

  it('strips comments but not strings', () => {
    expect(stripComments("SELECT '--not' -- yes\n/* and */ 1").replace(/\s+/g, ' ')).toBe("SELECT '--not' 1");
  });
});

describe('precheck', () => {
  it.each(['SELECT 1', 'with x as (select 1) select * from x', 'FROM events', 'VALUES (1)', '(SELECT 1) UNION (SELECT 2)', 'DESCRIBE events', 'SHOW TABLES', 'SUMMARIZE events', "PRAGMA table_info('events')", 'PRAGMA show_tables', 'SET VARIABLE x = 1', 'RESET VARIABLE x', 'EXPLAIN SELECT 1', 'EXPLAIN ANALYZE SELECT 1', '/* c */ -- d\nSELECT 1'])(
    'lets %s through',
    (sql) => expect(precheck(sql)).toEqual({ ok: true }),
  );

  it.each([
    ["COPY t TO 'x'", 'COPY'],
    ['EXPLAIN ANALYZE COPY (SELECT 1) TO \'x\'', 'EXPLAIN of COPY'],
    ['EXPLAIN (FORMAT json) INSERT INTO t VALUES (1)', 'EXPLAIN of INSERT'],
    ['SET threads = 1', 'SET'],
    ['PRAGMA enable_profiling', 'PRAGMA'],
    ["PRAGMA import_database('x')", 'PRAGMA'],
    ['ATTACH \'x.db\'', 'ATTACH'],
    ['/* SELECT */ DROP TABLE t', 'DROP'],
  ])('refuses %s', (sql, what) => {
    const v = precheck(sql);
    expect(v.ok).toBe(false);
    expect(!v.ok && v.what.startsWith(what)).toBe(true);
  });

  it('tells typos (for the parser to report) from statements it refuses', () => {
    expect(isTypo('SELEC 1')).toBe(true);
    expect(isTypo('COPY x TO y')).toBe(false);
    expect(isTypo('IMPORT DATABASE x')).toBe(false);
  });

  it('finds the statement inside EXPLAIN', () => {
    expect(explained('EXPLAIN ANALYZE (FORMAT json) SELECT 1')).toBe('SELECT 1');
    expect(explained('explain select 2')).toBe('select 2');
  });
});
