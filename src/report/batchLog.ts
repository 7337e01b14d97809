/**
 * What one batch concluded, read from the run log alone: runs.jsonl (its decided chunks, their
 * claims), batches.jsonl (its chunks and how its latest session ended) and cloudevents.jsonl (its
 * calls). The terminal summary and summary.md are rendered from this, with the counting rules of
 * ./outcome.ts, so they say what `quorum report --batch` and `quorum sql report_batches` say.
 *
 * Each log is streamed and only lines naming the batch are parsed. Per chunk it keeps the
 * consensus claims' text and support and little else: about 1 KB a chunk, 10 MB at 10,000 chunks.
 */
import { join } from 'node:path';
import { type BatchLine, LOG_FILES, type RunLine } from '../runlog/lines.js';
import { readLog, scanLog } from '../runlog/readLog.js';
import type { FailureKind } from '../types.js';
import { type BatchCounts, type BatchEnd, type CallEvent, type CallTally, type ChunkVerdict, chunkVerdict, emptyTally, tallyCall } from './outcome.js';

export interface ChunkConclusion {
  source: string;
  chunkId: string;
  runId: string;
  status: string;
  verdict: ChunkVerdict;
  claims: { text: string; support: number }[];
  dissent: number;
  failures: { port: number; model: string; kind: FailureKind; round?: 2 }[];
  panel: number;
  required: number;
  responders: number;
  synthesis?: { model: string; text: string } | { model: string; error: string };
  startedAt: string;
  finishedAt: string;
}

export interface BatchSummary {
  batchId: string;
  query: string;
  /** The inputs, in the order the batch read them. */
  files: string[];
  /** Every run of the batch ran against simulated models. */
  sandbox: boolean;
  counts: BatchCounts;
  end: BatchEnd;
  /** The latest end line's message (why it stopped). */
  message?: string;
  /** Sessions: the first start and each resume. */
  sessions: number;
  calls: CallTally;
  /** Decided chunks, grouped by file in input order, each file's chunks in the order they started. */
  chunks: ChunkConclusion[];
}

/** Reads batch `batchId` from the logs in `out`; undefined when batches.jsonl has no start line for it. */
export async function readBatchSummary(out: string, batchId: string): Promise<BatchSummary | undefined> {
  const { records } = await readLog<BatchLine>(join(out, LOG_FILES.batches), { contains: JSON.stringify(batchId) });
  const lines = records.filter((l) => l.batchId === batchId);
  const starts = lines.filter((l): l is Extract<BatchLine, { type: 'started' }> => l.type === 'started');
  if (starts.length === 0) return undefined;
  const latest = starts.reduce((a, b) => (b.at >= a.at ? b : a));
  const ended = lines.filter((l): l is Extract<BatchLine, { type: 'ended' }> => l.type === 'ended' && l.at >= latest.at).at(-1);

  const byChunk = new Map<string, ChunkConclusion>();
  let sandbox = true;
  await scanLog<RunLine>(
    join(out, LOG_FILES.runs),
    (run) => {
      if (run.batchId !== batchId || !run.chunk) return;
      const seen = byChunk.get(run.chunk.id);
      // A chunk decided twice (never expected) counts with its latest run, as the SQL view does.
      if (seen && seen.finishedAt > run.finishedAt) return;
      sandbox &&= run.sandbox === true;
      byChunk.set(run.chunk.id, conclusion(run));
    },
    { contains: `"batchId":${JSON.stringify(batchId)}` },
  );

  const calls = emptyTally();
  await scanLog<CallEvent & { batchid?: string }>(join(out, LOG_FILES.events), (e) => e.batchid === batchId && tallyCall(calls, e), { contains: `"batchid":${JSON.stringify(batchId)}` });

  const chunks = [...byChunk.values()];
  const counts: BatchCounts = { chunks: latest.chunks, consensus: 0, degraded: 0, noClaims: 0, quorumLost: 0 };
  for (const c of chunks) {
    if (c.verdict === 'no_claims') counts.noClaims++;
    else if (c.verdict === 'quorum_lost') counts.quorumLost++;
    else counts[c.verdict]++;
  }
  const files = latest.identity.files;
  const order = new Map(files.map((f, i) => [f, i]));
  chunks.sort((a, b) => (order.get(a.source) ?? files.length) - (order.get(b.source) ?? files.length) || a.source.localeCompare(b.source) || a.startedAt.localeCompare(b.startedAt) || a.chunkId.localeCompare(b.chunkId));
  return {
    batchId,
    query: latest.identity.query,
    files,
    sandbox: sandbox && chunks.length > 0,
    counts,
    end: ended?.outcome ?? 'running',
    ...(ended?.message && { message: ended.message }),
    sessions: starts.length,
    calls,
    chunks,
  };
}

function conclusion(run: RunLine): ChunkConclusion {
  return {
    source: run.chunk!.source,
    chunkId: run.chunk!.id,
    runId: run.runId,
    status: run.status,
    verdict: chunkVerdict(run.status, run.claims.length),
    claims: run.claims.map((c) => ({ text: c.text, support: c.support })),
    dissent: run.dissent.length,
    failures: run.failures.map((f) => ({ port: f.port, model: f.model, kind: f.kind, ...(f.round === 2 && { round: 2 as const }) })),
    panel: run.quorum.panel,
    required: run.quorum.required,
    responders: run.quorum.responders,
    ...(run.synthesis && { synthesis: run.synthesis }),
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}
