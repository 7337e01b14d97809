import { type Observable, type SchedulerLike, asyncScheduler, catchError, defer, map, of } from 'rxjs';
import type { Chunk } from '../batch/chunker.js';
import type { SkipFile } from '../batch/skipFile.js';
import { pullMerge } from '../operators/pullMerge.js';
import type { ChunkReport, ConsensusDocument } from '../types.js';

/** What the batch reads from its inputs: a chunk to research, or a file that cannot be read. */
export type BatchItem = { chunk: Chunk } | { skip: SkipFile; source: string };

/** What one chunk's run gives back: the decided document and what its calls used. */
export interface ChunkRun {
  doc: Pick<ConsensusDocument, 'status' | 'claims' | 'failures'>;
  usage?: { calls: number; inputTokens: number; outputTokens: number; cost: number };
}

export interface BatchPipelineOptions {
  /** Chunks researched at once; the next chunk is pulled from the inputs only when one ends. */
  concurrency: number;
  /**
   * One chunk's `ask` (askPipeline with its recorder, sharing the batch's client, limiter and
   * sinks). Subscribed once per chunk; unsubscribing it cancels the chunk's calls.
   */
  ask: (chunk: Chunk) => Observable<ChunkRun>;
  /** True for a chunk the run log already decided (a resumed batch): reported, never asked again. Default: none. */
  isDone?: (chunkId: string) => boolean;
  /** Errors that end the whole batch rather than one chunk (a spent quota, a full disk). Default: none. */
  isFatal?: (error: unknown) => boolean;
  /** Clock for each chunk's `durationMs`; virtual in tests. */
  scheduler?: SchedulerLike;
}

/**
 * `quorum batch` as a stream: one report per item, in the order chunks end. Chunks are pulled
 * only as slots free up, so memory stays flat however many there are. A chunk that fails is a
 * `failed` report and the others go on; a fatal error ends the stream (the batch stops,
 * resumable). Unsubscribing stops pulling and cancels every chunk in flight.
 *
 * ```
 * items (pulled):  a b . . c            (c pulled when a's run ends; concurrency 2)
 * ask(x):          --X|
 * batchPipeline:   --A-B-C|
 * ```
 */
export function batchPipeline(items: AsyncIterable<BatchItem>, options: BatchPipelineOptions): Observable<ChunkReport> {
  const { concurrency, ask, isDone = () => false, isFatal = () => false, scheduler = asyncScheduler } = options;
  const research = (chunk: Chunk): Observable<ChunkReport> => {
    const base = { source: chunk.source, index: chunk.index, chunkId: chunk.id };
    if (isDone(chunk.id)) return of({ ...base, status: 'already-done' as const });
    return defer(() => {
      const t0 = scheduler.now();
      return ask(chunk).pipe(map((run) => chunkReport(base, run, scheduler.now() - t0)));
    }).pipe(
      catchError((error: unknown) => {
        if (isFatal(error)) throw error;
        return of({ ...base, status: 'failed' as const, message: (error as Error).message });
      }),
    );
  };
  return pullMerge(items, (item) => ('skip' in item ? of(skipReport(item)) : research(item.chunk)), { concurrency });
}

/** A decided chunk's report: counts only, so a 10,000-chunk batch keeps no documents. */
export function chunkReport(base: Pick<ChunkReport, 'source' | 'index' | 'chunkId'>, run: ChunkRun, durationMs: number): ChunkReport {
  return {
    ...base,
    status: run.doc.status,
    claims: run.doc.claims.length,
    calls: run.usage?.calls ?? 0,
    durationMs,
    failures: run.doc.failures.map((f) => ({ model: f.model, kind: f.kind })),
    ...(run.usage && { usage: run.usage }),
  };
}

/** A file that could not be read is reported, not counted as a chunk. */
export function skipReport(item: { skip: SkipFile; source: string }): ChunkReport {
  return { source: item.source, index: 0, chunkId: '', status: 'skipped', message: item.skip.message };
}
