import { existsSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { type Observable, catchError, defer, filter, from, groupBy, map, mergeMap, of, switchMap, toArray } from 'rxjs';
import { chunkFile, SkipFile } from '../batch/chunker.js';
import type { RateLimiter } from '../batch/rateLimiter.js';
import { defaultQuorum, validateQuorum } from '../claims/quorumRules.js';
import { UsageError } from '../errors.js';
import type { ModelCall } from '../models/call.js';
import { createOpenAICall } from '../models/openaiCall.js';
import { pullMerge } from '../operators/pullMerge.js';
import type { Round } from '../pipelines/ask.js';
import type { RunStatus, Panel } from '../types.js';
import { folderEvents } from '../watch/folderEvents.js';
import { hashFile, WatchState } from '../watch/watchState.js';
import { askRun } from './runAsk.js';
import { newRunId } from './runId.js';
import { prepareOutFolder } from './outFolder.js';
import { openRunSinks } from './runSinks.js';

export interface RunWatchOptions {
  dir: string;
  query: string;
  panel: Panel;
  out: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  chunkTokens?: number;
  quorum?: number;
  rounds?: Round;
  graceMs?: number;
  sandbox?: boolean;
  call?: ModelCall;
  /** How long a file must stay unchanged before it counts as written. */
  stableMs?: number;
  polling?: boolean;
  limiter?: RateLimiter;
  /** Render each run's view files (runs/<id>/consensus.md, …) too; off by default, the run log is the record. */
  runFiles?: boolean;
  /** One line per file researched, skipped or unchanged. */
  onFile?: (report: FileReport) => void;
}

export interface FileReport {
  /** Relative to the watched folder. */
  file: string;
  status: 'researched' | 'unchanged' | 'skipped' | 'failed';
  runIds?: string[];
  statuses?: RunStatus[];
  supersedes?: string[];
  message?: string;
}

/**
 * `quorum watch`: researches every file of a folder once it has been written, again when its
 * content changes (a new run linked to the earlier ones), never for a mere touch or a re-save of
 * the same content (content hash, kept across restarts). A change while the file is still being
 * researched cancels that research and starts over. Resolves when `signal` aborts.
 */
export async function runWatch(o: RunWatchOptions): Promise<{ exitCode: 130 }> {
  if (o.query.trim() === '') throw new UsageError('Give the question with --query "…" (it is asked of every new or changed file)');
  if (!existsSync(o.dir) || !statSync(o.dir).isDirectory()) throw new UsageError(`Folder ${o.dir} does not exist or is not a folder; give the folder to watch`);
  const n = o.panel.members.length;
  const quorum = validateQuorum(o.quorum ?? o.panel.quorum ?? defaultQuorum(n), n);
  const dir = resolve(o.dir);
  // Before any model is asked: a folder that cannot take the runs fails now, not after the first file.
  prepareOutFolder(o.out);
  const state = WatchState.for(o.out, dir);
  const sinks = openRunSinks(o.out, o.env, { runFiles: Boolean(o.runFiles) });

  // One client for every chunk: it holds the connection pool, and building one per chunk showed in the profile.
  const call = o.call ?? createOpenAICall({ env: o.env });
  const research = (path: string): Observable<FileReport> => {
    const file = relative(dir, path).split('\\').join('/');
    return defer(() => from(hashFile(path))).pipe(
      switchMap((hash) => {
        const earlier = state.get(file);
        if (earlier?.hash === hash) return of<FileReport>({ file, status: 'unchanged' });
        const supersedes = earlier?.runIds ?? [];
        return pullMerge(
          chunkFile(path, { source: file, ...(o.chunkTokens && { maxTokens: o.chunkTokens }) }),
          (chunk) =>
            askRun(
              {
                request: { query: o.query, context: { source: chunk.source, text: chunk.text } },
                panel: o.panel,
                out: o.out,
                env: o.env,
                quorum,
                runId: newRunId(),
                ...(o.rounds && { rounds: o.rounds }),
                ...(o.graceMs !== undefined && { graceMs: o.graceMs }),
                ...(o.sandbox && { sandbox: true }),
                call,
                ...(o.limiter && { limiter: o.limiter }),
              },
              { sinks, chunk: { source: chunk.source, id: chunk.id }, supersedes },
            ),
          { concurrency: 1 },
        ).pipe(
          toArray(),
          map((results): FileReport => {
            const runIds = results.map((r) => r.runId);
            state.set(file, { hash, runIds, at: new Date().toISOString() });
            return { file, status: 'researched', runIds, statuses: results.map((r) => r.doc!.status), ...(supersedes.length && { supersedes }) };
          }),
        );
      }),
      // A file deleted or made unreadable mid-run is reported; the watcher goes on.
      catchError((error: unknown) =>
        of<FileReport>(error instanceof SkipFile ? { file, status: 'skipped', message: error.message } : { file, status: 'failed', message: (error as Error).message }),
      ),
    );
  };

  try {
    await new Promise<void>((resolvePromise, reject) => {
      if (o.signal.aborted) return resolvePromise();
      const subscription = folderEvents(dir, { ...(o.stableMs !== undefined && { stableMs: o.stableMs }), ...(o.polling && { polling: true }) })
        .pipe(
          filter((e) => e.type !== 'unlink'),
          groupBy((e) => e.path),
          mergeMap((events) => events.pipe(switchMap((e) => research(e.path)))),
        )
        .subscribe({ next: (report) => o.onFile?.(report), error: reject });
      o.signal.addEventListener(
        'abort',
        () => {
          subscription.unsubscribe();
          resolvePromise();
        },
        { once: true },
      );
    });
  } finally {
    await sinks.close();
  }
  return { exitCode: 130 };
}
