import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { JsonlSink } from '../sinks/jsonlSink.js';
import { readJsonl } from '../sinks/readJsonl.js';
import { writeJsonAtomicSync } from '../sinks/writeJsonAtomic.js';

/** What makes two batch commands "the same command" for `--resume`. */
export interface BatchIdentity {
  query: string;
  files: string[];
  chunkTokens: number;
  overlapTokens: number;
  panel: { port: number; model: string }[];
  quorum: number;
  rounds: number;
}

export interface BatchManifest {
  batchId: string;
  key: string;
  identity: BatchIdentity;
  startedAt: string;
}

export type LedgerLine =
  | { type: 'started'; chunkId: string; runId: string; source: string; index: number }
  | { type: 'done'; chunkId: string; runId: string; status: string }
  | { type: 'completed'; chunks: number; at: string };

export function batchKey(identity: BatchIdentity): string {
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/**
 * A batch's record of which chunk runs started and which reached a consensus, appended line by
 * line (`batches/<id>/ledger.jsonl`), so a crash, SIGKILL or Ctrl-C loses at most the runs in
 * flight. Resuming skips decided chunks and redoes half-done ones: exactly one consensus each.
 */
export class BatchLedger {
  readonly dir: string;
  private readonly sink: JsonlSink<LedgerLine>;
  /** Chunks with a consensus: the only state that must survive, kept as ids (16 hex each). */
  private readonly doneIds: Set<string>;

  private constructor(
    readonly manifest: BatchManifest,
    out: string,
    done: Set<string>,
    readonly finished: boolean,
  ) {
    this.dir = join(out, 'batches', manifest.batchId);
    this.sink = new JsonlSink<LedgerLine>(join(this.dir, 'ledger.jsonl'));
    this.doneIds = done;
  }

  /** Starts a new batch record. */
  static create(out: string, batchId: string, identity: BatchIdentity, now = new Date()): BatchLedger {
    const manifest: BatchManifest = { batchId, key: batchKey(identity), identity, startedAt: now.toISOString() };
    writeJsonAtomicSync(join(out, 'batches', batchId, 'batch.json'), manifest);
    return new BatchLedger(manifest, out, new Set(), false);
  }

  /**
   * Reopens the latest batch of the same command. A run that started but left no ledger `done`
   * line counts as done when its consensus.json exists (the crash came between the two writes).
   */
  static async resume(out: string, identity: BatchIdentity): Promise<BatchLedger> {
    const latest = latestBatch(out, batchKey(identity));
    if (!latest) {
      throw new UsageError(`Nothing to resume: no batch in ${join(out, 'batches')} was started with this query, these inputs and options; run it without --resume`);
    }
    const ledgerPath = join(out, 'batches', latest.batchId, 'ledger.jsonl');
    const lines = existsSync(ledgerPath) ? (await readJsonl<LedgerLine>(ledgerPath)).records : [];
    const done = new Set<string>();
    const started = new Map<string, string[]>();
    let finished = false;
    for (const line of lines) {
      if (line.type === 'done') done.add(line.chunkId);
      else if (line.type === 'started') started.set(line.chunkId, [...(started.get(line.chunkId) ?? []), line.runId]);
      else if (line.type === 'completed') finished = true;
    }
    const ledger = new BatchLedger(latest, out, done, finished);
    for (const [chunkId, runIds] of started) {
      if (done.has(chunkId)) continue;
      const decided = runIds.find((runId) => existsSync(join(out, 'runs', runId, 'consensus.json')));
      if (decided) ledger.markDone(chunkId, decided, readStatus(join(out, 'runs', decided, 'consensus.json')));
    }
    return ledger;
  }

  /** The unfinished batch with this key, if any: `quorum batch` without --resume mentions it. */
  static unfinished(out: string, identity: BatchIdentity): BatchManifest | undefined {
    const latest = latestBatch(out, batchKey(identity));
    if (!latest) return undefined;
    const ledgerPath = join(out, 'batches', latest.batchId, 'ledger.jsonl');
    const text = existsSync(ledgerPath) ? readFileSync(ledgerPath, 'utf8') : '';
    return text.includes('"type":"completed"') ? undefined : latest;
  }

  get doneCount(): number {
    return this.doneIds.size;
  }

  isDone(chunkId: string): boolean {
    return this.doneIds.has(chunkId);
  }

  started(chunkId: string, runId: string, source: string, index: number): void {
    this.sink.write({ type: 'started', chunkId, runId, source, index });
  }

  markDone(chunkId: string, runId: string, status: string): void {
    this.doneIds.add(chunkId);
    this.sink.write({ type: 'done', chunkId, runId, status });
  }

  complete(chunks: number, now = new Date()): void {
    this.sink.write({ type: 'completed', chunks, at: now.toISOString() });
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}

function latestBatch(out: string, key: string): BatchManifest | undefined {
  const dir = join(out, 'batches');
  if (!existsSync(dir)) return undefined;
  let latest: BatchManifest | undefined;
  for (const id of readdirSync(dir)) {
    const path = join(dir, id, 'batch.json');
    if (!existsSync(path)) continue;
    try {
      const manifest = JSON.parse(readFileSync(path, 'utf8')) as BatchManifest;
      if (manifest.key === key && (!latest || manifest.startedAt > latest.startedAt)) latest = manifest;
    } catch {
      // A manifest is written atomically; an unreadable one is not ours to judge: skip it.
    }
  }
  return latest;
}

function readStatus(path: string): string {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { status?: string }).status ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
