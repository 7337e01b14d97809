import type { Dirent, Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { expandBraces, isGlob, isMagicSegment, segmentRegExp, unescapeSegment } from './glob.js';

/** What a folder contributes when given as an input: text documents only. */
export const DEFAULT_EXTENSIONS: readonly string[] = ['.md', '.markdown', '.mdx', '.txt', '.rst', '.adoc'];

export interface ResolveOptions {
  /** Where relative patterns start and what the returned paths are relative to. Default: process.cwd(). */
  cwd?: string;
  /** File name endings a folder contributes (case-insensitive). Default: `DEFAULT_EXTENSIONS`. */
  extensions?: readonly string[];
}

/** Why an entry met on the way was left out. */
export type InputSkipReason = 'symlink-outside' | 'broken-symlink' | 'unreadable';

export interface ResolvedInputs {
  /** Sorted, each file once, relative to `cwd` with forward slashes (`../` for files outside it). */
  files: string[];
  /** Entries met while walking folders and globs that were left out, sorted by path. */
  skipped: { path: string; reason: InputSkipReason }[];
}

/** Folders a walk never enters: dependencies are not the user's documents. */
const SKIPPED_DIRS = new Set(['node_modules']);

/**
 * Turns `quorum batch` arguments into the files to read. Each pattern is:
 * - a file: taken whatever its extension (a symlink the user names is followed);
 * - a folder: every file under it with one of `extensions`, recursively, leaving out dotfiles,
 *   dot-folders, `node_modules`, and symlinks that lead outside the folder;
 * - a glob (`*`, `?`, `[…]`, `**`, `{a,b}`; see glob.ts), expanded like a shell would: each
 *   matching file is taken as if named, each matching folder is walked as above (so `specs/**`
 *   gives what `specs/` gives, while a wildcard file name takes any extension). Wildcards match
 *   neither dot-entries nor `node_modules` (name them to get them), and a match through a
 *   symlink leading outside the glob's fixed leading folders is left out.
 *
 * A path that exists is taken literally even if it contains glob characters. A pattern that
 * gives no file is a UsageError naming it. A file reached twice (two patterns, or a symlink
 * inside a walked folder) is listed once, under its own path if it was reached by it, else under
 * the path that sorts first. Paths sort by code unit, so the order is the same on every machine
 * and locale.
 */
export async function resolveInputs(patterns: readonly string[], { cwd = process.cwd(), extensions = DEFAULT_EXTENSIONS }: ResolveOptions = {}): Promise<ResolvedInputs> {
  if (patterns.length === 0) throw new UsageError('No input given; name files, folders or globs, e.g. quorum batch specs/ --query "…"');
  const exts = normalizeExtensions(extensions);
  const root = resolve(cwd);
  // Real path → the paths it was reached by: one file reached twice is listed once.
  const found = new Map<string, string[]>();
  const skipped = new Map<string, InputSkipReason>();
  const walker = new Walker(exts, found, skipped);

  for (const pattern of patterns) {
    if (pattern.trim() === '') throw new UsageError('Expected a file, folder or glob, got an empty argument');
    const before = walker.added;
    const native = sep === '\\' ? pattern.split('\\').join('/') : pattern;
    const literal = await statOrUndefined(resolve(root, native));
    if (literal instanceof Error) throw new UsageError(`"${pattern}" cannot be read (${literal.message}); check its permissions`);
    if (literal !== undefined) {
      const path = resolve(root, native);
      if (literal.isDirectory()) await walker.walkDir(path, await realpath(path));
      else if (literal.isFile()) walker.add(path, await realpath(path));
      else throw new UsageError(`"${pattern}" is not a file or folder`);
      if (walker.added === before) {
        throw new UsageError(`No file matches "${pattern}": the folder holds no ${describeExtensions(exts)} file outside dot-folders and node_modules`);
      }
      continue;
    }
    let globbed: boolean;
    try {
      globbed = isGlob(native);
    } catch (error) {
      throw new UsageError(`${(error as Error).message}; simplify the pattern`);
    }
    if (globbed) for (const alternative of expandBraces(native)) await walker.glob(alternative, root);
    if (walker.added === before) throw new UsageError(`No file matches "${pattern}"; check the path or quote the glob`);
  }

  const display = (abs: string) => {
    const rel = relative(root, abs);
    return (rel === '' ? '.' : rel).split(sep).join('/');
  };
  const files = new Set<string>();
  const rootReal = await realpath(root);
  for (const [real, paths] of found) {
    const direct = paths.find((p) => relative(root, p) === relative(rootReal, real));
    files.add(direct !== undefined ? display(direct) : paths.map(display).sort(byCodeUnit)[0]!);
  }
  return {
    files: [...files].sort(byCodeUnit),
    skipped: [...skipped].map(([path, reason]) => ({ path: display(path), reason })).sort((a, b) => byCodeUnit(a.path, b.path)),
  };
}

class Walker {
  /** Files added so far, counting repeats: tells whether a pattern matched anything. */
  added = 0;
  constructor(
    private readonly exts: readonly string[],
    private readonly found: Map<string, string[]>,
    private readonly skipped: Map<string, InputSkipReason>,
  ) {}

  add(path: string, real: string): void {
    const paths = this.found.get(real);
    if (paths === undefined) this.found.set(real, [path]);
    else if (!paths.includes(path)) paths.push(path);
    this.added++;
  }

  /** Every file with a wanted extension under `dir`, outside dot-entries and node_modules. */
  async walkDir(dir: string, dirReal: string): Promise<void> {
    // Real folders already walked: a symlink back into the tree must not walk it twice or loop.
    const seen = new Set<string>([dirReal]);
    const stack: [string, string][] = [[dir, dirReal]];
    while (stack.length > 0) {
      const [path, real] = stack.pop()!;
      for (const entry of await this.list(path)) {
        if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
        const child = await this.follow(join(path, entry.name), join(real, entry.name), entry, dirReal);
        if (child === undefined) continue;
        if (child.kind === 'dir') {
          if (!seen.has(child.real)) {
            seen.add(child.real);
            stack.push([child.path, child.real]);
          }
        } else if (child.kind === 'file' && this.wanted(entry.name)) {
          this.add(child.path, child.real);
        }
      }
    }
  }

  /** Expands one brace-free glob under `root`, walking only where its segments can match. */
  async glob(pattern: string, root: string): Promise<void> {
    const absolute = isAbsolute(pattern);
    const segments = pattern.split('/').filter((s) => s !== '' && s !== '.');
    // The fixed leading folders: matches through symlinks leading outside them are left out.
    let fixed = 0;
    while (fixed < segments.length - 1 && !isMagicSegment(segments[fixed]!) && segments[fixed] !== '**') fixed++;
    const base = resolve(absolute ? '/' : root, ...segments.slice(0, fixed).map(unescapeSegment));
    const baseStat = await statOrUndefined(base);
    if (baseStat === undefined || baseStat instanceof Error || !baseStat.isDirectory()) return;
    const baseReal = await realpath(base);
    // (real folder, segment index) pairs already expanded: `**` over symlinks must not loop.
    const seen = new Set<string>();
    // `**` lists a folder, then the next segment lists it again: read each folder once.
    const listings = new Map<string, Dirent[]>();
    const list = async (dir: string) => listings.get(dir) ?? listings.set(dir, await this.list(dir)).get(dir)!;
    const visit = async (path: string, real: string, kind: Kind, at: number): Promise<void> => {
      if (at === segments.length) return this.take(path, real, kind);
      const key = `${at}\0${real}`;
      if (seen.has(key)) return;
      seen.add(key);
      const segment = segments[at]!;
      // A trailing ** is the folder itself, walked: the same files as naming the folder.
      if (segment === '**' && at + 1 === segments.length) return this.take(path, real, kind);
      if (segment === '**') {
        await visit(path, real, kind, at + 1);
        for (const entry of await list(path)) {
          if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
          const child = await this.follow(join(path, entry.name), join(real, entry.name), entry, baseReal);
          if (child?.kind === 'dir') await visit(child.path, child.real, child.kind, at);
        }
        return;
      }
      if (!isMagicSegment(segment)) {
        const childPath = join(path, unescapeSegment(segment));
        const childStat = await statOrUndefined(childPath);
        if (childStat === undefined || childStat instanceof Error) return;
        const childKind = kindOf(childStat);
        if (at + 1 === segments.length || childKind === 'dir') await visit(childPath, await realpath(childPath), childKind, at + 1);
        return;
      }
      const re = segmentRegExp(segment);
      for (const entry of await list(path)) {
        if (!re.test(entry.name) || SKIPPED_DIRS.has(entry.name)) continue;
        const child = await this.follow(join(path, entry.name), join(real, entry.name), entry, baseReal);
        if (child !== undefined && (at + 1 === segments.length || child.kind === 'dir')) await visit(child.path, child.real, child.kind, at + 1);
      }
    };
    await visit(base, baseReal, 'dir', fixed);
  }

  /** A glob's match: a file is taken as named, a folder is walked. */
  private async take(path: string, real: string, kind: Kind): Promise<void> {
    if (kind === 'dir') await this.walkDir(path, real);
    else if (kind === 'file') this.add(path, real);
  }

  private async list(dir: string): Promise<Dirent[]> {
    try {
      return await readdir(dir, { withFileTypes: true });
    } catch {
      this.skipped.set(dir, 'unreadable');
      return [];
    }
  }

  /** What an entry is, following a symlink only when it stays inside `insideOf`. */
  private async follow(path: string, real: string, entry: Dirent, insideOf: string): Promise<{ path: string; real: string; kind: Kind } | undefined> {
    if (!entry.isSymbolicLink()) return { path, real, kind: kindOf(entry) };
    let target: string;
    let st: Stats;
    try {
      target = await realpath(path);
      st = await stat(path);
    } catch {
      this.skipped.set(path, 'broken-symlink');
      return undefined;
    }
    if (target !== insideOf && !target.startsWith(insideOf.endsWith(sep) ? insideOf : insideOf + sep)) {
      this.skipped.set(path, 'symlink-outside');
      return undefined;
    }
    return { path, real: target, kind: kindOf(st) };
  }

  private wanted(name: string): boolean {
    const lower = name.toLowerCase();
    return this.exts.some((ext) => lower.endsWith(ext) && lower.length > ext.length);
  }
}

type Kind = 'dir' | 'file' | 'other';

function kindOf(entry: Dirent | Stats): Kind {
  return entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : 'other';
}

function normalizeExtensions(extensions: readonly string[]): string[] {
  if (extensions.length === 0) throw new UsageError('Expected at least one file extension, got none');
  return extensions.map((e) => {
    const ext = e.trim().toLowerCase();
    if (!/^\.?[a-z0-9][a-z0-9._+-]*$/.test(ext)) throw new UsageError(`Expected a file extension like ".md", got "${e}"`);
    return ext.startsWith('.') ? ext : `.${ext}`;
  });
}

function describeExtensions(exts: readonly string[]): string {
  return exts.length === 1 ? exts[0]! : `${exts.slice(0, -1).join(', ')} or ${exts[exts.length - 1]!}`;
}

/** The entry's stats; undefined if there is none; the error for any other failure. */
async function statOrUndefined(path: string): Promise<Stats | undefined | Error> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') return undefined;
    return new Error(code ?? (error as Error).message);
  }
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
