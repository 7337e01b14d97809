import { existsSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { map, tap } from 'rxjs';
import { chunkFile } from '../batch/chunker.js';
import type { Limiter } from '../ratelimit/limiter.js';
import { UsageError } from '../errors.js';
import { requireQuery, runQuorum } from './validateRun.js';
import type { ModelCall } from '../models/call.js';
import { createOpenAICall } from '../models/openaiCall.js';
import type { Round } from '../pipelines/ask.js';
import { watchPipeline, type FileReport } from '../pipelines/watch.js';
import type { Panel } from '../types.js';
import { folderEvents } from '../watch/folderEvents.js';
import { hashFile, WatchState } from '../watch/watchState.js';
import { askRun } from './runAsk.js';
import { newRunId } from './runId.js';
import { prepareOutFolder } from './outFolder.js';
import { openRunSinks } from './runSinks.js';
import { untilDone } from './untilDone.js';

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
  limiter?: Limiter;
  /** Render each run's view files (runs/<id>/consensus.md, …) too; off by default, the run log is the record. */
  runFiles?: boolean;
  /** One line per file researched, skipped or unchanged. */
  onFile?: (report: FileReport) => void;
}

export type { FileReport } from '../pipelines/watch.js';

/**
 * `quorum watch`: researches every file of a folder once it has been written, again when its
 * content changes (a new run linked to the earlier ones), never for a mere touch or a re-save of
 * the same content (content hash, kept across restarts). A change while the file is still being
 * researched cancels that research and starts over. Resolves when `signal` aborts.
 */
export async function runWatch(o: RunWatchOptions): Promise<{ exitCode: 130 }> {
  requireQuery(o.query);
  if (!existsSync(o.dir) || !statSync(o.dir).isDirectory()) throw new UsageError(`Folder ${o.dir} does not exist or is not a folder; give the folder to watch`);
  const quorum = runQuorum(o.quorum, o.panel);
  const dir = resolve(o.dir);
  // Before any model is asked: a folder that cannot take the runs fails now, not after the first file.
  prepareOutFolder(o.out);
  const state = WatchState.for(o.out, dir);
  const sinks = openRunSinks(o.out, o.env, { runFiles: Boolean(o.runFiles) });

  // One client for every chunk: it holds the connection pool, and building one per chunk showed in the profile.
  const call = o.call ?? createOpenAICall({ env: o.env });
  const files = watchPipeline(folderEvents(dir, { ...(o.stableMs !== undefined && { stableMs: o.stableMs }), ...(o.polling && { polling: true }) }), {
    name: (path) => relative(dir, path).split('\\').join('/'),
    hash: (path) => hashFile(path),
    earlier: (file) => state.get(file),
    remember: (file, researched) => state.set(file, { ...researched, at: new Date().toISOString() }),
    chunks: (path, file) => chunkFile(path, { source: file, ...(o.chunkTokens && { maxTokens: o.chunkTokens }) }),
    ask: (chunk, supersedes) =>
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
      ).pipe(map((result) => ({ runId: result.runId, status: result.doc!.status }))),
  });

  try {
    // Runs until Ctrl-C; a watcher that fails (the folder vanished) rejects.
    await untilDone(files.pipe(tap((report) => o.onFile?.(report))), o.signal);
  } finally {
    await sinks.close();
  }
  return { exitCode: 130 };
}
