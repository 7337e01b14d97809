import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

/**
 * The bundled queries: `queries/<name>.sql` at the package root (beside `src/` and `dist/`),
 * one question per file, its first line a `--` comment saying what it answers. `views.sql` is
 * not a query: it defines the views the queries read.
 */
export const QUERIES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'queries');
export const VIEWS_FILE = 'views.sql';

export interface BundledQuery {
  name: string;
  /** The first line's comment, without `--`. */
  description: string;
  path: string;
}

/** What one invocation runs: a bundled query by name, or the user's file. */
export interface QuerySource {
  /** The bundled name, or the file path as given. */
  name: string;
  sql: string;
  bundled: boolean;
}

/** The bundled queries, by name. */
export function listQueries(dir: string = QUERIES_DIR): BundledQuery[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql') && f !== VIEWS_FILE)
    .sort()
    .map((f) => {
      const path = join(dir, f);
      return { name: f.slice(0, -'.sql'.length), description: describeSql(readFileSync(path, 'utf8')), path };
    });
}

/** The first line's `--` comment (empty when the file does not start with one). */
export function describeSql(sql: string): string {
  const first = sql.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const m = /^\s*--\s?(.*)$/.exec(first);
  return m ? m[1]!.trim() : '';
}

/** views.sql's text. */
export function viewsSql(dir: string = QUERIES_DIR): string {
  const path = join(dir, VIEWS_FILE);
  if (!existsSync(path)) throw new Error(`The bundled views are missing: ${path} not found; reinstall quorum`);
  return readFileSync(path, 'utf8');
}

/**
 * Resolves `quorum sql <name|file.sql>`: an argument with a path separator or ending in `.sql`
 * names a file (a missing `name.sql` falls back to the bundled query `name`); anything else
 * names a bundled query.
 * @throws UsageError naming the known queries when there is no such query or file.
 */
export function resolveQuery(arg: string, dir: string = QUERIES_DIR): QuerySource {
  const known = listQueries(dir);
  const looksLikeFile = /[\\/]/.test(arg) || arg.toLowerCase().endsWith('.sql');
  if (looksLikeFile && existsSync(arg)) {
    if (!statSync(arg).isFile()) throw new UsageError(`${arg} is not a file; give a .sql file or a query name (quorum sql --list)`);
    return { name: arg, sql: readFileSync(arg, 'utf8'), bundled: false };
  }
  const name = looksLikeFile && !/[\\/]/.test(arg) ? basename(arg).slice(0, -'.sql'.length) : arg;
  const hit = known.find((q) => q.name === name);
  if (hit) return { name: hit.name, sql: readFileSync(hit.path, 'utf8'), bundled: true };
  const names = known.map((q) => q.name).join(', ');
  if (looksLikeFile) throw new UsageError(`No such file: ${arg}; give a .sql file that exists, or one of the bundled queries: ${names}`);
  throw new UsageError(`Unknown query "${arg}"; the bundled queries are: ${names} (or give a path to your own .sql file)`);
}
