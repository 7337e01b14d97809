import { Subscription } from 'rxjs';
import { defaultMinResponders, defaultQuorum, validateQuorum } from '../claims/quorumRules.js';
import { UsageError } from '../errors.js';
import type { ModelCall } from '../models/call.js';
import { createOpenAICall } from '../models/openaiCall.js';
import { type AskResult, askPipeline, type Round } from '../pipelines/ask.js';
import type { ConsensusDocument, ModelRequest, Panel } from '../types.js';
import { type LiveHooks, RunRecorder } from './recorder.js';
import { newRunId } from './runId.js';
import { openRunSinks } from './runSinks.js';

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
  runId?: string;
}

export interface RunAskResult {
  runId: string;
  runDir: string;
  /** Absent when the run was interrupted. */
  doc?: ConsensusDocument;
  exitCode: 0 | 1 | 130;
}

/** Runs one `ask` end to end: pipeline, sinks and spans. Resolves when every artifact is flushed. */
export async function runAsk(o: RunAskOptions): Promise<RunAskResult> {
  const n = o.panel.members.length;
  const configured = o.quorum ?? o.panel.quorum ?? defaultQuorum(n);
  validateQuorum(configured, n);
  if (o.request.query.trim() === '') throw new UsageError('The query is empty; ask a question, e.g. quorum ask "What does RFC 9110 say about caching?"');

  const runId = o.runId ?? newRunId();
  const sinks = openRunSinks(o.out, o.env);
  const recorder = new RunRecorder({
    runId,
    out: o.out,
    request: o.request,
    panel: o.panel,
    quorum: { configured, minResponders: defaultMinResponders(n) },
    tracer: sinks.tracing.tracer,
    events: sinks.events,
    blackboard: sinks.blackboard,
    identity: sinks.identity,
    sandbox: Boolean(o.sandbox),
    rounds: o.rounds ?? 2,
  });

  let subscription: Subscription | undefined;
  try {
    const gathered = await new Promise<AskResult | undefined>((resolve, reject) => {
      const onAbort = () => {
        subscription?.unsubscribe();
        resolve(undefined);
      };
      if (o.signal?.aborted) return resolve(undefined);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      subscription = askPipeline(o.request, {
        panel: o.panel,
        call: o.call ?? createOpenAICall({ env: o.env }),
        quorum: configured,
        graceMs: o.graceMs,
        rounds: o.rounds ?? 2,
        maxCandidates: o.maxCandidates,
        ...(o.synthesize && { synthesize: o.synthesize }),
        observer: recorder.observer(o.live),
      }).subscribe({
        next: (value) => {
          o.signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        error: (error: unknown) => {
          o.signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
    });
    if (!gathered) {
      recorder.abort({ status: 'interrupted', message: 'interrupted by the user', exitCode: 130 });
      return { runId, runDir: recorder.runDir, exitCode: 130 };
    }
    const doc = recorder.complete(gathered);
    return { runId, runDir: recorder.runDir, doc, exitCode: doc.status === 'quorum_lost' ? 1 : 0 };
  } catch (error) {
    recorder.abort({ status: 'failed', message: (error as Error).message, exitCode: 1 });
    throw error;
  } finally {
    subscription?.unsubscribe();
    await sinks.close();
  }
}
