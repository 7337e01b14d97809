import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { type BatchIdentity, type BatchLine, LOG_FILES, type RunLine } from '../runlog/lines.js';
import { readLog, scanLog } from '../runlog/readLog.js';
import type { Sink } from '../sinks/sink.js';

export interface BatchManifest {
  batchId: string;
  key: string;
  identity: BatchIdentity;
  startedAt: string;
}

export type BatchOutcome = Extract<BatchLine, { type: 'ended' }>['outcome'];

export function batchKey(identity: BatchIdentity): string {
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/**
 * A batch's place in the run log: its start and end lines in batches.jsonl, and its decided
 * chunks, which are the runs.jsonl lines that carry its batch id. There is no ledger of its own
 * (a run line is the one record that a chunk is decided), so a crash, SIGKILL or Ctrl-C loses at
 * most the runs in flight, and resuming redoes exactly the chunks with no run line.
 */
export class BatchLedger {
  private constructor(
    readonly manifest: BatchManifest,
    private readonly sink: Sink<BatchLine>,
    /** Chunks with a run line, and the run that decided each: the only state that must survive. */
    private readonly doneIds: Map<string, string>,
    readonly finished: boolean,
    private readonly resumed: boolean,
  ) {}

  /** A new batch; its start line is written by `start`, once the chunks are counted. */
  static create(sink: Sink<BatchLine>, batchId: string, identity: BatchIdentity, now = new Date()): BatchLedger {
    return new BatchLedger({ batchId, key: batchKey(identity), identity, startedAt: now.toISOString() }, sink, new Map(), false, false);
  }

  /**
   * The batch `--resume` would reopen: the one with id `batchId`, or else the latest batch of the
   * same command. Reads batches.jsonl only.
   * @throws UsageError when there is none, or `batchId` is unknown or belongs to another command.
   */
  static async find(out: string, identity: BatchIdentity, batchId?: string): Promise<{ manifest: BatchManifest; completed: boolean }> {
    const file = join(out, LOG_FILES.batches);
    if (batchId !== undefined) {
      const found = await batchById(out, batchId);
      if (!found) throw new UsageError(`No batch ${batchId} in ${file}; give a batch id from there, or plain --resume for the latest batch of this command`);
      if (found.manifest.key !== batchKey(identity)) {
        throw new UsageError(`Batch ${batchId} was started with another query, other inputs or options; resume it with the same command it was started with`);
      }
      return found;
    }
    const latest = await latestBatch(out, batchKey(identity));
    if (!latest) throw new UsageError(`Nothing to resume: no batch in ${file} was started with this query, these inputs and options; run it without --resume`);
    return latest;
  }

  /** Reopens batch `batchId` (else the latest batch of the same command), with the chunks its runs decided. */
  static async resume(out: string, sink: Sink<BatchLine>, identity: BatchIdentity, batchId?: string): Promise<BatchLedger> {
    const latest = await BatchLedger.find(out, identity, batchId);
    const done = new Map<string, string>();
    await scanLog<Pick<RunLine, 'batchId' | 'chunk' | 'runId'>>(
      join(out, LOG_FILES.runs),
      (run) => {
        if (run.batchId === latest.manifest.batchId && run.chunk && !done.has(run.chunk.id)) done.set(run.chunk.id, run.runId);
      },
      { contains: `"batchId":${JSON.stringify(latest.manifest.batchId)}` },
    );
    return new BatchLedger(latest.manifest, sink, done, latest.completed, true);
  }

  /** The unfinished batch with this key, if any: `quorum batch` without --resume mentions it. */
  static async unfinished(out: string, identity: BatchIdentity): Promise<BatchManifest | undefined> {
    const latest = await latestBatch(out, batchKey(identity));
    return latest && !latest.completed ? latest.manifest : undefined;
  }

  get doneCount(): number {
    return this.doneIds.size;
  }

  isDone(chunkId: string): boolean {
    return this.doneIds.has(chunkId);
  }

  /** Writes the batch's start (or resume) line. */
  start(chunks: number, now = new Date()): void {
    const { batchId, key, identity, startedAt } = this.manifest;
    this.sink.write({ type: 'started', batchId, key, identity, startedAt, at: now.toISOString(), resumed: this.resumed, chunks });
  }

  /** The run that decided the chunk, if one did. */
  decidedBy(chunkId: string): string | undefined {
    return this.doneIds.get(chunkId);
  }

  /** Counts a chunk as decided; its run line is the record. */
  markDone(chunkId: string, runId: string): void {
    if (!this.doneIds.has(chunkId)) this.doneIds.set(chunkId, runId);
  }

  end(outcome: BatchOutcome, chunks: number, message?: string, failed = 0, now = new Date()): void {
    this.sink.write({ type: 'ended', batchId: this.manifest.batchId, outcome, chunks, at: now.toISOString(), ...(message && { message }), ...(failed > 0 && { failed }) });
  }
}

/** The newest batch started with `key`, and whether it ended with every chunk decided. */
async function latestBatch(out: string, key: string): Promise<{ manifest: BatchManifest; completed: boolean } | undefined> {
  const { records } = await readLog<BatchLine>(join(out, LOG_FILES.batches));
  let latest: BatchManifest | undefined;
  const completed = new Set<string>();
  for (const line of records) {
    if (line.type === 'started' && line.key === key && (!latest || line.startedAt >= latest.startedAt)) {
      latest = { batchId: line.batchId, key: line.key, identity: line.identity, startedAt: line.startedAt };
    } else if (line.type === 'ended' && line.outcome === 'completed' && !line.failed) {
      completed.add(line.batchId);
    }
  }
  return latest && { manifest: latest, completed: completed.has(latest.batchId) };
}

/** The batch with this id, and whether it ended with every chunk decided. */
async function batchById(out: string, batchId: string): Promise<{ manifest: BatchManifest; completed: boolean } | undefined> {
  const { records } = await readLog<BatchLine>(join(out, LOG_FILES.batches));
  let manifest: BatchManifest | undefined;
  let completed = false;
  for (const line of records) {
    if (line.batchId !== batchId) continue;
    if (line.type === 'started') manifest ??= { batchId: line.batchId, key: line.key, identity: line.identity, startedAt: line.startedAt };
    else if (line.outcome === 'completed' && !line.failed) completed = true;
  }
  return manifest && { manifest, completed };
}
