import { existsSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBExtractedStatements } from '@duckdb/node-api';
import { UsageError } from '../errors.js';
import { legacyFolderMessage } from '../runlog/legacy.js';
import { LOG_FILES } from '../runlog/lines.js';
import { QUERIES_DIR, viewsSql } from './catalog.js';
import { isTypo, judgeStatement, precheck } from './readOnly.js';
import { splitStatements, stripComments } from './statements.js';
import { readResult, type SqlResult } from './values.js';

export interface OpenArtifactsOptions {
  /**
   * `explicit` (default): read every file with the column types views.sql gives, which is
   * faster and never depends on what the first lines happen to hold. `auto`: let DuckDB detect
   * the columns from a sample instead (for the benchmark's comparison; a field missing from the
   * sample then fails the views that read it, and a source with no file is not supported).
   */
  columns?: 'explicit' | 'auto';
  /** Where views.sql lives; default the bundled `queries/`. */
  queriesDir?: string;
  /** DuckDB threads; default DuckDB's (one per core). */
  threads?: number;
}

/** One `CREATE VIEW` of views.sql, with the views and sources its body reads. */
interface ViewDef {
  name: string;
  sql: string;
  views: Set<string>;
  sources: Set<string>;
}

/** views.sql's variables that hold a source's file or glob, by source. */
const SOURCE_VARIABLES: Record<string, string> = {
  events_file: 'events',
  spans_file: 'spans',
  blackboard_file: 'blackboard',
  runs_log_file: 'runs_log',
  answers_file: 'answers',
};

/** Statements that list the catalog: every view is created for them, so none is missing. */
const CATALOG = /\b(show\s+(all\s+)?tables|duckdb_views|duckdb_tables|duckdb_columns|information_schema|show_tables|sqlite_master|pg_catalog)\b/i;

/** Each source's file: a source whose file does not exist yet reads as empty. */
const SOURCE_FILES: Record<string, string> = {
  events: LOG_FILES.events,
  spans: LOG_FILES.spans,
  blackboard: LOG_FILES.blackboard,
  runs_log: LOG_FILES.runs,
  answers: LOG_FILES.answers,
};

/**
 * A read-only DuckDB session over one artifacts folder: an in-memory database (nothing is
 * attached, so no query can write to the artifacts), with views.sql's views and DuckDB's
 * configuration locked. DuckDB reads files only inside the artifacts folder and the session's
 * own scratch folder (`allowed_directories` with `enable_external_access = false`): a query
 * naming any other file (`read_text('/etc/passwd')`, `glob('/root/*')`, a `..` path, a symlink
 * in the folder that points out of it) fails with a one-line UsageError. Every statement given
 * to `query` passes `precheck` and `judgeStatement` (src/sql/readOnly.ts) before it runs.
 *
 * Every view reads one JSONL log of the folder (never the per-run files under runs/, which are
 * views of the logs). Views are created when a query first names them (or a view that reads
 * them); a query that lists the catalog (SHOW TABLES, duckdb_views(), information_schema) gets
 * every view.
 */
export class ArtifactsDb {
  private closed = false;
  private interrupted = false;
  private readonly created = new Set<string>();
  private readonly checked = new Set<string>();
  private readonly empty = new Set<string>();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    /** Private scratch folder (DuckDB's spill space, the stand-in for missing sources); removed on close. */
    private readonly scratch: string,
    /** The artifacts folder, absolute. */
    readonly artifacts: string,
    /** The artifacts folder with symlinks resolved: what the views read. */
    private readonly realArtifacts: string,
    private readonly setup: string[],
    private readonly views: ViewDef[],
  ) {}

  /**
   * Opens a session over `dir`.
   * @throws UsageError when `dir` is not an existing folder, or is a 0.1 folder (per-run files,
   * no runs.jsonl) that `quorum migrate` has to convert first.
   */
  static async open(dir: string, options: OpenArtifactsOptions = {}): Promise<ArtifactsDb> {
    const artifacts = resolve(dir);
    if (!existsSync(artifacts)) throw new UsageError(`Artifacts folder ${dir} does not exist; run quorum ask first, or point --out at the folder your runs wrote`);
    if (!statSync(artifacts).isDirectory()) throw new UsageError(`${dir} is not a folder; --out takes the artifacts folder (the one holding runs.jsonl and cloudevents.jsonl)`);
    const legacy = legacyFolderMessage(dir);
    if (legacy !== undefined) throw new UsageError(legacy);
    const text = viewsSql(options.queriesDir ?? QUERIES_DIR);
    const { setup, views } = parseViews(options.columns === 'auto' ? autoDetectViews(text) : text);

    // Real paths: DuckDB resolves symlinks before it checks a file against allowed_directories.
    const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'quorum-sql-')));
    writeFileSync(join(scratch, 'empty.json'), '');
    const realArtifacts = realpathSync(artifacts);
    let instance: DuckDBInstance | undefined;
    try {
      instance = await DuckDBInstance.create(':memory:', {
        // Offline and self-contained: json is built in; nothing is fetched or loaded from disk.
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
        // An in-memory database spills to ./.tmp by default, which may be the artifacts folder.
        temp_directory: join(scratch, 'spill'),
        ...(options.threads !== undefined && { threads: String(options.threads) }),
      });
      const connection = await instance.connect();
      // Files outside the artifacts folder and the scratch folder (which holds the spill folder,
      // and DuckDB adds temp_directory itself) cannot be read, globbed or attached; this also
      // turns off network access and extension loading.
      await connection.run(`SET allowed_directories = [${[realArtifacts, scratch].map((d) => sqlString(withSlash(d))).join(', ')}]`);
      await connection.run('SET enable_external_access = false');
      // From here on no statement can change a setting (profiling output, log paths, spill folder…).
      await connection.run('SET lock_configuration = true');
      return new ArtifactsDb(instance, connection, scratch, artifacts, realArtifacts, setup, views);
    } catch (error) {
      instance?.closeSync();
      rmSync(scratch, { recursive: true, force: true });
      throw error;
    }
  }

  /** Sources found to have no file yet (their views are empty), among those checked so far. */
  get emptySources(): string[] {
    return [...this.empty].sort();
  }

  /**
   * Runs `sql` (one or more statements) and returns the last statement's rows. Each statement
   * is checked before it runs; one that would write is refused, and nothing after it runs.
   * @param source names the SQL in errors (the query name or file path).
   * @throws UsageError for a refused statement or a DuckDB error (its message, on one line).
   */
  async query(sql: string, source = 'query'): Promise<SqlResult> {
    if (this.closed) throw new Error('ArtifactsDb is closed');
    const statements = splitStatements(sql);
    if (statements.length === 0) throw new UsageError(`${source}: no SQL statement found`);
    if (this.interrupted) throw new UsageError(`${source}: Interrupted`);
    await this.prepareViews(sql);
    let last: SqlResult = { columns: [], rows: [] };
    for (const [i, text] of statements.entries()) {
      const where = statements.length > 1 ? `${source}, statement ${i + 1}` : source;
      if (this.interrupted) throw new UsageError(`${where}: Interrupted`);
      // The text check comes before DuckDB parses anything (parsing IMPORT DATABASE already
      // reads files); a word that starts no statement goes to the parser for its syntax error.
      const first = precheck(text);
      if (!first.ok && isTypo(text)) await this.extractOne(text, where);
      if (!first.ok) throw refused(where, first.what);
      const extracted = await this.extractOne(text, where);
      const prepared = await extracted.prepare(0).catch((e: unknown) => {
        throw this.failed(where, e);
      });
      try {
        const verdict = await judgeStatement(prepared.statementType, text, (inner) => this.typeOf(inner, where));
        if (!verdict.ok) throw refused(where, verdict.what);
        const result = await prepared.run().catch((e: unknown) => {
          throw this.failed(where, e);
        });
        last = readResult(result);
      } finally {
        prepared.destroySync();
      }
    }
    return last;
  }

  /**
   * Stops the running statement (Ctrl-C); it then fails with DuckDB's "Interrupted", and so does
   * every later `query` of this session, so a caller between two statements stops too.
   */
  interrupt(): void {
    this.interrupted = true;
    if (!this.closed) this.connection.interrupt();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
    rmSync(this.scratch, { recursive: true, force: true });
  }

  /** Creates the views `sql` names (and the views they read), after checking their sources. */
  private async prepareViews(sql: string): Promise<void> {
    const text = stripComments(sql);
    const wanted = new Set(CATALOG.test(text) ? this.views.map((v) => v.name) : this.views.filter((v) => mentions(text, v.name)).map((v) => v.name));
    for (let grew = true; grew; ) {
      grew = false;
      for (const v of this.views) {
        if (!wanted.has(v.name)) continue;
        for (const dep of v.views) {
          if (wanted.has(dep)) continue;
          wanted.add(dep);
          grew = true;
        }
      }
    }
    const todo = this.views.filter((v) => wanted.has(v.name) && !this.created.has(v.name));
    if (todo.length === 0) return;
    const sources = new Set(todo.flatMap((v) => [...v.sources]).filter((s) => !this.checked.has(s)));
    this.checkSources(sources);
    try {
      await this.connection.run(`SET VARIABLE artifacts = ${sqlString(this.realArtifacts)}`);
      await this.connection.run(`SET VARIABLE empty_file = ${sqlString(join(this.scratch, 'empty.json'))}`);
      await this.connection.run(`SET VARIABLE empty_sources = [${[...this.empty].map(sqlString).join(', ')}]::VARCHAR[]`);
      for (const statement of this.setup) await this.connection.run(statement);
      for (const v of todo) {
        await this.connection.run(v.sql);
        this.created.add(v.name);
      }
    } catch (error) {
      const denied = this.deniedFile(error);
      throw new UsageError(`Could not set up the views over ${this.artifacts}: ${denied ?? oneLine(error)}`);
    }
  }

  private checkSources(sources: Set<string>): void {
    for (const source of sources) {
      this.checked.add(source);
      const file = SOURCE_FILES[source];
      if (file === undefined || !isFile(join(this.artifacts, file))) this.empty.add(source);
    }
  }

  /** A DuckDB error as one line; a file outside the allowed folders gets quorum's own words. */
  private failed(where: string, error: unknown): UsageError {
    return new UsageError(`${where}: ${this.deniedFile(error) ?? oneLine(error)}`);
  }

  /** For DuckDB's refusal of a file outside the allowed folders, why, in quorum's words. */
  private deniedFile(error: unknown): string | undefined {
    const denied = /^Permission Error: Cannot access (?:file|directory) "(.*)" - file system operations are disabled by configuration/.exec(oneLine(error));
    if (!denied) return undefined;
    const file = denied[1]!;
    const inside = !file.split(/[\\/]/).includes('..') && [this.artifacts, this.realArtifacts].some((d) => file.startsWith(withSlash(d)));
    return `refused reading ${file}: quorum's SQL reads only files inside the artifacts folder ${this.artifacts}${inside ? ' (this one is a symlink that points out of it)' : ''}`;
  }

  /** Parses exactly one statement: the splitter and DuckDB must agree, or nothing runs. */
  private async extractOne(text: string, where: string): Promise<DuckDBExtractedStatements> {
    const extracted = await this.connection.extractStatements(text).catch((e: unknown) => {
      throw this.failed(where, e);
    });
    if (extracted.count !== 1) throw new UsageError(`${where}: could not tell the statements apart; end each statement with ";"`);
    return extracted;
  }

  /** The type of a statement that already passed `precheck` (the one inside an EXPLAIN). */
  private async typeOf(text: string, where: string): Promise<number> {
    const prepared = await (await this.extractOne(text, where)).prepare(0).catch((e: unknown) => {
      throw this.failed(where, e);
    });
    try {
      return prepared.statementType;
    } finally {
      prepared.destroySync();
    }
  }
}

function refused(where: string, what: string): UsageError {
  return new UsageError(`${where}: refused ${what}: quorum's SQL only reads (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, catalog PRAGMAs, SET VARIABLE)`);
}

/** Splits views.sql into its setup statements (SET VARIABLE …) and its views, in file order. */
function parseViews(text: string): { setup: string[]; views: ViewDef[] } {
  const setup: string[] = [];
  const defs: { name: string; sql: string; body: string }[] = [];
  for (const statement of splitStatements(text)) {
    const body = stripComments(statement);
    const m = /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+"?(\w+)"?/i.exec(body);
    if (m) defs.push({ name: m[1]!.toLowerCase(), sql: statement, body });
    else setup.push(statement);
  }
  const views = defs.map((d) => ({
    name: d.name,
    sql: d.sql,
    views: new Set(defs.filter((o) => o.name !== d.name && new RegExp(`\\b(FROM|JOIN)\\s+${o.name}\\b`, 'i').test(d.body)).map((o) => o.name)),
    sources: new Set(Object.entries(SOURCE_VARIABLES).filter(([variable]) => d.body.includes(`'${variable}'`)).map(([, source]) => source)),
  }));
  return { setup, views };
}

function mentions(text: string, name: string): boolean {
  return new RegExp(`(^|[^\\w.])${name}($|[^\\w])`, 'i').test(text);
}

/**
 * views.sql with every `columns = {…}` argument removed, so DuckDB detects the columns itself.
 * Relies on views.sql's layout: a columns argument is the last one of its read_json call and
 * holds no `}` of its own.
 */
export function autoDetectViews(views: string): string {
  return views.replace(/,\s*columns\s*=\s*\{[^}]*\}/g, '');
}

/** DuckDB's message on one line: the "LINE 1: …" excerpt and caret are dropped. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\n\s*\nLINE \d+:/)[0]!.replace(/\s*\n\s*/g, ' ').trim();
}

function withSlash(dir: string): string {
  return dir.endsWith(sep) ? dir : `${dir}${sep}`;
}

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
