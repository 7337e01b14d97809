import { realpathSync } from 'node:fs';
import { basename, extname, relative, sep } from 'node:path';
import { watch } from 'chokidar';
import { Observable } from 'rxjs';
import { DEFAULT_EXTENSIONS } from '../batch/inputs.js';

export interface FolderEvent {
  type: 'add' | 'change' | 'unlink';
  /** Absolute path. */
  path: string;
}

export interface FolderEventsOptions {
  /** File extensions researched; others are ignored. Default: the batch defaults (.md, .txt, …). */
  extensions?: readonly string[];
  /** How long a file must stay unchanged before it counts as written. Default 300 ms. */
  stableMs?: number;
  /** Poll instead of native events (network folders; also steadier in tests). */
  polling?: boolean;
}

/** Editors' temporary and backup files: `~` backups, vim swap files, emacs `#autosave#`, `.tmp`. */
const EDITOR_TEMP = /(~$|\.sw[a-p]$|\.swx$|^#.*#$|\.tmp$|\.part$|\.crdownload$|^4913$)/i;

/**
 * Files added, changed or removed under `dir`, once each has finished being written. Dotfiles
 * and dot-folders, editor temporary files, other extensions, and symlinks that lead out of the
 * folder are ignored. Files already there when watching starts arrive as `add`. Unsubscribing
 * closes the watcher.
 */
export function folderEvents(dir: string, options: FolderEventsOptions = {}): Observable<FolderEvent> {
  const extensions = new Set((options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase()));
  return new Observable<FolderEvent>((subscriber) => {
    const root = realpathSync(dir);
    const ignored = (path: string, stats?: { isFile(): boolean }) => {
      const rel = relative(dir, path);
      if (rel === '') return false;
      if (rel.split(sep).some((part) => part.startsWith('.') || part === 'node_modules')) return true;
      const name = basename(path);
      if (EDITOR_TEMP.test(name)) return true;
      return Boolean(stats?.isFile()) && !extensions.has(extname(name).toLowerCase());
    };
    const watcher = watch(dir, {
      ignored,
      ignoreInitial: false,
      followSymlinks: true,
      awaitWriteFinish: { stabilityThreshold: options.stableMs ?? 300, pollInterval: 50 },
      ...(options.polling && { usePolling: true, interval: 50 }),
    });
    const emit = (type: FolderEvent['type']) => (path: string) => {
      if (ignored(path)) return;
      if (type !== 'unlink' && !insideRoot(path, root)) return;
      if (type !== 'unlink' && !extensions.has(extname(path).toLowerCase())) return;
      subscriber.next({ type, path });
    };
    watcher.on('add', emit('add'));
    watcher.on('change', emit('change'));
    watcher.on('unlink', emit('unlink'));
    watcher.on('error', (error) => subscriber.error(error));
    return () => {
      void watcher.close();
    };
  });
}

/** A symlink may point anywhere; only what resolves inside the watched folder is researched. */
function insideRoot(path: string, root: string): boolean {
  try {
    const real = realpathSync(path);
    return real === root || real.startsWith(root + sep);
  } catch {
    // Gone already (deleted right after writing): nothing to research.
    return false;
  }
}
