/**
 * Runs the bundled queries (`queries/<name>.sql`, the same files `quorum sql <name>` runs) over one
 * run, one batch or everything, without a second copy of any query.
 *
 * A scope is applied by shadowing: every view of views.sql the query reads is replaced, for that
 * query only, by a CTE of the same name holding the view's rows of the scope's runs:
 *
 *   WITH model_calls AS (SELECT * FROM main.model_calls WHERE list_contains(getvariable('report_scope_runs'), runid)),
 *        <the query's own CTEs, unchanged>
 *   <the query's body, unchanged>
 *
 * so a query's arithmetic (quantiles, shares, LIMIT 20) runs on the scope's rows exactly as
 * `quorum sql` runs it on the whole folder; the `all` scope runs the file verbatim. The scope's run
 * ids are session variables (`report_scope_runs`, `report_scope_batch`), set once per session.
 * To get the same numbers by hand: `quorum sql my.sql` with the two SET VARIABLE lines and the
 * scoped text (see `scopedSql`).
 */
import type { ArtifactsDb } from '../sql/artifactsDb.js';
import { resolveQuery, viewsSql } from '../sql/catalog.js';
import { splitStatements, stripComments } from '../sql/statements.js';
import type { SqlResult, SqlValue } from '../sql/values.js';

export type ReportScope =
  | { kind: 'run'; runId: string }
  | { kind: 'batch'; batchId: string; runIds: readonly string[] }
  | { kind: 'all' };

const IN_RUNS = `list_contains(getvariable('report_scope_runs'), runid)`;

/**
 * How each view of views.sql is restricted to a scope. A view missing here cannot be scoped: a
 * scoped query that reads it is refused rather than answered over the whole folder.
 */
export const SCOPE_FILTERS: Readonly<Record<string, string>> = {
  // Batch events carry the batch id as their runid and batchid.
  events: `(${IN_RUNS} OR batchid = getvariable('report_scope_batch'))`,
  model_calls: IN_RUNS,
  members: IN_RUNS,
  runs: IN_RUNS,
  batches: `batchid = getvariable('report_scope_batch')`,
  consensus: IN_RUNS,
  batch_chunks: IN_RUNS,
  claims: IN_RUNS,
  answers: IN_RUNS,
  responses: IN_RUNS,
  votes: IN_RUNS,
};

/** The views views.sql defines, in file order. */
export function viewNames(views: string = viewsSql()): string[] {
  const names: string[] = [];
  for (const statement of splitStatements(views)) {
    const m = /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+"?(\w+)"?/i.exec(stripComments(statement));
    if (m) names.push(m[1]!.toLowerCase());
  }
  return names;
}

/** The statements that set a scope's variables (run once per session, before any scoped query). */
export function scopeVariables(scope: ReportScope): string[] {
  const runs = scope.kind === 'run' ? [scope.runId] : scope.kind === 'batch' ? scope.runIds : [];
  return [
    `SET VARIABLE report_scope_runs = [${runs.map(sqlString).join(', ')}]::VARCHAR[]`,
    `SET VARIABLE report_scope_batch = ${scope.kind === 'batch' ? sqlString(scope.batchId) : 'NULL::VARCHAR'}`,
  ];
}

/**
 * `sql` (one query) with every view it reads shadowed by its scoped rows; unchanged for `all`.
 * @param views the view names of views.sql (default: read from the bundled file).
 * @throws Error when the query reads a view that cannot be scoped, or is not one statement.
 */
export function scopedSql(sql: string, scope: ReportScope, views: readonly string[] = viewNames()): string {
  if (scope.kind === 'all') return sql;
  const statements = splitStatements(sql);
  if (statements.length !== 1) throw new Error(`A report query must be one statement, got ${statements.length}`);
  const body = stripComments(statements[0]!).trim().replace(/;\s*$/, '');
  const read = views.filter((v) => mentions(body, v) && !definesCte(body, v));
  const shadows = read.map((v) => {
    const filter = SCOPE_FILTERS[v];
    if (!filter) throw new Error(`Cannot scope a query that reads the view "${v}" to one run or batch`);
    // `main.` names the view itself, never the CTE that shadows it (even under WITH RECURSIVE).
    return `${v} AS (SELECT * FROM main.${v} WHERE ${filter})`;
  });
  if (shadows.length === 0) return body;
  const withClause = /^WITH\s+(RECURSIVE\s+)?/i.exec(body);
  return withClause
    ? `WITH ${withClause[1] ?? ''}${shadows.join(',\n     ')},\n${body.slice(withClause[0].length)}`
    : `WITH ${shadows.join(',\n     ')}\n${body}`;
}

/** A result row as an object keyed by column name. */
export type Row = Record<string, SqlValue>;

export function rowsOf(result: SqlResult): Row[] {
  return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i] ?? null])));
}

/** Runs bundled queries by name on one session, within one scope. */
export class ScopedQueries {
  private ready = false;
  private readonly views = viewNames();
  /** The bundled query names run so far, for the report's "where the numbers come from". */
  readonly used: string[] = [];

  constructor(
    private readonly db: ArtifactsDb,
    readonly scope: ReportScope,
  ) {}

  /** Runs `queries/<name>.sql` within the scope and returns its rows. */
  async rows(name: string): Promise<Row[]> {
    const source = resolveQuery(name);
    if (!source.bundled) throw new Error(`${name} is not a bundled query`);
    if (!this.ready) {
      for (const statement of scopeVariables(this.scope)) await this.db.query(statement, 'report scope');
      this.ready = true;
    }
    if (!this.used.includes(name)) this.used.push(name);
    return rowsOf(await this.db.query(scopedSql(source.sql, this.scope, this.views), name));
  }
}

function mentions(text: string, name: string): boolean {
  return new RegExp(`(^|[^\\w.])${name}($|[^\\w])`, 'i').test(text);
}

/** True when the query defines its own CTE called `name` (it then shadows the view itself). */
function definesCte(text: string, name: string): boolean {
  return new RegExp(`(^\\s*WITH\\s+(RECURSIVE\\s+)?|,\\s*)${name}\\s+AS\\s*(NOT\\s+)?(MATERIALIZED\\s+)?\\(`, 'i').test(text);
}

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
