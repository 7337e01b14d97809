/**
 * The one definition of what a chunk and a batch concluded, and of what a call is. The terminal
 * summary, summary.md, `quorum sql report_batches` (queries/views.sql `batch_chunks`) and the
 * HTML report all count with these rules, so they cannot disagree:
 *
 * - A chunk is **decided** once its run line is in runs.jsonl; redone after `--resume`, its latest
 *   run line counts. A decided chunk's verdict is `quorum_lost` when the quorum was lost,
 *   `no_claims` when no claim reached the quorum (whatever the status: a degraded run with no
 *   consensus claim has concluded nothing), else its status (`consensus` or `degraded`).
 * - A batch's chunks are those its latest start line counted; the ones without a run line are
 *   **undecided**: failed (the batch completed without them) or not reached yet (interrupted,
 *   stopped, still running or killed). `--resume` redoes exactly those.
 * - A **call** is one question or vote put to one panel port (one event: quorum.model.responded,
 *   quorum.model.failed or quorum.vote.cast), whatever its retries; **requests** count every
 *   attempt, retries included. The chair's call is in neither (it has no event). A batch's calls
 *   are those of every run of the batch, in every session, interrupted runs included: what was
 *   spent.
 */

/** How one decided chunk (or run) ended. */
export type ChunkVerdict = 'consensus' | 'degraded' | 'no_claims' | 'quorum_lost';

export const CHUNK_VERDICTS: readonly ChunkVerdict[] = ['consensus', 'degraded', 'no_claims', 'quorum_lost'];

/** The words each verdict reads as, in every view. */
export const VERDICT_WORDS: Record<ChunkVerdict, string> = {
  consensus: 'consensus',
  degraded: 'degraded (consensus with ports missing)',
  no_claims: 'no claim reached the quorum',
  quorum_lost: 'quorum lost',
};

export function chunkVerdict(status: string, consensusClaims: number): ChunkVerdict {
  if (status === 'quorum_lost') return 'quorum_lost';
  if (consensusClaims === 0) return 'no_claims';
  return status === 'degraded' ? 'degraded' : 'consensus';
}

/** A batch's chunks by verdict. */
export interface BatchCounts {
  /** Chunks the inputs hold (the batch's latest start line). */
  chunks: number;
  consensus: number;
  degraded: number;
  noClaims: number;
  quorumLost: number;
}

/**
 * How the batch's latest session ended: `running` when no end line follows its latest start (it is
 * running, or was killed).
 */
export type BatchEnd = 'completed' | 'interrupted' | 'stopped' | 'running';

export function decidedChunks(c: BatchCounts): number {
  return c.consensus + c.degraded + c.noClaims + c.quorumLost;
}

export function undecidedChunks(c: BatchCounts): number {
  return Math.max(0, c.chunks - decidedChunks(c));
}

export type Tone = 'ok' | 'warn' | 'bad' | 'neutral';

export interface Verdict {
  tone: Tone;
  /** One word or two, upper case. */
  status: 'CONSENSUS' | 'DEGRADED' | 'PARTIAL' | 'INCOMPLETE' | 'NO CHUNKS';
  headline: string;
  /** Every count in one sentence. */
  counts: string;
}

/**
 * What a batch concluded (or, with `unit: 'run'`, a set of runs where `chunks` is the number of
 * runs and undecided ones failed or never finished).
 */
export function batchVerdict(c: BatchCounts, o: { end: BatchEnd | null; unit?: 'chunk' | 'run' }): Verdict {
  const unit = o.unit ?? 'chunk';
  const plural = (n: number) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  const undecided = undecidedChunks(c);
  const why =
    unit === 'run' ? 'failed, interrupted or never finished' : o.end === 'completed' ? 'failed, with no result' : o.end === 'interrupted' ? 'not decided yet: the batch was interrupted' : o.end === 'stopped' ? 'not decided yet: the batch was stopped' : 'not decided yet: the batch is running, or was killed';
  const counts =
    `${plural(c.chunks)}: ${c.consensus} consensus, ${c.degraded} degraded, ${c.noClaims} with no claim at the quorum, ${c.quorumLost} quorum lost` +
    `${undecided ? `, ${undecided} ${unit === 'run' ? 'without a result' : 'undecided'}` : ''}.`;
  if (c.chunks === 0) return { tone: 'neutral', status: 'NO CHUNKS', headline: `No ${unit} recorded yet.`, counts };
  if (undecided > 0) {
    const resume = unit === 'chunk' ? '; --resume finishes them' : '';
    return { tone: 'bad', status: 'INCOMPLETE', headline: `${decidedChunks(c)} of ${plural(c.chunks)} decided; ${undecided} ${why}${resume}.`, counts };
  }
  const none = c.noClaims + c.quorumLost;
  if (none > 0) return { tone: 'bad', status: 'PARTIAL', headline: `${none} of ${plural(c.chunks)} reached no consensus; ${c.consensus + c.degraded} did.`, counts };
  if (c.degraded > 0) return { tone: 'warn', status: 'DEGRADED', headline: `Every ${unit} reached consensus, ${c.degraded} of them with ports missing.`, counts };
  return { tone: 'ok', status: 'CONSENSUS', headline: `Every ${unit} reached consensus with the whole panel answering.`, counts };
}

/** The calls a batch (or any set of runs) made, by the definition above. */
export interface CallTally {
  calls: number;
  failedCalls: number;
  /** Attempts, retries included. */
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Null when no provider reported a cost. */
  cost: number | null;
  /** Failed calls by model, then kind. */
  failuresByModel: Map<string, Map<string, number>>;
}

export const CALL_EVENTS = ['quorum.model.responded', 'quorum.model.failed', 'quorum.vote.cast'] as const;

export function emptyTally(): CallTally {
  return { calls: 0, failedCalls: 0, requests: 0, inputTokens: 0, outputTokens: 0, cost: null, failuresByModel: new Map() };
}

/** The part of a CloudEvent a tally reads. */
export interface CallEvent {
  type?: string;
  data?: { model?: string; ok?: boolean; kind?: string; attempts?: number; inputTokens?: number; outputTokens?: number; cost?: number };
}

/** Adds one event to the tally (events that are no call are passed over). */
export function tallyCall(t: CallTally, e: CallEvent): void {
  if (!(CALL_EVENTS as readonly string[]).includes(e.type ?? '')) return;
  const d = e.data ?? {};
  t.calls++;
  t.requests += d.attempts ?? 0;
  t.inputTokens += d.inputTokens ?? 0;
  t.outputTokens += d.outputTokens ?? 0;
  if (typeof d.cost === 'number') t.cost = (t.cost ?? 0) + d.cost;
  const ok = e.type === 'quorum.model.responded' || (e.type === 'quorum.vote.cast' && d.ok === true);
  if (ok) return;
  t.failedCalls++;
  const model = d.model ?? '?';
  const kinds = t.failuresByModel.get(model) ?? new Map<string, number>();
  const kind = d.kind ?? (e.type === 'quorum.vote.cast' ? 'malformed' : 'unknown');
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  t.failuresByModel.set(model, kinds);
}

/** A cost for people: none reported, or dollars with the digits that matter (never `0.000000`). */
export function costText(cost: number | null | undefined): string {
  if (cost === null || cost === undefined) return 'none reported';
  if (cost === 0) return '$0';
  return `$${cost < 0.01 ? Number(cost.toPrecision(3)).toString() : cost.toFixed(4).replace(/0+$/, '').replace(/\.$/, '')}`;
}
