import { type Consumer, type ConsumerMessages, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Observable } from 'rxjs';
import type { BatchLedger } from '../batch/ledger.js';
import type { Chunk } from '../batch/chunker.js';
import { ArtifactsError } from '../errors.js';
import { EVENT_TYPES, makeEvent, type QuorumEvent } from '../events.js';
import type { ChunkRun } from '../pipelines/batch.js';
import { eventBusSink } from '../queue/eventBus.js';
import { type DecidedResult, decodeResult, decodeTask, encodeTask, MESSAGE_VERSION, type TaskMessage } from '../queue/messages.js';
import { GIVEUPS_STREAM, RESULTS_STREAM, TASKS_STREAM, batchTasks, collectorConsumer, taskSubject } from '../queue/names.js';
import { ensureStreams, openCollector } from '../queue/streams.js';
import type { Sink } from '../sinks/sink.js';
import type { RunSinks } from './runSinks.js';

export interface QueuedBatchOptions {
  /** Connected before anything was written, so a wrong --queue fails with nothing to undo. */
  nc: NatsConnection;
  batchId: string;
  ledger: BatchLedger;
  sinks: RunSinks;
  /** What every task carries besides its chunk. */
  task: Omit<TaskMessage, 'v' | 'batchId' | 'chunk'>;
  /** Render runs/<id>/ views of each committed run (`--run-files`). */
  runFiles: boolean;
  /** One line for the user (a result that could not be read, a task given up). */
  onWarning?: (line: string) => void;
}

/** The server's max-deliveries advisory: which task (its stream sequence), after how many deliveries. */
interface GiveUpAdvisory {
  stream_seq: number;
  deliveries: number;
}

/** What happened to a chunk whose result came before the batch pipeline asked for it (a resumed batch). */
type Arrived = { run: ChunkRun } | { error: Error };

/**
 * The submitter's side of `batch --queue`: publishes one task per chunk and collects the results
 * into the run log. The collector is the only writer of the folder, so a chunk is decided
 * exactly once: the first result committed for it stands, a later one (a redelivered task that
 * a second worker also decided) is recorded as `quorum.run.superseded` and dropped. A result is
 * acked only after its lines are committed, so a submitter killed at any point loses nothing:
 * `--resume` collects what is still in the stream.
 */
export class QueuedBatch {
  private readonly waiting = new Map<string, { next: (run: ChunkRun) => void; error: (e: Error) => void }>();
  private readonly arrived = new Map<string, Arrived>();
  /** Chunks whose task is still on the queue from an earlier session: not published again. */
  private pending = new Set<string>();
  /** Chunks whose result is written but not yet committed: neither reported done nor published again. */
  private readonly committing = new Set<string>();
  private stopped = false;
  /** Committing the results that waited for a resumed batch, before any task is published. */
  private catchingUp = false;
  private loop: Promise<void> | undefined;
  private giveUps: ConsumerMessages | undefined;
  private fatal: Error | undefined;
  private readonly session = Date.now().toString(36);
  /** The bus, for the batch's own events (the workers publish their runs'). */
  readonly bus: Sink<QuorumEvent>;
  superseded = 0;

  private constructor(
    private readonly o: QueuedBatchOptions,
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly consumer: Consumer,
  ) {
    this.bus = eventBusSink(nc);
  }

  static async open(o: QueuedBatchOptions): Promise<QueuedBatch> {
    const jsm = await jetstreamManager(o.nc);
    await ensureStreams(jsm);
    const name = await openCollector(jsm, o.batchId);
    const consumer = await jetstream(o.nc).consumers.get(RESULTS_STREAM, name);
    const batch = new QueuedBatch(o, o.nc, jsm, consumer);
    await batch.catchUp();
    return batch;
  }

  /**
   * A resumed batch first commits every result already waiting, then notes the tasks still on
   * the queue, so that only chunks with neither are published again.
   */
  private async catchUp(): Promise<void> {
    this.catchingUp = true;
    for (;;) {
      const info = await this.consumer.info();
      if (info.num_pending === 0) break;
      await this.collectOnce(1_000);
    }
    const seenGiveUps = await this.sweepGiveUps();
    const stream = await this.jsm.streams.info(TASKS_STREAM, { subjects_filter: batchTasks(this.o.batchId) });
    this.pending = new Set(Object.keys(stream.state.subjects ?? {}).map((subject) => subject.slice(subject.lastIndexOf('.') + 1)));
    this.catchingUp = false;
    this.loop = this.collect();
    void this.watchGiveUps(seenGiveUps).catch(() => undefined);
  }

  /** True for a chunk the pipeline need not ask for: decided, and reported already. */
  isDone(chunkId: string): boolean {
    return this.o.ledger.isDone(chunkId) && !this.arrived.has(chunkId) && !this.committing.has(chunkId);
  }

  /** One chunk: its task published (unless still queued from before), then its result awaited. */
  ask(chunk: Chunk): Observable<ChunkRun> {
    return new Observable<ChunkRun>((subscriber) => {
      if (this.fatal) {
        subscriber.error(this.fatal);
        return undefined;
      }
      const early = this.arrived.get(chunk.id);
      if (early) {
        this.arrived.delete(chunk.id);
        if ('run' in early) {
          subscriber.next(early.run);
          subscriber.complete();
        } else subscriber.error(early.error);
        return undefined;
      }
      this.waiting.set(chunk.id, {
        next: (run) => {
          subscriber.next(run);
          subscriber.complete();
        },
        error: (e) => subscriber.error(e),
      });
      if (!this.pending.delete(chunk.id) && !this.committing.has(chunk.id)) {
        this.publish(chunk).catch((error: unknown) => {
          this.waiting.delete(chunk.id);
          subscriber.error(error);
        });
      }
      // Unsubscribing (Ctrl-C) leaves the task on the queue: workers go on, --resume collects it.
      return () => this.waiting.delete(chunk.id);
    });
  }

  private async publish(chunk: Chunk): Promise<void> {
    const task: TaskMessage = {
      v: MESSAGE_VERSION,
      batchId: this.o.batchId,
      chunk: { id: chunk.id, source: chunk.source, index: chunk.index, text: chunk.text, ...(chunk.heading && { heading: chunk.heading }) },
      ...this.o.task,
    };
    const data = encodeTask(task);
    // The server drops a second copy with the same id (a publish retried after a lost ack); the
    // session part lets a later --resume publish again a task that was given up.
    const msgID = `${this.o.batchId}.${chunk.id}.${this.session}`;
    for (let attempt = 1; ; attempt++) {
      try {
        await jetstream(this.nc).publish(taskSubject(this.o.batchId, chunk.id), data, { msgID, timeout: 5_000 });
        return;
      } catch (error) {
        if (this.stopped) throw error;
        if (/max.?payload/i.test((error as Error).message)) throw new Error(`chunk ${chunk.id} of ${chunk.source} (${data.byteLength} bytes as a task) exceeds the NATS server's max_payload; use smaller --chunk-tokens`, { cause: error });
        await pause(Math.min(2_000, 100 * attempt));
      }
    }
  }

  private async collect(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.collectOnce(1_000);
      } catch (error) {
        if (error instanceof ArtifactsError) {
          this.fail(error);
          return;
        }
        // The server is restarting: the client reconnects; fetch again shortly.
        if (!this.stopped) await pause(300);
      }
    }
  }

  /** One fetch: every result in it written, the lines committed once, then each acked. */
  private async collectOnce(expires: number): Promise<void> {
    const messages = await this.consumer.fetch({ max_messages: 256, expires });
    const batch: { msg: JsMsg; settle?: () => void }[] = [];
    let broken: unknown;
    try {
      for await (const msg of messages) batch.push({ msg, settle: this.write(msg) });
    } catch (error) {
      // The server went away mid-fetch: what was written is committed and settled all the same;
      // a redelivered copy is then known by its run id and only acked.
      broken = error;
    }
    await this.commitAndAck(batch);
    if (broken) throw broken;
  }

  private async commitAndAck(batch: { msg: JsMsg; settle?: () => void }[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.o.sinks.writer.commit();
    } catch (error) {
      // Not acked: the results stay in the stream for --resume once there is space.
      throw new ArtifactsError(`Could not write the run log in ${this.o.sinks.out} (is the disk full?); stopped collecting: ${(error as Error).message}`, { cause: error });
    }
    for (const { msg, settle } of batch) {
      settle?.();
      msg.ack();
    }
  }

  /** Writes one result's lines (not yet committed); returns what to tell the pipeline once they are. */
  private write(msg: JsMsg): (() => void) | undefined {
    const result = decodeResult(msg.data, msg.headers);
    if (result instanceof Error) {
      this.o.onWarning?.(`A result on ${msg.subject} was dropped: ${result.message}`);
      return undefined;
    }
    if (result.batchId !== this.o.batchId) return undefined;
    const { ledger, sinks } = this.o;
    const chunkId = result.chunkId;
    if (result.kind === 'failed') {
      // A give-up from before this --resume is what the resume is for: the chunk is published again.
      if (ledger.isDone(chunkId) || this.catchingUp) return undefined;
      const error = new Error(`given up after ${result.deliveries} deliveries (last on ${result.worker}): ${result.message}`);
      return () => this.settle(chunkId, { error });
    }
    const kept = ledger.decidedBy(chunkId);
    if (kept === result.runId) return undefined; // committed before a restart, acked only now
    if (kept) {
      this.superseded++;
      const event = makeEvent(EVENT_TYPES.runSuperseded, { keptRunId: kept, worker: result.worker, status: result.lines.run.status }, { runId: result.runId, batchId: result.batchId, chunkId }) as QuorumEvent;
      sinks.events.write(event);
      this.bus.write(event);
      return undefined;
    }
    this.commitRun(result);
    ledger.markDone(chunkId, result.runId);
    this.committing.add(chunkId);
    return () => this.settle(chunkId, { run: { doc: result.lines.run, usage: result.usage } });
  }

  /** The run's lines in the order a local run writes them; the run line last: it is the decision. */
  private commitRun(result: DecidedResult): void {
    const { sinks } = this.o;
    const { writer } = sinks;
    for (const line of result.lines.answers) writer.write('answers', line);
    for (const line of result.lines.events) writer.write('events', line);
    for (const line of result.lines.spans) writer.write('spans', line);
    for (const line of result.lines.blackboard) writer.write('blackboard', line);
    writer.write('runs', result.lines.run);
    if (this.o.runFiles) sinks.renderViews(result.lines.run, result.lines.answers);
  }

  private settle(chunkId: string, outcome: Arrived): void {
    this.committing.delete(chunkId);
    const waiter = this.waiting.get(chunkId);
    if (!waiter) {
      this.arrived.set(chunkId, outcome);
      return;
    }
    this.waiting.delete(chunkId);
    if ('run' in outcome) waiter.next(outcome.run);
    else waiter.error(outcome.error);
  }

  private fail(error: Error): void {
    this.fatal = error;
    for (const [chunkId, waiter] of this.waiting) {
      this.waiting.delete(chunkId);
      waiter.error(error);
    }
  }

  /**
   * A task whose worker died on its last delivery is given up by the server (no result comes):
   * its advisory, kept in a stream, names it. Those from before this session (a resume) only
   * take the dead task off the queue, so the chunk is published again; later ones report the
   * chunk failed (resumable).
   */
  private async sweepGiveUps(): Promise<number> {
    const { state } = await this.jsm.streams.info(GIVEUPS_STREAM);
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      const stored = await this.jsm.streams.getMessage(GIVEUPS_STREAM, { seq }).catch(() => null);
      if (stored) await this.giveUp(stored.json<GiveUpAdvisory>(), true);
    }
    return state.last_seq;
  }

  private async watchGiveUps(after: number): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(GIVEUPS_STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 });
    const messages = await consumer.consume();
    this.giveUps = messages;
    for await (const m of messages) {
      if (this.stopped) break;
      await this.giveUp(m.json<GiveUpAdvisory>(), false);
    }
  }

  private async giveUp(advisory: GiveUpAdvisory, resuming: boolean): Promise<void> {
    try {
      const stored = await this.jsm.streams.getMessage(TASKS_STREAM, { seq: advisory.stream_seq });
      if (!stored) return;
      const task = decodeTask(stored.data);
      if (task instanceof Error || task.batchId !== this.o.batchId) return;
      await this.jsm.streams.deleteMessage(TASKS_STREAM, advisory.stream_seq);
      if (resuming || this.o.ledger.isDone(task.chunk.id)) return;
      this.o.onWarning?.(`Chunk ${task.chunk.id} of ${task.chunk.source} was given up after ${advisory.deliveries} deliveries: no worker finished it`);
      this.settle(task.chunk.id, { error: new Error(`given up after ${advisory.deliveries} deliveries: no worker finished it (workers died or lost their connection)`) });
    } catch {
      // An advisory about a message already gone: nothing to do.
    }
  }

  /**
   * Stops collecting. A completed batch's collector consumer is deleted (its results are all
   * committed); an interrupted one keeps it, so --resume continues from it.
   */
  async stop(completed: boolean): Promise<void> {
    this.stopped = true;
    await this.giveUps?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    if (completed) await this.jsm.consumers.delete(RESULTS_STREAM, collectorConsumer(this.o.batchId)).catch(() => undefined);
    await this.bus.flush();
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolvePause) => setTimeout(resolvePause, ms));
}
