/**
 * Where quorum's messages live on a NATS server (docs/CONTRACTS.md, "The queue"). Every batch
 * and every worker on one server share these streams: several people can feed one queue.
 */

/** Work-queue stream of tasks: one message per chunk, removed when a worker acks it. */
export const TASKS_STREAM = 'QUORUM_TASKS';
/** Work-queue stream of decided runs (and failures), removed when the batch's submitter has committed them. */
export const RESULTS_STREAM = 'QUORUM_RESULTS';
/** The one durable pull consumer every worker pulls tasks from. */
export const WORKERS_CONSUMER = 'quorum-workers';

/** Batch ids (`20261126T041409Z-3f9a1c`) and chunk ids (hex) are single subject tokens. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

function token(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new RangeError(`Expected ${what} to be one subject token ([A-Za-z0-9_-]), got ${JSON.stringify(value)}`);
  return value;
}

export function taskSubject(batchId: string, chunkId: string): string {
  return `quorum.tasks.${token(batchId, 'a batch id')}.${token(chunkId, 'a chunk id')}`;
}

/** Every task of one batch (a filter). */
export function batchTasks(batchId: string): string {
  return `quorum.tasks.${token(batchId, 'a batch id')}.*`;
}

export function resultSubject(batchId: string, chunkId: string): string {
  return `quorum.results.${token(batchId, 'a batch id')}.${token(chunkId, 'a chunk id')}`;
}

/** Every result of one batch: the filter of its collector. */
export function batchResults(batchId: string): string {
  return `quorum.results.${token(batchId, 'a batch id')}.*`;
}

/** The durable consumer through which a batch's submitter collects its results (one per batch). */
export function collectorConsumer(batchId: string): string {
  return `collect-${token(batchId, 'a batch id')}`;
}

/**
 * Subject of a CloudEvent on the bus: `quorum.events.<type>`, e.g.
 * `quorum.events.quorum.run.completed`, so `nats sub 'quorum.events.>'` sees them all.
 */
export function eventSubject(type: string): string {
  return `quorum.events.${type}`;
}

/** Server advisory when a task has been delivered `max_deliver` times without an ack. */
export const MAX_DELIVERIES_ADVISORY = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${TASKS_STREAM}.${WORKERS_CONSUMER}`;

/**
 * Stream that keeps the server's max-deliveries advisories, so a task given up while no submitter
 * was listening (a worker died on its last delivery) is still found by the batch's `--resume`.
 */
export const GIVEUPS_STREAM = 'QUORUM_GIVEUPS';
