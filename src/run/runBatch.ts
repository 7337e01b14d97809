import { hostname } from 'node:os';
import type { Span } from '@opentelemetry/api';
import { isAbsolute, resolve } from 'node:path';
import { type Observable, map, tap, throwError } from 'rxjs';
import { BatchLedger, batchKey, type BatchOutcome } from '../batch/ledger.js';
import type { BatchIdentity } from '../runlog/lines.js';
import { BatchLock, batchLockPath, type BatchLockOwner } from '../batch/batchLock.js';
import { QuotaExhaustedError } from '../ratelimit/rateLimiter.js';
import type { Limiter } from '../ratelimit/limiter.js';
import { type Chunk, chunkFile, SkipFile } from '../batch/chunker.js';
import { resolveInputs } from '../batch/inputs.js';
import { ArtifactsError, UsageError } from '../errors.js';
import { requireQuery, runQuorum } from './validateRun.js';
import { EVENT_TYPES, makeEvent, type QuorumEvent } from '../events.js';
import type { ModelCall } from '../models/call.js';
import { createOpenAICall } from '../models/openaiCall.js';
import { type BatchItem, type ChunkRun, batchPipeline } from '../pipelines/batch.js';
import type { Round } from '../pipelines/ask.js';
import type { RetryBackoffOptions } from '../operators/retryBackoff.js';
import { type BatchActivity, countingCall } from '../terminal/batchActivity.js';
import { markSpanFailed, startChild, traceparentOf } from '../tracing/tracing.js';
import { type BatchTotals, type ChunkReport, emptyTotals, type Panel } from '../types.js';
import type { BatchSummary } from '../report/batchLog.js';
import { writeBatchSummary } from '../report/batchSummaryMarkdown.js';
import { askRun } from './runAsk.js';
import { newRunId } from './runId.js';
import { prepareOutFolder } from './outFolder.js';
import { openRunSinks, type RunSinks } from './runSinks.js';
import { untilDone } from './untilDone.js';
import { QueuedBatch } from './queuedBatch.js';
import { type QueueAddress, connectQueue } from '../queue/connection.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { teeSink } from '../queue/eventBus.js';

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
  limiter?: Limiter;
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
  /**
   * `--queue`: publish the chunks as tasks on this NATS server and collect what workers decide,
   * instead of asking the models from this process.
   */
  queue?: QueueAddress;
  /** One line for the user about the queue (a result dropped, a task given up). */
  onQueueWarning?: (line: string) => void;
}

export interface RunBatchResult {
  batchId: string;
  totals: BatchTotals;
  wallMs: number;
  /** Queued batches: later decisions of an already decided chunk, dropped (each recorded as `quorum.run.superseded`). */
  superseded?: number;
  /** `completed`, `interrupted` (Ctrl-C), `stopped` (an error that must stop the batch, e.g. a spent quota), or `nothing-to-do`. */
  outcome: 'completed' | 'interrupted' | 'stopped' | 'nothing-to-do';
  message?: string;
  exitCode: 0 | 1 | 130;
  /** What the whole batch concluded, read back from the run log, and its summary.md (absent when that could not be written). */
  summary?: BatchSummary;
  summaryFile?: string;
}

/**
 * `quorum batch`: one consensus per chunk of every input file, chunks pulled only as slots free
 * up (memory stays flat), every decided run a line in the run log, so `--resume` finishes exactly
 * the chunks with no run line. Per-chunk results are counted, never kept.
 */
export async function runBatch(o: RunBatchOptions): Promise<RunBatchResult> {
  const held: { lock?: BatchLock; nc?: NatsConnection } = {};
  try {
    return await runBatchLocked(o, held);
  } finally {
    // Released on every way out: completed, interrupted, stopped, an error.
    await held.nc?.drain().catch(() => held.nc?.close());
    await held.lock?.release();
  }
}

async function runBatchLocked(o: RunBatchOptions, held: { lock?: BatchLock; nc?: NatsConnection }): Promise<RunBatchResult> {
  const started = Date.now();
  const cwd = o.cwd ?? process.cwd();
  const { files, chunkTokens, overlapTokens, concurrency, quorum, rounds } = await batchSettings(o, cwd);

  // Before any model is asked: a folder that cannot take the batch fails now, not after every call.
  prepareOutFolder(o.out);
  // And a queue that cannot be reached, before anything is written.
  if (o.queue) held.nc = await connectQueue(o.queue, 'quorum batch');
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

  const inputs = chunkInputs(files, { cwd, maxTokens: chunkTokens, overlapTokens });
  // A counting pass first, so progress can show done/total and an ETA; it holds no chunk.
  const total = await inputs.count();
  o.onStart?.({ batchId, chunks: total, resumed: Boolean(o.resume), alreadyDone: ledger.doneCount, ...(unfinished && { unfinished }) });
  ledger.start(total);
  const span = startChild(sinks.tracing.tracer, 'batch', undefined, { 'quorum.batch_id': batchId, 'quorum.batch.chunks': total, 'quorum.batch.resumed': Boolean(o.resume), ...(o.queue && { 'quorum.batch.queue': o.queue.shown }) });
  let queued: QueuedBatch | undefined;
  if (held.nc) {
    try {
      queued = await QueuedBatch.open({
        nc: held.nc,
        batchId,
        ledger,
        sinks,
        runFiles: Boolean(o.runFiles),
        task: { query: o.query, panel: o.panel, quorum, rounds, ...(o.graceMs !== undefined && { graceMs: o.graceMs }), ...(o.sandbox && { sandbox: true }), traceparent: traceparentOf(span) },
        ...(o.onQueueWarning && { onWarning: o.onQueueWarning }),
      });
    } catch (error) {
      span.end();
      ledger.end('stopped', total, (error as Error).message);
      await sinks.close().catch(() => undefined);
      throw error;
    }
  }
  // A queued batch's events also go on the bus, as its workers' do.
  const events = queued ? teeSink(sinks.events, queued.bus) : sinks.events;
  const emit = (type: typeof EVENT_TYPES.batchStarted | typeof EVENT_TYPES.batchCompleted, data: Record<string, unknown>) =>
    events.write(makeEvent(type, data, { runId: batchId, batchId, traceparent: traceparentOf(span) }) as QuorumEvent);
  emit(EVENT_TYPES.batchStarted, { query: o.query, files: files.length, chunks: total, resumed: Boolean(o.resume), alreadyDone: ledger.doneCount, concurrency, quorum, rounds, ...(o.queue && { queue: o.queue.shown }) });

  let ask: (chunk: Chunk) => Observable<ChunkRun>;
  let isDone = (id: string) => ledger.isDone(id);
  if (queued) {
    const q = queued;
    ask = (chunk) => q.ask(chunk);
    isDone = (id) => q.isDone(id);
  } else {
    // One client for every chunk: it holds the connection pool, and building one per chunk showed in the profile.
    const call = countingCall(o.call ?? createOpenAICall({ env: o.env }), o.activity);
    ask = chunkAsk(o, { call, quorum, rounds, sinks, span, batchId, ledger });
  }

  const reports = batchPipeline(inputs.items(), { concurrency, ask, isDone, isFatal }).pipe(
    tap((report) => {
      count(totals, report);
      o.onChunk?.(report);
    }),
  );
  const outcome: { outcome: BatchOutcome; message?: string } = await untilDone(reports, o.signal).then(
    (done) => ({ outcome: done.interrupted ? 'interrupted' : 'completed' }),
    (error: unknown) => ({ outcome: 'stopped', message: (error as Error).message }),
  );
  await queued?.stop(outcome.outcome === 'completed');

  const wallMs = Date.now() - started;
  ledger.end(outcome.outcome, total, outcome.message, totals.failed);
  if (outcome.outcome !== 'completed') markSpanFailed(span, outcome.outcome, outcome.message);
  emit(EVENT_TYPES.batchCompleted, { outcome: outcome.outcome, ...totals, wallMs, ...(outcome.message && { message: outcome.message }), ...(queued && { superseded: queued.superseded }) });
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
  const exitCode = exitCodeOf(outcome.outcome, totals);
  // Written on every way the batch ends (Ctrl-C too), from the log just committed; a folder that
  // cannot take it (a full disk) loses only the summary, never the batch's outcome.
  const written = await writeBatchSummary(o.out, batchId, { ...(o.resumeCommand && { resume: o.resumeCommand(batchId) }) }).catch(() => undefined);
  return { batchId, totals, wallMs, outcome: outcome.outcome, ...(outcome.message && { message: outcome.message }), exitCode, ...(queued && { superseded: queued.superseded }), ...(written && { summary: written.summary, summaryFile: written.file }) };
}

/** The batch's options with their defaults, checked before anything is written or asked. */
async function batchSettings(o: RunBatchOptions, cwd: string) {
  requireQuery(o.query);
  const chunkTokens = o.chunkTokens ?? 1500;
  const overlapTokens = o.overlapTokens ?? 0;
  const quorum = runQuorum(o.quorum, o.panel);
  const { files } = await resolveInputs(o.patterns, { cwd });
  try {
    // Validates the chunk options before anything is written.
    chunkFile(resolve(cwd, files[0]!), { source: files[0]!, maxTokens: chunkTokens, overlapTokens });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(`Bad --chunk-tokens / --overlap: ${error.message}`);
    throw error;
  }
  // Queued: how many of the batch's tasks may wait on the queue at once (workers set their own pace).
  return { files, chunkTokens, overlapTokens, concurrency: o.concurrency ?? (o.queue ? 1000 : 2), quorum, rounds: o.rounds ?? 2 };
}

/**
 * One chunk's ask: askPipeline with its recorder (askRun), sharing the batch's client, limiter,
 * sinks and span. A decided chunk is marked in the ledger the moment its run line is written.
 */
function chunkAsk(
  o: RunBatchOptions,
  b: { call: ModelCall; quorum: number; rounds: Round; sinks: RunSinks; span: Span; batchId: string; ledger: BatchLedger },
): (chunk: Chunk) => Observable<ChunkRun> {
  return (chunk) => {
    // A log that could not be written (a full disk) stops the batch: no model is asked for
    // answers that could not be kept; the chunks left are resumed once there is space.
    if (b.sinks.writer.failed) return throwError(() => new ArtifactsError(`Could not write the run log in ${o.out} (is the disk full?); stopped before asking for more answers`));
    return askRun(
      {
        request: { query: o.query, context: { source: chunk.heading ? `${chunk.source} (${chunk.heading})` : chunk.source, text: chunk.text } },
        panel: o.panel,
        out: o.out,
        env: o.env,
        quorum: b.quorum,
        rounds: b.rounds,
        runId: newRunId(),
        ...(o.graceMs !== undefined && { graceMs: o.graceMs }),
        ...(o.sandbox && { sandbox: true }),
        call: b.call,
        ...(o.retry && { retry: o.retry }),
        ...(o.limiter && { limiter: o.limiter }),
        ...(o.activity && { live: o.activity }),
      },
      { sinks: b.sinks, parentSpan: b.span, chunk: { source: chunk.source, id: chunk.id }, batchId: b.batchId },
    ).pipe(
      map((result) => {
        b.ledger.markDone(chunk.id, result.runId);
        return { doc: result.doc!, ...(result.usage && { usage: result.usage }) };
      }),
    );
  };
}

/** The files' chunks, read lazily: counted once for progress, then pulled by the pipeline as slots free up. */
function chunkInputs(files: string[], { cwd, maxTokens, overlapTokens }: { cwd: string; maxTokens: number; overlapTokens: number }) {
  const source = (file: string) => chunkFile(isAbsolute(file) ? file : resolve(cwd, file), { source: file, maxTokens, overlapTokens });
  return {
    async count(): Promise<number> {
      let total = 0;
      for (const file of files) {
        try {
          for await (const _ of source(file)) total++;
        } catch (error) {
          if (!(error instanceof SkipFile)) throw error;
        }
      }
      return total;
    },
    async *items(): AsyncGenerator<BatchItem> {
      for (const file of files) {
        try {
          for await (const chunk of source(file)) yield { chunk };
        } catch (error) {
          // An unusable file is an item too: reported as skipped while the batch goes on.
          if (!(error instanceof SkipFile)) throw error;
          yield { skip: error, source: file };
        }
      }
    },
  };
}

/** 130 for Ctrl-C; 1 when the batch stopped or any chunk lost quorum or failed; else 0. */
function exitCodeOf(outcome: BatchOutcome, totals: BatchTotals): 0 | 1 | 130 {
  if (outcome === 'interrupted') return 130;
  return outcome === 'stopped' || totals.quorumLost + totals.failed > 0 ? 1 : 0;
}

/** One line: which batch of this command is running, in which process, and what to do. */
function runningMessage(out: string, h: BatchLockOwner, resuming: string | undefined): string {
  const who = `pid ${h.pid}${h.host === hostname() ? '' : ` on ${h.host}`}, since ${h.since}`;
  const then = `wait for it to end, or stop it (kill -INT ${h.pid})`;
  if (resuming === h.batchId) return `Batch ${h.batchId} is running (${who}); --resume never attaches to a running batch: ${then} and resume it after`;
  if (resuming) return `Batch ${h.batchId} of this same command is running into ${out} (${who}); one batch of a command runs at a time: ${then} before resuming batch ${resuming}`;
  return `Batch ${h.batchId} of this same command is already running into ${out} (${who}); ${then} and finish it with --resume ${h.batchId}`;
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

