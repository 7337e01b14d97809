import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomicSync } from '../sinks/writeJsonAtomic.js';

export interface FileRecord {
  /** sha256 of the file's bytes when it was last researched. */
  hash: string;
  /** The runs that researched that content (one per chunk). */
  runIds: string[];
  at: string;
}

/**
 * What the watcher has researched, by file and content hash, kept in
 * `<out>/watch/<folder key>.json` so a file touched or re-saved with the same content is not
 * researched again, also after the watcher restarts.
 */
export class WatchState {
  private readonly files: Record<string, FileRecord>;

  constructor(private readonly path: string) {
    this.files = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { files: Record<string, FileRecord> }).files : {};
  }

  static for(out: string, folder: string): WatchState {
    const key = createHash('sha256').update(folder).digest('hex').slice(0, 12);
    return new WatchState(join(out, 'watch', `${key}.json`));
  }

  get(file: string): FileRecord | undefined {
    return this.files[file];
  }

  set(file: string, record: FileRecord): void {
    this.files[file] = record;
    writeJsonAtomicSync(this.path, { files: this.files });
  }
}

/** Hashes a file as a stream: a large spec is never held whole. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
