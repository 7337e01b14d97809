import type { Span } from '@opentelemetry/api';
import { type Observable, catchError, defer, finalize, map, take } from 'rxjs';
import { defaultMinResponders } from '../claims/quorumRules.js';
import { ArtifactsError } from '../errors.js';
import { requireQuery, runQuorum } from './validateRun.js';
import type { Limiter } from '../ratelimit/limiter.js';
import type { ModelCall } from '../models/call.js';
import { createOpenAICall } from '../models/openaiCall.js';
import { askPipeline, type Round } from '../pipelines/ask.js';
import type { RetryBackoffOptions } from '../operators/retryBackoff.js';
import type { ConsensusDocument, ModelRequest, Panel } from '../types.js';
import type { LiveHooks } from '../terminal/liveView.js';
import { RunRecorder } from './recorder.js';
import { newRunId } from './runId.js';
import { prepareOutFolder } from './outFolder.js';
import { openRunSinks, type RecordSinks } from './runSinks.js';
import { untilDone } from './untilDone.js';

export interface RunAskOptions {
  request: ModelRequest;
  panel: Panel;
  /** Artifacts folder. */
  out: string;
  quorum?: number;
  graceMs?: number;
  /** Where API keys are read from. */
  env: NodeJS.ProcessEnv;
  /** True when the panel is the offline simulator: recorded in every artifact. */
  sandbox?: boolean;
  /** Aborting it interrupts the run (Ctrl-C): calls are cancelled and nothing half-written is left. */
  signal?: AbortSignal;
  /** 1: claims from the answers; 2 (default): propose, then vote. */
  rounds?: Round;
  /** Most candidates put to the vote. */
  maxCandidates?: number;
  /** After the vote, a chair writes a prose answer from the consensus claims (see `AskOptions.synthesize`). */
  synthesize?: { model?: string };
  /** Live view hooks (the terminal's per-port lines). */
  live?: LiveHooks;
  /** The model call; defaults to the OpenAI SDK against each member's endpoint. */
  call?: ModelCall;
  retry?: RetryBackoffOptions;
  /** Paces every call; a batch shares one across its chunks. */
  limiter?: Limiter;
  runId?: string;
}

export interface RunAskResult {
  runId: string;
  runDir: string;
  /** Absent when the run was interrupted. */
  doc?: ConsensusDocument;
  exitCode: 0 | 1 | 130;
  /** Calls made (attempts), tokens and provider cost. */
  usage?: RunRecorder['usage'];
  /** Set when the run was decided but could not be recorded (a full disk): `doc` is all that is left of it. */
  artifactsError?: ArtifactsError;
}

/** One run inside a larger job (a batch): shared sinks, a parent span, the chunk it works on. */
export interface AskRunContext {
  sinks: RecordSinks;
  parentSpan?: Span;
  chunk?: { source: string; id: string };
  batchId?: string;
  /** Earlier runs this one replaces (a changed file under `quorum watch`). */
  supersedes?: string[];
}

/**
 * One `ask` as a cold Observable: subscribing starts the run, unsubscribing cancels it (the run
 * is recorded as interrupted, with no consensus written). Emits the result once. Sinks are the
 * caller's: a batch shares one set across its runs.
 */
export function askRun(o: RunAskOptions, ctx: AskRunContext): Observable<RunAskResult> {
  return defer(() => {
    const n = o.panel.members.length;
    const configured = runQuorum(o.quorum, o.panel);
    requireQuery(o.request.query);
    const runId = o.runId ?? newRunId();
    const rounds = o.rounds ?? 2;
    const recorder = new RunRecorder({
      runId,
      out: o.out,
      request: o.request,
      panel: o.panel,
      quorum: { configured, minResponders: defaultMinResponders(n) },
      sinks: ctx.sinks,
      sandbox: Boolean(o.sandbox),
      rounds,
      ...(ctx.chunk && { chunk: ctx.chunk }),
      ...(ctx.parentSpan && { parentSpan: ctx.parentSpan }),
      ...(ctx.batchId && { batchId: ctx.batchId }),
      ...(ctx.supersedes && { supersedes: ctx.supersedes }),
    });
    // Set once the run ended either way, so unsubscription after that is not an interruption.
    let ended = false;
    return askPipeline(o.request, {
      panel: o.panel,
      call: o.call ?? createOpenAICall({ env: o.env }),
      quorum: configured,
      graceMs: o.graceMs,
      rounds,
      maxCandidates: o.maxCandidates,
      ...(o.retry && { retry: o.retry }),
      ...(o.limiter && { limiter: o.limiter }),
      ...(o.synthesize && { synthesize: o.synthesize }),
      observer: recorder.observer(o.live),
    }).pipe(
      map((gathered): RunAskResult => {
        const doc = recorder.complete(gathered);
        ended = true;
        return { runId, runDir: recorder.runDir, doc, exitCode: doc.status === 'quorum_lost' ? 1 : 0, usage: { ...recorder.usage } };
      }),
      catchError((error: unknown) => {
        ended = true;
        recorder.abort({ status: 'failed', message: (error as Error).message, exitCode: 1 });
        throw error;
      }),
      finalize(() => {
        if (!ended) recorder.abort({ status: 'interrupted', message: 'interrupted by the user', exitCode: 130 });
      }),
    );
  });
}

/** Runs one `ask` end to end: pipeline, sinks and spans. Resolves when the run is committed and its files are written. */
export async function runAsk(o: RunAskOptions): Promise<RunAskResult> {
  runQuorum(o.quorum, o.panel);
  requireQuery(o.request.query);
  // Before any model is asked: a folder that cannot take the run fails now, not after every call.
  prepareOutFolder(o.out);
  const runId = o.runId ?? newRunId();
  // ask renders the run's files (consensus.md, …) from its committed lines: a user opens them.
  const sinks = openRunSinks(o.out, o.env, { runFiles: true });
  let result: RunAskResult;
  try {
    // take(1): the run is decided at its one result; the promise need not wait for anything after it.
    const done = await untilDone(askRun({ ...o, runId }, { sinks }).pipe(take(1)), o.signal);
    if (done.interrupted) result = { runId, runDir: '', exitCode: 130 };
    else if (done.last) result = done.last;
    else throw new Error(`Run ${runId} ended without a result`);
  } catch (error) {
    await sinks.close().catch(() => undefined);
    throw error;
  }
  try {
    await sinks.close();
  } catch (error) {
    // The vote is done: its consensus is still shown, with the reason it could not be kept.
    if (!(error instanceof ArtifactsError) || !result.doc) throw error;
    return { ...result, artifactsError: error };
  }
  return result;
}
