import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { moveStaleLockAside, pidAlive, sweepDeadLockFiles } from '../runlog/folderLock.js';

/** What a batch lock file holds: who runs the batch, where, since when. */
export interface BatchLockOwner {
  pid: number;
  host: string;
  /** When this process took the lock (ISO time). */
  since: string;
  /** The batch being run. */
  batchId: string;
  /** Linux: the process's start time in clock ticks (/proc/<pid>/stat), so a reused pid is not taken for the owner. */
  pidStart?: string;
}

/** The lock of the batches of one command (one batch key) in an artifacts folder. */
export function batchLockPath(out: string, key: string): string {
  return join(out, `.batch-${key}.lock`);
}

/**
 * The lock a running batch holds for its command (its batch key) in an artifacts folder, for as
 * long as it runs: a second identical batch, or a `--resume`, finds it and refuses rather than
 * run the same chunks twice or attach to a batch that is running.
 *
 * The same scheme as the run log's FolderLock (src/runlog/folderLock.ts), which is held for
 * milliseconds and cannot serve here: a key file that already holds the owner (pid, host, start
 * time, batch id) is hard-linked to the lock's name, so the lock is never seen empty. A lock whose
 * owner is dead (a pid gone on this host, or reused by another process) is stale: it is moved
 * aside and taken over. A lock held from another host is never broken (its pid cannot be checked).
 * Released on every orderly exit; a SIGKILL leaves it behind, stale.
 */
export class BatchLock {
  #held: string | undefined;
  readonly #onExit = () => this.#releaseSync();

  constructor(readonly path: string) {}

  /** Takes the lock for `batchId`; returns undefined when taken, or the live owner that holds it. */
  async acquire(batchId: string): Promise<BatchLockOwner | undefined> {
    const pidStart = processStart(process.pid);
    const me: BatchLockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), batchId, ...(pidStart && { pidStart }) };
    const text = `${JSON.stringify(me)}\n`;
    await sweepDeadLockFiles(this.path);
    const key = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.key`;
    await writeFile(key, text, { flag: 'wx' });
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await link(key, this.path);
          this.#held = text;
          process.once('exit', this.#onExit);
          return undefined;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const seen = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        });
        if (seen === undefined) continue; // released meanwhile
        const owner = parseOwner(seen);
        if (owner && !isStale(owner)) return owner;
        if (attempt >= 20) throw new Error(`Could not take the batch lock ${this.path}: a dead owner's lock keeps coming back`);
        await moveStaleLockAside(this.path, seen);
      }
    } finally {
      await unlink(key).catch(() => undefined);
    }
  }

  /** Releases the lock if this process still holds it. */
  async release(): Promise<void> {
    if (this.#held === undefined) return;
    process.removeListener('exit', this.#onExit);
    const held = this.#held;
    this.#held = undefined;
    const current = await readFile(this.path, 'utf8').catch(() => undefined);
    if (current === held) await unlink(this.path).catch(() => undefined);
  }

  /** On `process.exit` (a second Ctrl-C): no await is possible there. */
  #releaseSync(): void {
    if (this.#held === undefined) return;
    try {
      if (readFileSync(this.path, 'utf8') === this.#held) unlinkSync(this.path);
    } catch {
      // Gone already, or not readable: nothing to release.
    }
    this.#held = undefined;
  }


}

function parseOwner(text: string): BatchLockOwner | undefined {
  try {
    const owner = JSON.parse(text) as BatchLockOwner;
    return Number.isSafeInteger(owner.pid) && owner.pid > 0 && typeof owner.host === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** Dead on this host, or its pid now belongs to a process started later. Another host's lock is never stale. */
function isStale(owner: BatchLockOwner): boolean {
  if (owner.host !== hostname()) return false;
  if (!pidAlive(owner.pid)) return true;
  const start = owner.pidStart && processStart(owner.pid);
  return Boolean(start && start !== owner.pidStart);
}

/** Field 22 of /proc/<pid>/stat (start time since boot); undefined off Linux. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
