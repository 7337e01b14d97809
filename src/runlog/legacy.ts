/**
 * 0.1 artifacts folders: per-run files (`runs/<id>/consensus.json`, …) and
 * `batches/<id>/ledger.jsonl`, but no run log. Commands that read the record stop on them with
 * one line pointing at `quorum migrate`, rather than answer as if the folder held no runs.
 */
import { existsSync, opendirSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_FILES } from './lines.js';

/**
 * Left in the folder by `quorum migrate` while it converts, removed when it is done: a folder
 * whose migration was cut short holds part of its runs in the logs, and must not be read as if
 * that part were all of them.
 */
export const MIGRATING_MARKER = '.migrating';

/** The one-line message for a 0.1 folder (see docs/CONTRACTS.md, "The run log"); undefined for any other folder. */
export function legacyFolderMessage(out: string): string | undefined {
  const command = `quorum migrate --out ${shellWord(out)}`;
  if (existsSync(join(out, MIGRATING_MARKER))) return `${out} is half converted from quorum 0.1 (a migration did not finish); finish it with: ${command}`;
  // A 0.2 batch may have started (batches.jsonl) with no run decided yet: that is no 0.1 folder.
  if (existsSync(join(out, LOG_FILES.runs)) || existsSync(join(out, LOG_FILES.batches))) return undefined;
  if (!anySubfolderWith(join(out, 'runs'), ['consensus.json']) && !anySubfolderWith(join(out, 'batches'), ['batch.json', 'ledger.jsonl'])) return undefined;
  return `${out} was written by quorum 0.1 (per-run files, no ${LOG_FILES.runs}); convert it once with: ${command}`;
}

/** True when some `<dir>/<sub>/` holds one of `files`; stops at the first (a 0.1 history can hold tens of thousands of runs). */
function anySubfolderWith(dir: string, files: readonly string[]): boolean {
  let handle;
  try {
    handle = opendirSync(dir);
  } catch {
    return false;
  }
  try {
    for (let entry = handle.readSync(); entry; entry = handle.readSync()) {
      if (entry.isDirectory() && files.some((file) => existsSync(join(dir, entry.name, file)))) return true;
    }
    return false;
  } finally {
    handle.closeSync();
  }
}

/** The folder as one shell word, so the suggested command can be pasted as it is. */
function shellWord(path: string): string {
  return /^[\w./:@%+=,-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
