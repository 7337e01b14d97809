import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArtifactsError, UsageError } from '../errors.js';
import { legacyFolderMessage } from '../runlog/legacy.js';
import { fileKind } from './fileKind.js';

/**
 * Makes sure the artifacts folder `--out` can take a run, before the run makes its first model
 * call: not a 0.1 folder awaiting `quorum migrate`, created when missing, then proven writable by creating and removing a small probe file
 * in it (permission bits alone say nothing for root, ACLs, read-only mounts). The run log writes
 * lazily, on its first commit, so without this a read-only folder or a file given as `--out`
 * was found only after every model had been asked.
 *
 * @throws UsageError (exit 2), one line naming the folder and what to do; ArtifactsError (exit 1)
 *   when the folder is full, so that no model is asked for answers that could not be kept.
 */
export function prepareOutFolder(out: string): void {
  // A 0.1 folder takes no run until it is migrated: its record would be split in two layouts.
  const legacy = legacyFolderMessage(out);
  if (legacy) throw new UsageError(legacy);
  let stat;
  try {
    stat = statSync(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw unusable(out, error);
  }
  if (stat && !stat.isDirectory()) {
    throw new UsageError(`--out ${out} is ${fileKind(stat)}, not a folder; give a folder for the artifacts (it is created if missing), e.g. --out ./artifacts`);
  }
  if (!stat) {
    try {
      mkdirSync(out, { recursive: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'a part of its path is a file' : code;
      throw new UsageError(`--out ${out} cannot be created (${why}); give a folder you can write to, or create it first`);
    }
  }
  const probe = join(out, `.quorum-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    // One byte, not an empty file: a full disk still has inodes for empty files but no block for data.
    writeFileSync(probe, '.', { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC' || (error as NodeJS.ErrnoException).code === 'EDQUOT') {
      unlinkProbe(probe);
      throw new ArtifactsError(`--out ${out} is full (${(error as NodeJS.ErrnoException).code}): no model was asked; free some space there, or give another folder`);
    }
    throw unusable(out, error);
  }
  try {
    unlinkSync(probe);
  } catch {
    // Created but not removable (a sticky folder owned by someone else): writes work, which is what counts.
  }
}

function unusable(out: string, error: unknown): UsageError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  if (code === 'ENOTDIR') return new UsageError(`--out ${out} cannot be created (a part of its path is a file); give a folder you can write to`);
  return new UsageError(`--out ${out} is not writable (${code}); give a folder you can write to, or fix its permissions`);
}

function unlinkProbe(probe: string): void {
  try {
    unlinkSync(probe);
  } catch {
    // It may not have been created at all.
  }
}
