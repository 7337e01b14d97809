import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A lock taken longer ago than this is stale whatever its pid says (link(2) sets the ctime): a commit holds it for milliseconds, and pids get reused. */
const STALE_AFTER_MS = 60_000;

/**
 * A lock file shared by every quorum process that appends to one artifacts folder. Held only
 * while a commit writes (milliseconds), so appends never interleave and a torn tail is only cut
 * back when no live writer can be in the middle of writing it. Node has no flock(2), hence a
 * hard link made to a file that already holds the owner's pid (so a lock is never seen empty,
 * whenever its maker dies); a lock whose owner died (SIGKILL mid-commit) is broken by the next
 * writer.
 *
 * Cooperative: only writers that take it are kept apart. All writers in one pid namespace.
 */
export class FolderLock {
  readonly #token = `${process.pid} ${randomBytes(4).toString('hex')}\n`;
  /** This writer's key: the lock is taken by linking it to the lock's name. */
  readonly #key: string;
  #keyMade = false;

  constructor(readonly path: string) {
    this.#key = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.key`;
  }

  async acquire(): Promise<void> {
    if (!this.#keyMade) await this.#makeKey();
    for (let attempt = 0; ; attempt++) {
      try {
        await link(this.#key, this.path);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          this.#keyMade = false;
          await this.#makeKey();
          continue;
        }
        if (code !== 'EEXIST') throw error;
      }
      const owner = await this.#owner();
      if (owner === undefined) continue; // released meanwhile
      if (owner.stale) {
        await this.#breakStale(owner.text);
        continue;
      }
      // Contended: a live writer is committing; commits take milliseconds.
      await new Promise((r) => setTimeout(r, Math.min(1 + attempt, 10)));
    }
  }

  /** Removes this writer's key file; the lock itself is released after each commit. */
  async dispose(): Promise<void> {
    if (this.#keyMade) await unlink(this.#key).catch(() => undefined);
    this.#keyMade = false;
  }

  async #makeKey(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await writeFile(this.#key, this.#token, { flag: 'wx' });
    this.#keyMade = true;
    await sweepDeadLockFiles(this.path);
  }

  async release(): Promise<void> {
    try {
      await unlink(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async #owner(): Promise<{ text: string; stale: boolean } | undefined> {
    let text: string;
    let ctimeMs: number;
    try {
      [text, { ctimeMs }] = await Promise.all([readFile(this.path, 'utf8'), stat(this.path)]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const pid = Number.parseInt(text, 10);
    return { text, stale: Date.now() - ctimeMs > STALE_AFTER_MS || !Number.isSafeInteger(pid) || pid <= 0 || !pidAlive(pid) };
  }

  async #breakStale(seen: string): Promise<void> {
    await moveStaleLockAside(this.path, seen);
  }
}

/**
 * Moves a lock whose owner is dead aside (`seen` is what it held when judged stale); if a live
 * owner re-took it in between, puts that one back. Shared with the batch lock.
 */
export async function moveStaleLockAside(path: string, seen: string): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readFile(aside, 'utf8').catch(() => seen);
  if (moved !== seen) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/** Key and aside files (`<lock>.<pid>.….key|stale`) of processes killed before they could remove theirs. */
export async function sweepDeadLockFiles(lockPath: string): Promise<void> {
  const prefix = `${basename(lockPath)}.`;
  for (const name of await readdir(dirname(lockPath)).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !/\.(key|stale)$/.test(name)) continue;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && !pidAlive(pid)) await unlink(join(dirname(lockPath), name)).catch(() => undefined);
  }
}

/** True while a process with this pid exists on this host (EPERM: it exists, as another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
