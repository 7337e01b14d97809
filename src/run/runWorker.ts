import { hostname } from 'node:os';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { lastValueFrom } from 'rxjs';
import { UsageError } from '../errors.js';
import type { ModelCall } from '../models/call.js';
import { createOpenAICall } from '../models/openaiCall.js';
import { type QueueAddress, connectQueue } from '../queue/connection.js';
import { eventBusSink } from '../queue/eventBus.js';
import { type DecidedResult, type FailedResult, type TaskMessage, decodeTask, encodeResult, MESSAGE_VERSION } from '../queue/messages.js';
import { TASKS_STREAM, WORKERS_CONSUMER, resultSubject } from '../queue/names.js';
import { ensureStreams, ensureWorkerConsumer } from '../queue/streams.js';
import { QuotaExhaustedError } from '../ratelimit/rateLimiter.js';
import { openPaceBucket, pacerForPanel, type SharedPacer } from '../queue/sharedPacer.js';
import { remoteParent } from '../tracing/tracing.js';
import type { Panel } from '../types.js';
import { resolveApiKeys } from './apiKeys.js';
import { captureSinks } from './captureSinks.js';
import { askRun, type RunAskOptions } from './runAsk.js';
import { newRunId } from './runId.js';

export interface RunWorkerOptions {
  queue: QueueAddress;
  /** Where API keys are read from: each worker brings its own. */
  env: NodeJS.ProcessEnv;
  /**
   * The worker's own panel (`--panel`, `--sandbox`): used instead of the task's, which must then
   * name the same model at every port. Default: the submitter's panel, carried by each task.
   */
  panel?: Panel;
  /** The worker's panel is the simulator: it takes only tasks of `--sandbox` batches, and they only it. */
  sandbox?: boolean;
  /** The sandbox's environment (its key), for a `--sandbox` worker. */
  sandboxEnv?: NodeJS.ProcessEnv;
  /** Tasks run at once. Default 2. */
  concurrency?: number;
  /** Sets the shared consumer's AckWait and max deliveries (the latest worker's settings apply to all). */
  ackWaitMs?: number;
  maxDeliver?: number;
  /** Ctrl-C: stop pulling, let the tasks held finish, then return. */
  signal?: AbortSignal;
  /** Account-wide requests per minute, shared by every worker calling with the same key (`--rpm`). */
  rpm?: number;
  /** Requests per minute for each model, paced in this worker only (`--model-rpm`). */
  modelRpm?: number;
  /** Replaces the shared pacer (tests). */
  limiterFor?: (panel: Panel, env: NodeJS.ProcessEnv) => RunAskOptions['limiter'];
  call?: ModelCall;
  retry?: RunAskOptions['retry'];
  /** Told of what the worker does, for its log lines. */
  onEvent?: (event: WorkerEvent) => void;
  /** How long one pull waits for a task before asking again (and checking for Ctrl-C). Default 2 000 ms. */
  pullExpiresMs?: number;
}

export type WorkerEvent =
  | { type: 'ready'; worker: string; ackWaitMs: number; maxDeliver: number; concurrency: number }
  | { type: 'decided'; batchId: string; chunkId: string; source: string; status: string; claims: number; ms: number; delivery: number }
  | { type: 'retry'; batchId: string; chunkId: string; delivery: number; message: string }
  | { type: 'gave-up'; batchId: string; chunkId: string; delivery: number; message: string }
  | { type: 'refused'; batchId?: string; reason: string }
  | { type: 'draining'; inFlight: number }
  | { type: 'disconnected' | 'reconnected' }
  | { type: 'warning'; message: string }
  | { type: 'stopped'; reason: string };

export interface RunWorkerResult {
  worker: string;
  decided: number;
  gaveUp: number;
  /** Why the worker stopped: `interrupted` (Ctrl-C, drained) or `quota` (the account's quota is spent). */
  reason: 'interrupted' | 'quota';
}

/**
 * `quorum worker`: pulls tasks from the queue, decides each chunk with the ask pipeline and its
 * own keys, publishes the run's records as one result, then acks the task. While a run is alive
 * the task is kept with in-progress heartbeats; a worker that dies stops them, so after AckWait
 * the task goes to another worker. A run that throws is retried elsewhere (nak), up to
 * max_deliver, after which its failure is published as the chunk's result.
 */
export async function runWorker(o: RunWorkerOptions): Promise<RunWorkerResult> {
  const worker = `${hostname()}:${process.pid}`;
  const nc = await connectQueue(o.queue, `quorum worker ${worker}`);
  const counts = { decided: 0, gaveUp: 0 };
  let reason: RunWorkerResult['reason'] = 'interrupted';
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm);
    const settings = await ensureWorkerConsumer(jsm, { ...(o.ackWaitMs !== undefined && { ackWaitMs: o.ackWaitMs }), ...(o.maxDeliver !== undefined && { maxDeliver: o.maxDeliver }) });
    const js = jetstream(nc);
    const consumer = await js.consumers.get(TASKS_STREAM, WORKERS_CONSUMER);
    const bus = eventBusSink(nc);
    // One account, one pace: workers sharing a key share its limit through the server's KV.
    const paceBucket = o.limiterFor ? undefined : await openPaceBucket(nc);
    const pacers: SharedPacer[] = [];
    const limiterFor =
      o.limiterFor ??
      ((seat: Panel, env: NodeJS.ProcessEnv) => {
        const pacer = pacerForPanel(paceBucket!, seat, {
          env,
          ...(o.rpm !== undefined && { rpm: o.rpm }),
          ...(o.modelRpm !== undefined && { modelRpm: o.modelRpm }),
          onWarning: (line) => o.onEvent?.({ type: 'warning', message: line }),
        });
        pacers.push(pacer);
        return pacer;
      });
    const concurrency = o.concurrency ?? 2;
    // One client and one pacer per panel endpoint set: they hold the connection pool and the pace.
    const seats = new Map<string, { call: ModelCall; limiter: RunAskOptions['limiter'] }>();
    const warned = new Set<string>();
    const identity = { hive: o.env.QUORUM_HIVE || 'quorum', gen: o.env.QUORUM_GEN || 0, port: o.env.QUORUM_GATHERER_PORT || 'gather' };
    void watchStatus(nc, o.onEvent);
    o.onEvent?.({ type: 'ready', worker, ...settings, concurrency });

    /** Results being published and acked after their runs: the drain waits for them. */
    const background = new Set<Promise<void>>();
    let stopping = o.signal?.aborted ?? false;
    let inFlight = 0;
    const onAbort = () => {
      stopping = true;
      o.onEvent?.({ type: 'draining', inFlight });
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const refuse = (msg: JsMsg, batchId: string | undefined, why: string) => {
      // Back to the queue for a worker that can take it; said once per batch and reason, not per task.
      msg.nak(5_000);
      const key = `${batchId}\0${why}`;
      if (!warned.has(key)) {
        warned.add(key);
        o.onEvent?.({ type: 'refused', ...(batchId && { batchId }), reason: why });
      }
    };

    const decide = async (msg: JsMsg): Promise<void> => {
      const task = decodeTask(msg.data);
      if (task instanceof Error) {
        // No worker could ever read it: it must not circle until max_deliver.
        msg.term();
        o.onEvent?.({ type: 'refused', reason: `a task on ${msg.subject} was dropped: ${task.message}` });
        return;
      }
      const seat = seatFor(task, o);
      if (seat instanceof Error) return refuse(msg, task.batchId, seat.message);
      let env: NodeJS.ProcessEnv;
      try {
        env = o.sandbox ? { ...o.env, ...o.sandboxEnv } : resolveApiKeys(seat, o.env);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        return refuse(msg, task.batchId, `this worker cannot run batch ${task.batchId}: ${error.message.replace(/; export your API key.*$/, '')}`);
      }
      const delivery = msg.info.deliveryCount;
      const started = Date.now();
      // In-progress heartbeats keep the task while the run is alive; a dead worker's stop, so AckWait hands it on.
      const heartbeat = setInterval(() => msg.working(), Math.max(200, Math.floor(settings.ackWaitMs / 3)));
      const capture = captureSinks(identity, bus);
      let handedOn = false;
      try {
        const seatKey = seat.members.map((m) => `${m.baseURL}\0${m.apiKeyEnv}`).join('\0');
        let shared = seats.get(seatKey);
        if (!shared) {
          shared = { call: o.call ?? createOpenAICall({ env }), limiter: limiterFor(seat, env) };
          seats.set(seatKey, shared);
        }
        const { call, limiter } = shared;
        const parentSpan = remoteParent(task.traceparent);
        const result = await lastValueFrom(
          askRun(
            {
              request: { query: task.query, context: { source: task.chunk.heading ? `${task.chunk.source} (${task.chunk.heading})` : task.chunk.source, text: task.chunk.text } },
              panel: seat,
              out: '.',
              env,
              quorum: task.quorum,
              rounds: task.rounds,
              runId: newRunId(),
              call,
              ...(task.graceMs !== undefined && { graceMs: task.graceMs }),
              ...(task.sandbox && { sandbox: true }),
              ...(o.retry && { retry: o.retry }),
              ...(limiter && { limiter }),
            },
            { sinks: capture.sinks, chunk: { source: task.chunk.source, id: task.chunk.id }, batchId: task.batchId, ...(parentSpan && { parentSpan }) },
          ),
        );
        const lines = await capture.lines();
        if (!result.doc || !lines) throw new Error(`run ${result.runId} ended without a decision`);
        const decided: DecidedResult = {
          v: MESSAGE_VERSION,
          kind: 'decided',
          batchId: task.batchId,
          chunkId: task.chunk.id,
          runId: result.runId,
          worker,
          usage: { ...{ calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 }, ...result.usage },
          lines: { ...lines, run: { ...lines.run, worker } },
        };
        const doc = result.doc;
        // Published and acked in the background, so the slot pulls its next task meanwhile (in a
        // row they left each slot idle ~20 ms a chunk); the heartbeat keeps the task until the ack.
        const finishing = (async () => {
          try {
            await publishResult(js, decided, `${task.batchId}.${task.chunk.id}.${result.runId}`);
            await ackTask(msg);
            counts.decided++;
            o.onEvent?.({ type: 'decided', batchId: task.batchId, chunkId: task.chunk.id, source: task.chunk.source, status: doc.status, claims: doc.claims.length, ms: Date.now() - started, delivery });
          } catch (error) {
            await fail(msg, task, delivery, error);
          } finally {
            clearInterval(heartbeat);
          }
        })();
        finishing.finally(() => background.delete(finishing)).catch(() => undefined);
        background.add(finishing);
        handedOn = true;
      } catch (error) {
        await fail(msg, task, delivery, error);
      } finally {
        if (!handedOn) clearInterval(heartbeat);
        await capture.close().catch(() => undefined);
      }
    };

    /** A run that threw: handed back for another try, or given up at the last delivery. */
    const fail = async (msg: JsMsg, task: TaskMessage, delivery: number, error: unknown): Promise<void> => {
      const message = (error as Error).message;
      if (error instanceof QuotaExhaustedError) {
        // The account is spent for every task: hand this one back and stop taking more.
        msg.nak();
        reason = 'quota';
        stopping = true;
        o.onEvent?.({ type: 'stopped', reason: message });
        return;
      }
      if (delivery >= settings.maxDeliver) {
        const failed: FailedResult = { v: MESSAGE_VERSION, kind: 'failed', batchId: task.batchId, chunkId: task.chunk.id, worker, deliveries: delivery, message };
        await publishResult(js, failed, `${task.batchId}.${task.chunk.id}.failed-${msg.info.streamSequence}`);
        msg.term();
        counts.gaveUp++;
        o.onEvent?.({ type: 'gave-up', batchId: task.batchId, chunkId: task.chunk.id, delivery, message });
      } else {
        msg.nak(Math.min(30_000, 1_000 * delivery));
        o.onEvent?.({ type: 'retry', batchId: task.batchId, chunkId: task.chunk.id, delivery, message });
      }
    };

    const slot = async (): Promise<void> => {
      while (!stopping) {
        // A server that takes no results (restarting) must not let finished runs pile up.
        while (background.size >= concurrency) await Promise.race(background);
        let msg: JsMsg | null;
        try {
          msg = await consumer.next({ expires: o.pullExpiresMs ?? 2_000 });
        } catch {
          // The server is restarting: the client reconnects on its own; ask again shortly.
          await pause(500);
          continue;
        }
        if (!msg) continue;
        if (stopping) {
          msg.nak();
          break;
        }
        inFlight++;
        try {
          await decide(msg);
        } finally {
          inFlight--;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, slot));
    await Promise.all(background);
    o.signal?.removeEventListener('abort', onAbort);
    await Promise.all(pacers.map((p) => p.settled()));
    await bus.flush();
  } finally {
    await nc.drain().catch(() => nc.close());
  }
  return { worker, ...counts, reason };
}

/**
 * The panel this worker runs a task with: the task's own, or the worker's when it has one, which
 * must seat the same models. A simulated panel never decides a real batch, nor a real one a
 * simulated batch.
 */
function seatFor(task: TaskMessage, o: Pick<RunWorkerOptions, 'panel' | 'sandbox'>): Panel | Error {
  if (Boolean(task.sandbox) !== Boolean(o.sandbox)) {
    return new Error(task.sandbox ? `batch ${task.batchId} is a --sandbox batch; only workers started with --sandbox take it` : `this worker runs the simulator (--sandbox); batch ${task.batchId} asks real models`);
  }
  if (!o.panel) return task.panel;
  const seats = (p: Panel) => p.members.map((m) => `${m.port}=${m.model}`).join(', ');
  if (seats(o.panel) !== seats(task.panel)) {
    return new Error(`this worker's panel (${seats(o.panel)}) is not batch ${task.batchId}'s (${seats(task.panel)}); start the worker without --panel to use the batch's`);
  }
  return o.panel;
}

/** Published until the server has it: a restarting server must not lose a decided run. */
async function publishResult(js: ReturnType<typeof jetstream>, result: DecidedResult | FailedResult, msgID: string): Promise<void> {
  const { data, headers } = encodeResult(result);
  for (let attempt = 1; ; attempt++) {
    try {
      await js.publish(resultSubject(result.batchId, result.chunkId), data, { msgID, ...(headers && { headers }), timeout: 5_000 });
      return;
    } catch (error) {
      if (/max.?payload/i.test((error as Error).message)) throw new Error(`the run's records (${data.byteLength} bytes) exceed the NATS server's max_payload; raise max_payload in its configuration`, { cause: error });
      await pause(Math.min(2_000, 100 * attempt));
    }
  }
}

/** Acked with the server's confirmation; if that is lost the task comes back, and the submitter keeps only the first decision. */
async function ackTask(msg: JsMsg): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      if (await msg.ackAck({ timeout: 5_000 })) return;
    } catch {
      await pause(200 * attempt);
    }
  }
}

async function watchStatus(nc: Awaited<ReturnType<typeof connectQueue>>, onEvent: RunWorkerOptions['onEvent']): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect') onEvent?.({ type: 'disconnected' });
    else if (status.type === 'reconnect') onEvent?.({ type: 'reconnected' });
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolvePause) => setTimeout(resolvePause, ms));
}
