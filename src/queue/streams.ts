import { AckPolicy, DeliverPolicy, type JetStreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { GIVEUPS_STREAM, MAX_DELIVERIES_ADVISORY, RESULTS_STREAM, TASKS_STREAM, WORKERS_CONSUMER, batchResults, collectorConsumer } from './names.js';

/** How long a worker may hold a task without a heartbeat before it goes to another worker. */
export const DEFAULT_ACK_WAIT_MS = 30_000;
/** Deliveries of one task before it is given up and recorded as failed. */
export const DEFAULT_MAX_DELIVER = 5;
/** How long a collected result may stay unacknowledged (a submitter killed mid-commit) before it is delivered again. */
const COLLECT_ACK_WAIT_MS = 10_000;

/**
 * Creates the two streams when they are missing; an existing stream is used as it is (another
 * batch or worker made it). File storage, so a restarted server loses nothing; work-queue
 * retention, so a task leaves the stream when a worker acks it and a result when its submitter
 * has committed it.
 */
export async function ensureStreams(jsm: JetStreamManager): Promise<void> {
  for (const [name, subjects] of [
    [TASKS_STREAM, ['quorum.tasks.>']],
    [RESULTS_STREAM, ['quorum.results.>']],
  ] as const) {
    if (await exists(() => jsm.streams.info(name))) continue;
    await jsm.streams
      .add({ name, subjects: [...subjects], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: nanos(120_000) })
      // Two processes starting at once: the other one made it.
      .catch(async (error: unknown) => {
        if (!(await exists(() => jsm.streams.info(name)))) throw error;
      });
  }
  if (!(await exists(() => jsm.streams.info(GIVEUPS_STREAM)))) {
    await jsm.streams
      .add({ name: GIVEUPS_STREAM, subjects: [MAX_DELIVERIES_ADVISORY], retention: RetentionPolicy.Limits, storage: StorageType.File, max_age: nanos(GIVEUPS_KEPT_MS) })
      .catch(async (error: unknown) => {
        if (!(await exists(() => jsm.streams.info(GIVEUPS_STREAM)))) throw error;
      });
  }
}

/** How long a give-up advisory is kept for a `--resume` to find. */
const GIVEUPS_KEPT_MS = 7 * 24 * 3600_000;

export interface WorkerConsumerOptions {
  ackWaitMs?: number;
  maxDeliver?: number;
}

/**
 * The one durable pull consumer all workers share. A worker started with `--ack-wait` /
 * `--max-deliver` sets them for every worker; one started without them keeps what is set.
 * Returns the settings in force.
 */
export async function ensureWorkerConsumer(jsm: JetStreamManager, o: WorkerConsumerOptions = {}): Promise<{ ackWaitMs: number; maxDeliver: number }> {
  const current = await jsm.consumers.info(TASKS_STREAM, WORKERS_CONSUMER).catch(() => undefined);
  if (!current) {
    const config = { ack_wait: nanos(o.ackWaitMs ?? DEFAULT_ACK_WAIT_MS), max_deliver: o.maxDeliver ?? DEFAULT_MAX_DELIVER };
    await jsm.consumers
      .add(TASKS_STREAM, { durable_name: WORKERS_CONSUMER, ack_policy: AckPolicy.Explicit, filter_subject: 'quorum.tasks.>', max_ack_pending: 10_000, ...config })
      .catch(async (error: unknown) => {
        if (!(await exists(() => jsm.consumers.info(TASKS_STREAM, WORKERS_CONSUMER)))) throw error;
      });
  } else {
    const changed = {
      ...(o.ackWaitMs !== undefined && nanos(o.ackWaitMs) !== current.config.ack_wait && { ack_wait: nanos(o.ackWaitMs) }),
      ...(o.maxDeliver !== undefined && o.maxDeliver !== current.config.max_deliver && { max_deliver: o.maxDeliver }),
    };
    if (Object.keys(changed).length === 0) return settingsOf(current.config);
    await jsm.consumers.update(TASKS_STREAM, WORKERS_CONSUMER, changed);
  }
  return workerConsumerSettings(jsm);
}

/**
 * The batch's own durable consumer of its results, made afresh by each submitting session: a
 * result acked is gone from the work-queue stream, so a new consumer delivers at once every result
 * still there, those an earlier submitter was sent but died before committing included (the old
 * consumer would hold them back until their ack wait ran out).
 */
export async function openCollector(jsm: JetStreamManager, batchId: string): Promise<string> {
  const name = collectorConsumer(batchId);
  await jsm.consumers.delete(RESULTS_STREAM, name).catch(() => undefined);
  await jsm.consumers
    .add(RESULTS_STREAM, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: batchResults(batchId),
      ack_wait: nanos(COLLECT_ACK_WAIT_MS),
      max_ack_pending: 1_000,
    })
    .catch(async (error: unknown) => {
      if (!(await exists(() => jsm.consumers.info(RESULTS_STREAM, name)))) throw error;
    });
  return name;
}

/** The worker consumer's settings in force, read back after a change. */
async function workerConsumerSettings(jsm: JetStreamManager): Promise<{ ackWaitMs: number; maxDeliver: number }> {
  return settingsOf((await jsm.consumers.info(TASKS_STREAM, WORKERS_CONSUMER)).config);
}

function settingsOf(config: { ack_wait?: number; max_deliver?: number }): { ackWaitMs: number; maxDeliver: number } {
  return { ackWaitMs: (config.ack_wait ?? nanos(DEFAULT_ACK_WAIT_MS)) / 1e6, maxDeliver: config.max_deliver ?? DEFAULT_MAX_DELIVER };
}

async function exists(info: () => Promise<unknown>): Promise<boolean> {
  try {
    await info();
    return true;
  } catch {
    return false;
  }
}
