/**
 * A compact copy of every `runs/<runId>/consensus.json`, kept OUTSIDE the artifacts folder, so a
 * query over claims reads one JSONL file instead of opening one small file per run. With tens of
 * thousands of runs the per-file cost dominates: over 64,000 runs, consensus_rate reading the
 * files directly took 19–46 s in bench/sql.ts, and well under one second of DuckDB time reading
 * the same documents as one compact JSONL.
 *
 * Each line is one consensus.json, compact, without the two fields views.sql never reads and
 * that make up about half its size: each claim's `wordings` and the chair's prose
 * (`synthesis.text`). Everything else is as in the file. It is checked against
 * the folder on every use: every run's consensus.json is listed and stat()ed, new ones are
 * appended, and if any copied file changed or disappeared, or the copy itself was touched, the
 * copy is rebuilt. A consensus.json that is not valid JSON is copied with its line breaks
 * removed, and skipped by the views' `ignore_errors` as it would be when read directly.
 *
 * Layout of `<cacheDir>/<hash of the folder's real path>/`:
 *   state.json          { version, artifacts, file, bytes, runs: { <runId>: [mtimeMs, size] } }
 *   consensus-<gen>.jsonl   the copy, append-only between rebuilds
 *   lock                held while the copy is written; another process waits, then reads directly
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync,
  statSync, writeFileSync, writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const VERSION = 2;
/** A lock older than this is taken over: its writer died. */
const STALE_LOCK_MS = 120_000;
/** How long to wait for another process's update before reading the files directly. */
const LOCK_WAIT_MS = 10_000;

export interface Snapshot {
  /** The compact JSONL to read instead of runs/*\/consensus.json. */
  file: string;
  /** Runs it holds. */
  runs: number;
  /** Runs appended by this call. */
  added: number;
  /** True when this call wrote the copy from scratch. */
  rebuilt: boolean;
}

interface State {
  version: number;
  artifacts: string;
  file: string;
  /** Size of `file` after the last complete write; any other size means it was touched. */
  bytes: number;
  runs: Record<string, [number, number]>;
}

/**
 * Where snapshots live: `$QUORUM_CACHE_DIR`, else `$XDG_CACHE_HOME/quorum/sql`, else
 * `~/.cache/quorum/sql`.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.QUORUM_CACHE_DIR) return env.QUORUM_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'quorum', 'sql');
  return join(homedir(), '.cache', 'quorum', 'sql');
}

/**
 * Brings the snapshot of `artifacts` up to date and returns it; undefined when the folder has no
 * consensus.json at all. Throws when the cache folder cannot be used (the caller then reads the
 * files directly) or when another process holds the lock for longer than the wait.
 */
export async function syncSnapshot(artifacts: string, cacheDir: string): Promise<Snapshot | undefined> {
  const real = realpathSync(artifacts);
  const current = listConsensusFiles(join(real, 'runs'));
  if (current.size === 0) return undefined;
  const dir = join(cacheDir, createHash('sha256').update(real).digest('hex').slice(0, 16));

  const fresh = usable(readState(dir), real, dir, current);
  if (fresh && fresh.added.length === 0 && !fresh.stale) return { file: join(dir, fresh.state.file), runs: current.size, added: 0, rebuilt: false };

  mkdirSync(dir, { recursive: true });
  const release = await lock(dir);
  try {
    // Another process may have updated it while this one waited.
    const now = usable(readState(dir), real, dir, current);
    if (now && !now.stale) {
      if (now.added.length > 0) appendRuns(dir, now.state, real, now.added, current);
      return { file: join(dir, now.state.file), runs: current.size, added: now.added.length, rebuilt: false };
    }
    return rebuild(dir, real, current, now?.state.file);
  } finally {
    release();
  }
}

/** runId → [mtimeMs, size] of each runs/<runId>/consensus.json that exists. */
function listConsensusFiles(runs: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  let entries;
  try {
    entries = readdirSync(runs, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const st = statSync(join(runs, e.name, 'consensus.json'), { throwIfNoEntry: false });
    if (st?.isFile()) out.set(e.name, [st.mtimeMs, st.size]);
  }
  return out;
}

function readState(dir: string): State | undefined {
  try {
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
    return state.version === VERSION ? state : undefined;
  } catch {
    return undefined;
  }
}

/** The state if it describes this folder and its copy is intact, with what is new and whether anything went stale. */
function usable(state: State | undefined, real: string, dir: string, current: Map<string, [number, number]>) {
  if (!state || state.artifacts !== real) return undefined;
  const st = statSync(join(dir, state.file), { throwIfNoEntry: false });
  if (!st || st.size !== state.bytes) return undefined;
  let stale = false;
  for (const [id, [mtime, size]] of Object.entries(state.runs)) {
    const now = current.get(id);
    if (!now || now[0] !== mtime || now[1] !== size) {
      stale = true;
      break;
    }
  }
  const added = [...current.keys()].filter((id) => !(id in state.runs));
  return { state, stale, added };
}

function rebuild(dir: string, real: string, current: Map<string, [number, number]>, previous: string | undefined): Snapshot {
  const file = `consensus-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}.jsonl`;
  const state: State = { version: VERSION, artifacts: real, file, bytes: 0, runs: {} };
  writeFileSync(join(dir, file), '');
  appendRuns(dir, state, real, [...current.keys()], current);
  // Older copies go, except the one just replaced: a query that read its name a moment ago may still open it.
  for (const f of readdirSync(dir)) {
    if (/^consensus-.*\.jsonl$/.test(f) && f !== file && f !== previous) rmSync(join(dir, f), { force: true });
  }
  return { file: join(dir, file), runs: current.size, added: current.size, rebuilt: true };
}

/** Appends the runs' documents to the copy, then records them (and the copy's new size) in state.json. */
function appendRuns(dir: string, state: State, real: string, ids: string[], current: Map<string, [number, number]>): void {
  const fd = openSync(join(dir, state.file), 'a');
  try {
    let chunk: Buffer[] = [];
    let size = 0;
    for (const id of ids) {
      let text: Buffer;
      try {
        text = readFileSync(join(real, 'runs', id, 'consensus.json'));
      } catch {
        continue; // removed since it was listed: the next use sees it gone
      }
      const line = snapshotLine(text);
      chunk.push(line);
      size += line.length;
      state.bytes += line.length;
      state.runs[id] = current.get(id)!;
      if (size > 1 << 22) {
        writeSync(fd, Buffer.concat(chunk));
        chunk = [];
        size = 0;
      }
    }
    if (chunk.length) writeSync(fd, Buffer.concat(chunk));
  } finally {
    closeSync(fd);
  }
  const tmp = join(dir, `.state.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, join(dir, 'state.json'));
}

/** One consensus.json as one snapshot line (see the file comment). */
export function snapshotLine(text: Buffer): Buffer {
  let doc: unknown;
  try {
    doc = JSON.parse(text.toString('utf8'));
  } catch {
    return compact(text);
  }
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const d = doc as { claims?: unknown; dissent?: unknown; synthesis?: unknown };
    for (const list of [d.claims, d.dissent]) {
      if (Array.isArray(list)) for (const c of list) if (c && typeof c === 'object') delete (c as { wordings?: unknown }).wordings;
    }
    if (d.synthesis && typeof d.synthesis === 'object') delete (d.synthesis as { text?: unknown }).text;
  }
  return Buffer.from(`${JSON.stringify(doc)}\n`);
}

/**
 * Text that is not valid JSON on one line: every CR/LF and the indentation after it removed,
 * plus a final LF, so it stays one (unreadable) line the views skip.
 */
export function compact(text: Buffer): Buffer {
  const out = Buffer.allocUnsafe(text.length + 1);
  let j = 0;
  let skipping = false;
  for (let i = 0; i < text.length; i++) {
    const b = text[i]!;
    if (b === 0x0a || b === 0x0d) {
      skipping = true;
    } else if (skipping && (b === 0x20 || b === 0x09)) {
      // indentation after a line break
    } else {
      skipping = false;
      out[j++] = b;
    }
  }
  out[j++] = 0x0a;
  return out.subarray(0, j);
}

async function lock(dir: string): Promise<() => void> {
  const path = join(dir, 'lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(path, 'wx'));
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the snapshot in ${dir} is being written by another process`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** For tests: whether a snapshot folder exists for `artifacts` under `cacheDir`. */
export function snapshotDir(artifacts: string, cacheDir: string): string {
  return join(cacheDir, createHash('sha256').update(realpathSync(artifacts)).digest('hex').slice(0, 16));
}

