/**
 * The two messages of the queue (docs/CONTRACTS.md, "The queue"): a task (one chunk to decide)
 * and a result (the decided run's records, or the chunk's failure). JSON; a result larger than
 * {@link COMPRESS_ABOVE} is gzipped and says so in its `Content-Encoding` header.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { QuorumEvent } from '../events.js';
import type { AnswerLine, RunLine } from '../runlog/lines.js';
import type { BlackboardSignal } from '../sinks/blackboard.js';
import type { SpanLine } from '../tracing/jsonlSpanExporter.js';
import type { Panel } from '../types.js';

/** Bumped when a field changes meaning; a worker refuses a task of a version it does not know. */
export const MESSAGE_VERSION = 1;

/** One chunk to decide. Holds the question, the chunk and the run options; never a key. */
export interface TaskMessage {
  v: typeof MESSAGE_VERSION;
  batchId: string;
  chunk: { id: string; source: string; index: number; heading?: string; text: string };
  query: string;
  /** The submitter's panel: models, endpoints and the *names* of the key variables each worker reads. */
  panel: Panel;
  quorum: number;
  rounds: 1 | 2;
  graceMs?: number;
  sandbox?: boolean;
  /** The batch span's W3C traceparent: a worker's run span is its child, so one trace holds the batch. */
  traceparent?: string;
}

export interface RunUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
}

/** A worker's decided run: every line it would have written to the run log, for the submitter to commit. */
export interface DecidedResult {
  v: typeof MESSAGE_VERSION;
  kind: 'decided';
  batchId: string;
  chunkId: string;
  runId: string;
  /** `host:pid` of the worker that decided it. */
  worker: string;
  usage: RunUsage;
  lines: { run: RunLine; answers: AnswerLine[]; events: QuorumEvent[]; spans: SpanLine[]; blackboard: BlackboardSignal[] };
}

/** A chunk given up: delivered `max_deliver` times without a decision, or a task no worker could read. */
export interface FailedResult {
  v: typeof MESSAGE_VERSION;
  kind: 'failed';
  batchId: string;
  chunkId: string;
  worker: string;
  deliveries: number;
  message: string;
}

export type ResultMessage = DecidedResult | FailedResult;

/** Results above this many bytes of JSON are gzipped (prose compresses ~5×): far below NATS's 1 MiB default max_payload. */
export const COMPRESS_ABOVE = 256 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeTask(task: TaskMessage): Uint8Array {
  return encoder.encode(JSON.stringify(task));
}

/** The task in a message, or an Error saying why it cannot be one (the worker terminates such a message). */
export function decodeTask(data: Uint8Array): TaskMessage | Error {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return new Error('the task is not JSON');
  }
  const t = value as Partial<TaskMessage> | null;
  if (!t || typeof t !== 'object') return new Error('the task is not an object');
  if (t.v !== MESSAGE_VERSION) return new Error(`the task has version ${JSON.stringify(t.v)}; this worker reads version ${MESSAGE_VERSION} (upgrade the worker or the submitter)`);
  if (typeof t.batchId !== 'string' || typeof t.query !== 'string' || !t.chunk || typeof t.chunk.id !== 'string' || typeof t.chunk.text !== 'string' || typeof t.chunk.source !== 'string') {
    return new Error('the task lacks its batch id, question or chunk');
  }
  if (!t.panel || !Array.isArray(t.panel.members) || t.panel.members.length === 0) return new Error('the task names no panel');
  if (!Number.isInteger(t.quorum) || (t.rounds !== 1 && t.rounds !== 2)) return new Error('the task lacks its quorum or rounds');
  return t as TaskMessage;
}

export function encodeResult(result: ResultMessage): { data: Uint8Array; headers?: MsgHdrs } {
  const json = encoder.encode(JSON.stringify(result));
  if (json.byteLength <= COMPRESS_ABOVE) return { data: json };
  const headers = natsHeaders();
  headers.set('Content-Encoding', 'gzip');
  return { data: gzipSync(json), headers };
}

export function decodeResult(data: Uint8Array, headers?: MsgHdrs): ResultMessage | Error {
  try {
    const raw = headers?.get('Content-Encoding') === 'gzip' ? gunzipSync(data) : data;
    const value = JSON.parse(decoder.decode(raw)) as Partial<ResultMessage> | null;
    if (!value || value.v !== MESSAGE_VERSION || (value.kind !== 'decided' && value.kind !== 'failed') || typeof value.chunkId !== 'string') {
      return new Error('not a result of this version');
    }
    if (value.kind === 'decided' && (!value.lines?.run || typeof value.runId !== 'string')) return new Error('a decided result without its run line');
    return value as ResultMessage;
  } catch (error) {
    return new Error(`unreadable result: ${(error as Error).message}`);
  }
}
