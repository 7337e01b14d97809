import { StatementType } from '@duckdb/node-api';
import { stripComments } from './statements.js';

/**
 * What `quorum sql` runs. Reading is allowed: SELECT in every form DuckDB has (WITH, FROM-first,
 * VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE), the PRAGMAs that only describe the catalog
 * (`PRAGMA table_info(…)`, `show_tables`, …), EXPLAIN of an allowed statement, and SET/RESET
 * VARIABLE (session variables, for parameters). Everything else is refused before it runs: COPY …
 * TO, EXPORT, ATTACH, INSTALL/LOAD, CREATE, INSERT, UPDATE, DELETE, DROP, ALTER, CALL, other
 * PRAGMAs and SET.
 *
 * Two checks, both must pass:
 * 1. `precheck`, on the text, before DuckDB sees the statement: its first keyword must start a
 *    reading statement. Preparing is not free of effects (preparing EXPORT DATABASE already
 *    creates its folder), so nothing else is even prepared.
 * 2. `judgeStatement`, on DuckDB's own parse (the prepared statement's type): it must be a
 *    SELECT (or SET VARIABLE, or an EXPLAIN of an allowed statement), so a write hidden behind a
 *    CTE or a comment is still seen for what it is. `EXPLAIN ANALYZE` runs its statement, so
 *    that statement is checked the same way.
 */
export type Verdict = { ok: true } | { ok: false; what: string };

const READ_KEYWORDS = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE', 'DESCRIBE', 'DESC', 'SHOW', 'SUMMARIZE', 'PIVOT', 'UNPIVOT']);

/** Statement keywords DuckDB knows that `precheck` refuses outright; any other word is a typo for the parser to report. */
const WRITE_KEYWORDS = new Set([
  'ABORT', 'ALTER', 'ANALYZE', 'ATTACH', 'BEGIN', 'CALL', 'CHECKPOINT', 'COMMENT', 'COMMIT', 'COPY', 'CREATE', 'DEALLOCATE',
  'DELETE', 'DETACH', 'DROP', 'END', 'EXECUTE', 'EXPORT', 'FORCE', 'IMPORT', 'INSERT', 'INSTALL', 'LOAD', 'MERGE', 'PREPARE',
  'ROLLBACK', 'START', 'TRANSACTION', 'TRUNCATE', 'UPDATE', 'USE', 'VACUUM', 'EXPLAIN', 'PRAGMA', 'SET', 'RESET',
]);

/** True when `precheck` refused a word DuckDB does not start statements with (a typo): let DuckDB's parser say so. */
export function isTypo(text: string): boolean {
  return !WRITE_KEYWORDS.has(firstKeyword(text)) && !READ_KEYWORDS.has(firstKeyword(text));
}

function firstKeyword(text: string): string {
  const body = stripComments(text).trim().replace(/^\(+\s*/, '');
  return /^[A-Za-z_]+/.exec(body)?.[0].toUpperCase() ?? '';
}

/** PRAGMAs that only read the catalog or report on the engine. */
const READ_PRAGMAS = new Set([
  'table_info', 'show', 'show_tables', 'show_tables_expanded', 'show_databases', 'database_list', 'database_size',
  'version', 'platform', 'functions', 'collations', 'user_agent', 'storage_info', 'metadata_info',
]);

/** DuckDB statement types by number, for messages (`COPY`, `CREATE`, …). */
const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(StatementType)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

export function statementTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `statement type ${type}`;
}

/** The check on the statement's text, before it is prepared. */
export function precheck(text: string): Verdict {
  const body = stripComments(text).trim().replace(/^\(+\s*/, '');
  const keyword = firstKeyword(text);
  if (READ_KEYWORDS.has(keyword)) return { ok: true };
  switch (keyword) {
    case 'EXPLAIN': {
      const inner = explained(text);
      if (inner === undefined) return { ok: false, what: 'EXPLAIN of a statement that could not be read' };
      const verdict = precheck(inner);
      return verdict.ok ? verdict : { ok: false, what: `EXPLAIN of ${verdict.what}` };
    }
    case 'PRAGMA': {
      const name = /^PRAGMA\s+([A-Za-z_]+)\s*(\(|;|$)/i.exec(body)?.[1]?.toLowerCase();
      return name && READ_PRAGMAS.has(name) ? { ok: true } : { ok: false, what: 'PRAGMA (only those that describe the catalog are allowed)' };
    }
    case 'SET':
    case 'RESET':
      return /^(SET|RESET)\s+VARIABLE\b/i.test(body) ? { ok: true } : { ok: false, what: `${keyword} (a change to DuckDB settings; only SET VARIABLE is allowed)` };
    default:
      return { ok: false, what: keyword || 'a statement that could not be read' };
  }
}

/**
 * The check on DuckDB's parse, given the prepared statement's type and its text. `typeOf`
 * prepares another statement's text and returns its type (for the statement inside EXPLAIN).
 */
export async function judgeStatement(type: number, text: string, typeOf: (sql: string) => Promise<number>): Promise<Verdict> {
  switch (type) {
    case StatementType.SELECT:
      return { ok: true };
    case StatementType.SET:
    case StatementType.VARIABLE_SET:
      return /^\s*(SET|RESET)\s+VARIABLE\b/i.test(stripComments(text))
        ? { ok: true }
        : { ok: false, what: 'SET (a change to DuckDB settings; only SET VARIABLE is allowed)' };
    case StatementType.EXPLAIN: {
      const inner = explained(text);
      if (inner === undefined) return { ok: false, what: 'EXPLAIN of a statement that could not be read' };
      const innerType = await typeOf(inner);
      if (innerType === StatementType.EXPLAIN) return { ok: false, what: 'EXPLAIN of an EXPLAIN' };
      const verdict = await judgeStatement(innerType, inner, typeOf);
      return verdict.ok ? verdict : { ok: false, what: `EXPLAIN of ${verdict.what}` };
    }
    default:
      return { ok: false, what: statementTypeName(type) };
  }
}

/** The statement an EXPLAIN statement explains: `EXPLAIN [ANALYZE] [(options)] <statement>`. */
export function explained(text: string): string | undefined {
  const m = /^\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?(?:\([^()]*\)\s*)?([\s\S]+)$/i.exec(stripComments(text));
  return m?.[1]?.trim() || undefined;
}
