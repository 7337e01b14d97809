import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { type Observable, catchError, map, of, throwError } from 'rxjs';
import { BatchLedger, batchKey, type BatchIdentity, type BatchOutcome } from '../batch/ledger.js';
import { BatchLock, batchLockPath, type BatchLockOwner } from '../batch/batchLock.js';
import { QuotaExhaustedError, type RateLimiter } from '../batch/rateLimiter.js';
import { type Chunk, chunkFile, SkipFile } from '../batch/chunker.js';
import { resolveInputs } from '../batch/inputs.js';
import { defaultQuorum, validateQuorum } from '../claims/quorumRules.js';
import { ArtifactsError, UsageError } from '../errors.js';
import { EVENT_TYPES, makeEvent, type QuorumEvent } from '../events.js';
import type { ModelCall } from '../models/call.js';
import { createOpenAICall } from '../models/openaiCall.js';
import { pullMerge } from '../operators/pullMerge.js';
import type { Round } from '../pipelines/ask.js';
import type { RetryBackoffOptions } from '../operators/retryBackoff.js';
import { type BatchTotals, type ChunkReport, emptyTotals } from '../terminal/batchProgress.js';
import { type BatchActivity, countingCall } from '../terminal/batchActivity.js';
import { markSpanFailed, startChild, traceparentOf } from '../tracing/tracing.js';
import type { Panel } from '../types.js';
import type { BatchSummary } from '../report/batchLog.js';
import { writeBatchSummary } from '../render/batchSummaryMarkdown.js';
import { askRun } from './runAsk.js';
import { newRunId } from './runId.js';
import { prepareOutFolder } from './outFolder.js';
import { openRunSinks } from './runSinks.js';

export interface RunBatchOptions {
  /** Files, folders and globs, as given on the command line. */
  patterns: string[];
  query: string;
  panel: Panel;
  out: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  chunkTokens?: number;
  overlapTokens?: number;
  /** Chunks researched at once. Default 2. */
  concurrency?: number;
  /** Finish the latest batch of this same command (true) or the batch with this id. */
  resume?: boolean | string;
  quorum?: number;
  rounds?: Round;
  graceMs?: number;
  sandbox?: boolean;
  signal?: AbortSignal;
  call?: ModelCall;
  retry?: RetryBackoffOptions;
  /** Paces every call of every chunk; a spent quota stops the batch (resumable). */
  limiter?: RateLimiter;
  /** Render each run's view files (runs/<id>/consensus.md, …) too; off by default, the run log is the record. */
  runFiles?: boolean;
  /** Called once the number of chunks is known (before the first model call). */
  onStart?: (info: { batchId: string; chunks: number; resumed: boolean; alreadyDone: number; unfinished?: string }) => void;
  /** Called for every chunk as it ends (or is skipped). */
  onChunk?: (report: ChunkReport) => void;
  /** Told of every model call and outcome while chunks are in flight (the progress line). */
  activity?: BatchActivity;
  /** The command that resumes batch `batchId`, for summary.md's next steps. */
  resumeCommand?: (batchId: string) => string;
}

export interface RunBatchResult {
  batchId: string;
  totals: BatchTotals;
  wallMs: number;
  /** `completed`, `interrupted` (Ctrl-C), `stopped` (an error that must stop the batch, e.g. a spent quota), or `nothing-to-do`. */
  outcome: 'completed' | 'interrupted' | 'stopped' | 'nothing-to-do';
  message?: string;
  exitCode: 0 | 1 | 130;
  /** What the whole batch concluded, read back from the run log, and its summary.md (absent when that could not be written). */
  summary?: BatchSummary;
  summaryFile?: string;
}

type Item = { chunk: Chunk } | { skip: SkipFile; source: string };

/**
 * `quorum batch`: one consensus per chunk of every input file, chunks pulled only as slots free
 * up (memory stays flat), every decided run a line in the run log, so `--resume` finishes exactly
 * the chunks with no run line. Per-chunk results are counted, never kept.
 */
export async function runBatch(o: RunBatchOptions): Promise<RunBatchResult> {
  const held: { lock?: BatchLock } = {};
  try {
    return await runBatchLocked(o, held);
  } finally {
    // Released on every way out: completed, interrupted, stopped, an error.
    await held.lock?.release();
  }
}

async function runBatchLocked(o: RunBatchOptions, held: { lock?: BatchLock }): Promise<RunBatchResult> {
  const started = Date.now();
  const cwd = o.cwd ?? process.cwd();
  if (o.query.trim() === '') throw new UsageError('The query is empty; give one with --query "…"');
  const chunkTokens = o.chunkTokens ?? 1500;
  const overlapTokens = o.overlapTokens ?? 0;
  const concurrency = o.concurrency ?? 2;
  const n = o.panel.members.length;
  const quorum = validateQuorum(o.quorum ?? o.panel.quorum ?? defaultQuorum(n), n);
  const rounds = o.rounds ?? 2;
  const { files } = await resolveInputs(o.patterns, { cwd });
  try {
    // Validates the chunk options before anything is written.
    chunkFile(resolve(cwd, files[0]!), { source: files[0]!, maxTokens: chunkTokens, overlapTokens });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(`Bad --chunk-tokens / --overlap: ${error.message}`);
    throw error;
  }

  // Before any model is asked: a folder that cannot take the batch fails now, not after every call.
  prepareOutFolder(o.out);
  const identity: BatchIdentity = { query: o.query, files, chunkTokens, overlapTokens, panel: o.panel.members.map(({ port, model }) => ({ port, model })), quorum, rounds };
  // One batch of a command runs at a time in a folder: the lock is taken before anything is
  // written or asked, and held until the batch has ended, whatever way it ends.
  const batchId = o.resume ? (await BatchLedger.find(o.out, identity, typeof o.resume === 'string' ? o.resume : undefined)).manifest.batchId : newRunId();
  const lock = new BatchLock(batchLockPath(o.out, batchKey(identity)));
  const holder = await lock.acquire(batchId);
  if (holder) throw new UsageError(runningMessage(o.out, holder, o.resume ? batchId : undefined));
  held.lock = lock;
  const sinks = openRunSinks(o.out, o.env, { runFiles: Boolean(o.runFiles) });
  let ledger: BatchLedger;
  let unfinished: string | undefined;
  try {
    // Starting over is allowed, but the user should know that --resume would not redo decided chunks.
    if (!o.resume) unfinished = (await BatchLedger.unfinished(o.out, identity))?.batchId;
    ledger = o.resume ? await BatchLedger.resume(o.out, sinks.batches, identity, batchId) : BatchLedger.create(sinks.batches, batchId, identity);
  } catch (error) {
    await sinks.close();
    throw error;
  }
  const totals = emptyTotals();
  if (ledger.finished) {
    await sinks.close();
    const written = await writeBatchSummary(o.out, batchId).catch(() => undefined);
    return { batchId, totals, wallMs: Date.now() - started, outcome: 'nothing-to-do', message: `Batch ${batchId} already decided every chunk; nothing to resume`, exitCode: 0, ...(written && { summary: written.summary, summaryFile: written.file }) };
  }

  const source = (file: string) => chunkFile(isAbsolute(file) ? file : resolve(cwd, file), { source: file, maxTokens: chunkTokens, overlapTokens });
  // A counting pass first, so progress can show done/total and an ETA; it holds no chunk.
  let total = 0;
  for (const file of files) {
    try {
      for await (const _ of source(file)) total++;
    } catch (error) {
      if (!(error instanceof SkipFile)) throw error;
    }
  }
  o.onStart?.({ batchId, chunks: total, resumed: Boolean(o.resume), alreadyDone: ledger.doneCount, ...(unfinished && { unfinished }) });
  ledger.start(total);
  const span = startChild(sinks.tracing.tracer, 'batch', undefined, { 'quorum.batch_id': batchId, 'quorum.batch.chunks': total, 'quorum.batch.resumed': Boolean(o.resume) });
  const emit = (type: typeof EVENT_TYPES.batchStarted | typeof EVENT_TYPES.batchCompleted, data: Record<string, unknown>) =>
    sinks.events.write(makeEvent(type, data, { runId: batchId, batchId, traceparent: traceparentOf(span) }) as QuorumEvent);
  emit(EVENT_TYPES.batchStarted, { query: o.query, files: files.length, chunks: total, resumed: Boolean(o.resume), alreadyDone: ledger.doneCount, concurrency, quorum, rounds });

  async function* items(): AsyncGenerator<Item> {
    for (const file of files) {
      try {
        for await (const chunk of source(file)) yield { chunk };
      } catch (error) {
        if (!(error instanceof SkipFile)) throw error;
        yield { skip: error, source: file };
      }
    }
  }

  // One client for every chunk: it holds the connection pool, and building one per chunk showed in the profile.
  const call = countingCall(o.call ?? createOpenAICall({ env: o.env }), o.activity);
  const runChunk = (chunk: Chunk): Observable<ChunkReport> => {
    const base = { source: chunk.source, index: chunk.index, chunkId: chunk.id };
    if (ledger.isDone(chunk.id)) return of({ ...base, status: 'already-done' as const });
    // A log that could not be written (a full disk) stops the batch: no model is asked for
    // answers that could not be kept; the chunks left are resumed once there is space.
    if (sinks.writer.failed) return throwError(() => new ArtifactsError(`Could not write the run log in ${o.out} (is the disk full?); stopped before asking for more answers`));
    const runId = newRunId();
    const t0 = Date.now();
    return askRun(
      {
        request: { query: o.query, context: { source: chunk.heading ? `${chunk.source} (${chunk.heading})` : chunk.source, text: chunk.text } },
        panel: o.panel,
        out: o.out,
        env: o.env,
        quorum,
        rounds,
        runId,
        ...(o.graceMs !== undefined && { graceMs: o.graceMs }),
        ...(o.sandbox && { sandbox: true }),
        call,
        ...(o.retry && { retry: o.retry }),
        ...(o.limiter && { limiter: o.limiter }),
        ...(o.activity && { live: o.activity }),
      },
      { sinks, parentSpan: span, chunk: { source: chunk.source, id: chunk.id }, batchId },
    ).pipe(
      map((result): ChunkReport => {
        const doc = result.doc!;
        ledger.markDone(chunk.id);
        return {
          ...base,
          status: doc.status,
          claims: doc.claims.length,
          calls: result.usage?.calls ?? 0,
          durationMs: Date.now() - t0,
          failures: doc.failures.map((f) => ({ model: f.model, kind: f.kind })),
          ...(result.usage && { usage: result.usage }),
        };
      }),
      catchError((error: unknown) => {
        if (isFatal(error)) throw error;
        return of({ ...base, status: 'failed' as const, message: (error as Error).message });
      }),
    );
  };

  const outcome = await new Promise<{ outcome: BatchOutcome; message?: string }>((resolvePromise) => {
    if (o.signal?.aborted) return resolvePromise({ outcome: 'interrupted' });
    const subscription = pullMerge(items(), (item) => ('skip' in item ? of(skipReport(item)) : runChunk(item.chunk)), { concurrency }).subscribe({
      next: (report) => {
        count(totals, report);
        o.onChunk?.(report);
      },
      error: (error: unknown) => {
        o.signal?.removeEventListener('abort', onAbort);
        resolvePromise({ outcome: 'stopped', message: (error as Error).message });
      },
      complete: () => {
        o.signal?.removeEventListener('abort', onAbort);
        resolvePromise({ outcome: 'completed' });
      },
    });
    function onAbort() {
      subscription.unsubscribe();
      resolvePromise({ outcome: 'interrupted' });
    }
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });

  const wallMs = Date.now() - started;
  ledger.end(outcome.outcome, total, outcome.message);
  if (outcome.outcome !== 'completed') markSpanFailed(span, outcome.outcome, outcome.message);
  emit(EVENT_TYPES.batchCompleted, { outcome: outcome.outcome, ...totals, wallMs, ...(outcome.message && { message: outcome.message }) });
  span.setAttributes({ 'quorum.batch.outcome': outcome.outcome, 'quorum.batch.consensus': totals.consensus });
  span.end();
  try {
    await sinks.close();
  } catch (error) {
    // What was decided before the disk filled is in the log; the rest is resumable.
    if (!(error instanceof ArtifactsError)) throw error;
    if (outcome.outcome === 'completed') outcome.outcome = 'stopped';
    outcome.message = outcome.message ?? error.message;
  }
  const exitCode = outcome.outcome === 'interrupted' ? 130 : outcome.outcome === 'stopped' || totals.quorumLost + totals.failed > 0 ? 1 : 0;
  // Written on every way the batch ends (Ctrl-C too), from the log just committed; a folder that
  // cannot take it (a full disk) loses only the summary, never the batch's outcome.
  const written = await writeBatchSummary(o.out, batchId, { ...(o.resumeCommand && { resume: o.resumeCommand(batchId) }) }).catch(() => undefined);
  return { batchId, totals, wallMs, outcome: outcome.outcome, ...(outcome.message && { message: outcome.message }), exitCode, ...(written && { summary: written.summary, summaryFile: written.file }) };
}

/** One line: which batch of this command is running, in which process, and what to do. */
function runningMessage(out: string, h: BatchLockOwner, resuming: string | undefined): string {
  const who = `pid ${h.pid}${h.host === hostname() ? '' : ` on ${h.host}`}, since ${h.since}`;
  const then = `wait for it to end, or stop it (kill -INT ${h.pid})`;
  if (resuming === h.batchId) return `Batch ${h.batchId} is running (${who}); --resume never attaches to a running batch: ${then} and resume it after`;
  if (resuming) return `Batch ${h.batchId} of this same command is running into ${out} (${who}); one batch of a command runs at a time: ${then} before resuming batch ${resuming}`;
  return `Batch ${h.batchId} of this same command is already running into ${out} (${who}); ${then} and finish it with --resume ${h.batchId}`;
}

function skipReport(item: { skip: SkipFile; source: string }): ChunkReport {
  return { source: item.source, index: 0, chunkId: '', status: 'skipped', message: item.skip.message };
}

function count(t: BatchTotals, r: ChunkReport): void {
  if (r.status === 'skipped') {
    t.skippedFiles++;
    return;
  }
  t.chunks++;
  if (r.status === 'consensus') t.consensus++;
  else if (r.status === 'degraded') t.degraded++;
  else if (r.status === 'quorum_lost') t.quorumLost++;
  else if (r.status === 'failed') t.failed++;
  else if (r.status === 'already-done') t.alreadyDone++;
  if (r.usage) {
    t.calls += r.usage.calls;
    t.inputTokens += r.usage.inputTokens;
    t.outputTokens += r.usage.outputTokens;
    t.cost += r.usage.cost;
  }
}

/** Errors that end the whole batch rather than one chunk: a spent quota must not become a storm of failures. */
function isFatal(error: unknown): boolean {
  return error instanceof QuotaExhaustedError || error instanceof ArtifactsError;
}

