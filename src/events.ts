/**
 * The CloudEvents quorum writes to `cloudevents.jsonl`, one structured-mode JSON object a line.
 * The SQL in `queries/` reads these names (`type`, `runid`, `port`, `data.latencyMs`, …), so
 * every field is defined and documented here, once.
 */
import { randomUUID } from 'node:crypto';
import type { FailureKind, QuorumInfo, RunStatus } from './types.js';

/** Every event type quorum emits; the `quorum.` prefix namespaces them among other producers. */
export const EVENT_TYPES = {
  runStarted: 'quorum.run.started',
  modelResponded: 'quorum.model.responded',
  modelFailed: 'quorum.model.failed',
  consensusReached: 'quorum.consensus.reached',
  runCompleted: 'quorum.run.completed',
  /** Reserved for the vote round; its data shape is fixed by the issue that first emits it. */
  voteCast: 'quorum.vote.cast',
  /** Reserved for `quorum batch`; its data shape is fixed by the issue that first emits it. */
  batchStarted: 'quorum.batch.started',
  /** Reserved for `quorum batch`; its data shape is fixed by the issue that first emits it. */
  batchCompleted: 'quorum.batch.completed',
  /** A queued batch: a second decision of a chunk already decided (a redelivered task) was dropped; the first stands. */
  runSuperseded: 'quorum.run.superseded',
} as const;

export type QuorumEventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** Types whose `source` is the port (`/quorum/port/<n>`) and which therefore need `ctx.port`. */
export const PORT_EVENT_TYPES: ReadonlySet<QuorumEventType> = new Set([
  EVENT_TYPES.modelResponded,
  EVENT_TYPES.modelFailed,
  EVENT_TYPES.voteCast,
]);

/** `data` of `quorum.run.started`: what was asked, of whom. Never holds API keys. */
export interface RunStartedData {
  /** The research question, verbatim. */
  query: string;
  panel: {
    /** Where the panel came from: a file path, `built-in` or `sandbox`. */
    source: string;
    /** N, the number of ports. */
    size: number;
    /** One entry per port, in port order. */
    members: { port: number; model: string; family: string }[];
  };
  /** Votes required with the whole panel answering (q), and the fewest responders for any consensus. */
  quorum: { configured: number; minResponders: number };
  /** The `--context` document (or batch chunk source) given to every port; null when none. */
  context: { source: string; chars: number } | null;
  /** True when the panel is the offline simulator, so no real model answered. */
  sandbox: boolean;
  /** Vote rounds requested (`--rounds`), when known. */
  rounds?: number;
  /** Default per-call timeout in ms, when known. */
  timeoutMs?: number;
  /** Set on a replay: the recorded run it re-gathers. */
  replayOf?: string;
  /** `quorum watch`: earlier runs on the same file's previous content, which this run replaces. */
  supersedes?: string[];
}

/** `data` of `quorum.model.responded`: one port returned a usable answer. */
export interface ModelRespondedData {
  port: number;
  /** Model id as sent to the provider, e.g. `deepseek/deepseek-chat:free`. */
  model: string;
  /** Model family (`meta`, `deepseek`, …), the unit of independence. */
  family: string;
  /** Wall time from the first attempt's start to the answer, in ms. */
  latencyMs: number;
  /** Attempts made, including the successful one (1 = no retry). */
  attempts: number;
  /** Prompt tokens as reported by the provider; absent when it reported none. */
  inputTokens?: number;
  /** Completion tokens as reported by the provider; absent when it reported none. */
  outputTokens?: number;
  /** Provider-reported cost (OpenRouter `usage.cost`, credits/USD); absent when unreported. */
  cost?: number;
  /** Claims extracted from the answer; absent when the event is written before extraction. */
  claims?: number;
  /** Length of the answer text, in UTF-16 code units. */
  chars?: number;
  /** Provider's finish reason (`stop`, `length`, …), when given. */
  finishReason?: string;
  /** Provider's generation id, for auditing against its logs. */
  responseId?: string;
}

/** `data` of `quorum.model.failed`: one port gave no usable answer. */
export interface ModelFailedData {
  port: number;
  model: string;
  family: string;
  /** DESIGN.md failure kind: timeout, rate_limited, http, network, malformed, empty, auth, cancelled. */
  kind: FailureKind;
  /** One line, safe to print: never contains an API key. */
  message: string;
  /** Attempts made before giving up. */
  attempts: number;
  /** Wall time from the first attempt's start to the failure, in ms. */
  latencyMs: number;
  /** HTTP status of the last attempt, when there was one. */
  status?: number;
}

/** `data` of `quorum.consensus.reached`: the gather's verdict (written for every status, even quorum_lost). */
export interface ConsensusReachedData {
  status: RunStatus;
  /** Quorum arithmetic as applied: configured q, required (q or degraded q'), responders r, panel N, minResponders. */
  quorum: QuorumInfo;
  /** Number of consensus claims. */
  claims: number;
  /** Number of claims that missed quorum. */
  dissent: number;
  /** Number of ports that failed. */
  failures: number;
}

/** `data` of `quorum.run.completed`: the last event of every run, however it ended. */
export interface RunCompletedData {
  /** The result's status, or `failed` (an error ended the run) or `interrupted` (SIGINT). */
  status: RunStatus | 'failed' | 'interrupted';
  /** Wall time of the whole run, in ms. */
  durationMs: number;
  /** The process exit code this run maps to (0, 1, 2 or 130). */
  exitCode: number;
  /** One-line reason when status is `failed` or `interrupted`. */
  message?: string;
}

/**
 * `data` of `quorum.vote.cast`: one round-1 responder's ballot in the vote round. Written for
 * every voter, including those that failed (`ok: false`, they abstain).
 */
export interface VoteCastData {
  port: number;
  model: string;
  family: string;
  /** Always 2: the vote round. */
  round: 2;
  /** False when the call failed or no ballot could be read from the reply: the voter abstains. */
  ok: boolean;
  latencyMs: number;
  attempts: number;
  /** Candidates on the ballot. */
  candidates: number;
  /** Verdicts cast, by kind; candidates left out count as unsure in the tally. */
  agree: number;
  disagree: number;
  unsure: number;
  /** `same:cK` marks. */
  same: number;
  /** Failure kind when `ok` is false (`malformed` for an unreadable ballot). */
  kind?: FailureKind;
  message?: string;
  inputTokens?: number;
  outputTokens?: number;
  cost?: number;
}

/** Placeholder for the reserved types until their issues define them. */
export type ReservedEventData = Record<string, unknown>;

/** The `data` type of each event type. */
export interface EventDataMap {
  'quorum.run.started': RunStartedData;
  'quorum.model.responded': ModelRespondedData;
  'quorum.model.failed': ModelFailedData;
  'quorum.consensus.reached': ConsensusReachedData;
  'quorum.run.completed': RunCompletedData;
  'quorum.vote.cast': VoteCastData;
  'quorum.batch.started': ReservedEventData;
  'quorum.batch.completed': ReservedEventData;
  'quorum.run.superseded': RunSupersededData;
}

/**
 * `data` of `quorum.run.superseded` (`runid` is the dropped run's id): a queued batch keeps the
 * first decision of each chunk; a worker's later one (its task was redelivered) is dropped.
 */
export interface RunSupersededData {
  /** The run that decided the chunk first, and stands. */
  keptRunId: string;
  /** The worker (`host:pid`) whose decision was dropped. */
  worker: string;
  /** The dropped run's status, for the record. */
  status: string;
}

/** Where an event belongs: its run, port, chunk and span. */
export interface EventContext {
  runId: string;
  /** Required for model events (it makes their `source`); optional elsewhere. */
  port?: number;
  /** The batch chunk the run worked on, when any. */
  chunkId?: string;
  /** The batch the event belongs to, when any. */
  batchId?: string;
  /** W3C traceparent of the span the event happened in (`traceparentOf(span)`). */
  traceparent?: string;
  /** Fixed id, for replays and tests; a random UUID otherwise. */
  id?: string;
  /** Fixed time, for replays and tests; now otherwise. */
  time?: Date | string;
}

/**
 * One line of `cloudevents.jsonl`: a CloudEvents 1.0 event in structured JSON mode.
 * Extension attributes are lowercase alphanumerics per the spec, which is why `runid` and
 * `chunkid` are spelled so; absent extensions are left out, not null.
 */
export interface QuorumCloudEvent<T extends QuorumEventType = QuorumEventType> {
  specversion: '1.0';
  /** Unique per event (UUID unless given). */
  id: string;
  /** `/quorum/port/<n>` for model events, `/quorum/run` otherwise. */
  source: string;
  type: T;
  /** ISO-8601 UTC time the event was made. */
  time: string;
  datacontenttype: 'application/json';
  /** Run id (extension). */
  runid: string;
  /** Panel port, an integer (extension); on every model event. */
  port?: number;
  /** Batch chunk id (extension). */
  chunkid?: string;
  /** Batch id (extension), on every event of a batch's runs and on the batch's own events. */
  batchid?: string;
  /** W3C traceparent `00-<traceId>-<spanId>-<flags>` (Distributed Tracing extension): joins the event to its span. */
  traceparent?: string;
  data: EventDataMap[T];
}

/** Any event quorum writes, discriminated by `type`. */
export type QuorumEvent = { [K in QuorumEventType]: QuorumCloudEvent<K> }[QuorumEventType];

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Builds one event as a plain JSON object ready for a `JsonlSink`. The object is the fixed
 * CloudEvents 1.0 shape above, so only the caller's context needs checking here, cheaply (the
 * cloudevents SDK is not consulted on this hot path; test/sinks/events.test.ts validates every
 * event type against the SDK instead). Throws `TypeError` when the context is unusable: an
 * empty run id, a given id that is not a non-empty string, a model event without a port, a port
 * that is not a non-negative integer (extension values may not be floats), or a malformed
 * traceparent; `RangeError` for a time that is not a date.
 */
export function makeEvent<T extends QuorumEventType>(
  type: T,
  data: EventDataMap[T],
  ctx: EventContext,
): QuorumCloudEvent<T> {
  const { runId, port, chunkId, batchId, traceparent } = ctx;
  if (!runId) throw new TypeError(`Expected a non-empty runId for ${type}`);
  if (ctx.id !== undefined && (typeof ctx.id !== 'string' || ctx.id === '')) {
    throw new TypeError(`Expected the event id to be a non-empty string for ${type}, got ${String(ctx.id)}`);
  }
  if (port !== undefined && !(Number.isSafeInteger(port) && port >= 0)) {
    throw new TypeError(`Expected port to be a non-negative integer for ${type}, got ${port}`);
  }
  if (PORT_EVENT_TYPES.has(type) && port === undefined) {
    throw new TypeError(`Expected a port for ${type}: model events are sourced from their port`);
  }
  if (traceparent !== undefined && !TRACEPARENT.test(traceparent)) {
    throw new TypeError(
      `Expected a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>), got ${traceparent}`,
    );
  }
  const time = ctx.time === undefined ? new Date() : new Date(ctx.time);
  const event: QuorumCloudEvent<T> = {
    specversion: '1.0',
    id: ctx.id ?? randomUUID(),
    source: PORT_EVENT_TYPES.has(type) ? `/quorum/port/${port}` : '/quorum/run',
    type,
    time: time.toISOString(),
    datacontenttype: 'application/json',
    runid: runId,
    ...(port !== undefined ? { port } : {}),
    ...(chunkId ? { chunkid: chunkId } : {}),
    ...(batchId ? { batchid: batchId } : {}),
    ...(traceparent ? { traceparent } : {}),
    data,
  };
  return event;
}
