import { type Observable, type ObservableInput, catchError, defer, filter, from, groupBy, map, mergeMap, of, switchMap, toArray } from 'rxjs';
import type { Chunk } from '../batch/chunker.js';
import { SkipFile } from '../batch/skipFile.js';
import { pullMerge } from '../operators/pullMerge.js';
import type { RunStatus } from '../types.js';
import type { FolderEvent } from '../watch/folderEvents.js';

export interface FileReport {
  /** Relative to the watched folder. */
  file: string;
  status: 'researched' | 'unchanged' | 'skipped' | 'failed';
  runIds?: string[];
  statuses?: RunStatus[];
  supersedes?: string[];
  message?: string;
}

/** What the watcher keeps of a file's last research, across restarts. */
export interface WatchedFile {
  hash: string;
  runIds: string[];
}

export interface WatchPipelineOptions {
  /** The name a file is reported and remembered under (relative to the watched folder). */
  name: (path: string) => string;
  /** The file's content hash: a touch or a re-save of the same content is no new research. */
  hash: (path: string) => ObservableInput<string>;
  /** The file's last research, if any. */
  earlier: (file: string) => WatchedFile | undefined;
  /** Called once every chunk of the file is decided, before the file is reported. */
  remember: (file: string, researched: WatchedFile) => void;
  /** The file's chunks; a file that cannot be used throws `SkipFile`. */
  chunks: (path: string, file: string) => AsyncIterable<Chunk>;
  /** One chunk's `ask` (askPipeline with its recorder), linked to the runs it replaces. Unsubscribing cancels it. */
  ask: (chunk: Chunk, supersedes: string[]) => Observable<{ runId: string; status: RunStatus }>;
}

/**
 * `quorum watch` as a stream: one report per file event worth one. Every file is researched once
 * written and again when its content changes; files are researched at once, each file's chunks
 * one after another. A change while the file is still being researched cancels that research
 * (its runs are recorded as interrupted) and starts over; a file that fails is reported and the
 * watcher goes on. Removals are ignored: a removed file's runs stay in the log.
 *
 * ```
 * events:         a---a'--b----      (a' changes a while a is researched)
 * research(x):    ------X|
 * watchPipeline:  -------A'-B--      (a cancelled at a')
 * ```
 */
export function watchPipeline(events: Observable<FolderEvent>, options: WatchPipelineOptions): Observable<FileReport> {
  const research = (path: string): Observable<FileReport> => {
    const file = options.name(path);
    return defer(() => from(options.hash(path))).pipe(
      switchMap((hash) => {
        const earlier = options.earlier(file);
        if (earlier?.hash === hash) return of<FileReport>({ file, status: 'unchanged' });
        const supersedes = earlier?.runIds ?? [];
        // One chunk at a time: a file's runs are decided in order and a change cancels at most one.
        return pullMerge(options.chunks(path, file), (chunk) => options.ask(chunk, supersedes), { concurrency: 1 }).pipe(
          toArray(),
          map((runs): FileReport => {
            const runIds = runs.map((r) => r.runId);
            options.remember(file, { hash, runIds });
            return { file, status: 'researched', runIds, statuses: runs.map((r) => r.status), ...(supersedes.length && { supersedes }) };
          }),
        );
      }),
      // A file deleted or made unreadable mid-run is reported; the watcher goes on.
      catchError((error: unknown) =>
        of<FileReport>(error instanceof SkipFile ? { file, status: 'skipped', message: error.message } : { file, status: 'failed', message: (error as Error).message }),
      ),
    );
  };
  return events.pipe(
    filter((e) => e.type !== 'unlink'),
    // Per file, the latest event wins (switchMap); across files, research runs side by side.
    groupBy((e) => e.path),
    mergeMap((perFile) => perFile.pipe(switchMap((e) => research(e.path)))),
  );
}
