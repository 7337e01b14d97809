import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Candidate } from '../claims/candidates.js';
import { UsageError } from '../errors.js';
import type { QuorumEvent, RunStartedData } from '../events.js';
import { legacyFolderMessage } from './legacy.js';
import { type AnswerLine, LOG_FILES, type RunLine } from './lines.js';
import { answersOf, findRunLine, readLog } from './readLog.js';
import { knownRunIds } from './runIds.js';
import type { ConsensusDocument, FailureRecord, ModelFailure, ModelOutcome, ModelSuccess, Panel } from '../types.js';

/** What a decided (or interrupted) run left in the logs, enough to gather it again without a model call. */
export interface RecordedRun {
  runId: string;
  query: string;
  panel: Panel;
  /** q as the run was configured. */
  quorum: number;
  rounds: 1 | 2;
  chunk: ConsensusDocument['chunk'];
  /** Round 1: one outcome per port (recorded answers; failures as recorded, or `cancelled`). */
  outcomes: ModelOutcome[];
  /** Round 2, when it ran: the pool and each voter's recorded outcome. */
  candidates?: Candidate[];
  votes: Map<number, ModelOutcome>;
  /** The run's answer lines as committed (both rounds), for a replay to record under its own run id. */
  answers: AnswerLine[];
  /** The run line; absent for a run interrupted before it was decided. */
  line?: RunLine;
}

/** Run ids are file-name safe (`20261126T041409Z-3f9a1c`); anything else is a typo or worse. */
const RUN_ID = /^[\w.-]+$/;

/**
 * Loads run `runId` from the run log in `out`: its run line, its answers, and for a run
 * interrupted before its line was committed, its events. An unknown id names the ids nearby; a
 * 0.1 folder says to migrate it.
 */
export async function loadRecordedRun(out: string, runId: string): Promise<RecordedRun> {
  const legacy = legacyFolderMessage(out);
  if (legacy !== undefined) throw new UsageError(legacy);
  if (!RUN_ID.test(runId)) throw await unknownRunError(out, runId);
  const [line, answers] = await Promise.all([findRunLine(out, runId), answersOf(out, runId)]);
  // The events are only needed when no run line says what happened.
  const events = line ? [] : await eventsOf(out, runId);
  const started = events.find((e) => e.type === 'quorum.run.started')?.data as RunStartedData | undefined;
  if (!line && !started && answers.length === 0) throw await unknownRunError(out, runId);

  const size = line?.quorum.panel ?? started?.panel.size ?? Math.max(-1, ...answers.map((a) => a.port)) + 1;
  if (size < 1) throw new UsageError(`Run ${runId} has no recorded answers and no consensus to replay: it was interrupted before any port answered; ask again`);
  const seats = seatsOf(size, line, started, answers);
  const panel: Panel = {
    source: `replay of ${runId}`,
    baseURL: 'http://replay.invalid',
    apiKeyEnv: 'QUORUM_REPLAY',
    timeoutMs: 1,
    members: seats.map(({ port, model, family }) => ({ port, model, family, baseURL: 'http://replay.invalid', apiKeyEnv: 'QUORUM_REPLAY', timeoutMs: 1 })),
  };

  // Later lines win, should a port's answer ever be committed twice.
  const replies = { 1: new Map<number, AnswerLine>(), 2: new Map<number, AnswerLine>() };
  for (const a of answers) replies[a.round === 2 ? 2 : 1].set(a.port, a);
  const recordedFailures = line ? failuresOfLine(line) : failuresOfEvents(events);
  const outcomes = panel.members.map((m): ModelOutcome => {
    const answer = replies[1].get(m.port);
    return answer ? success(answer) : failure(m, recordedFailures.get(`1:${m.port}`));
  });
  const candidates = line?.pool;
  const votes = new Map<number, ModelOutcome>();
  if (candidates) {
    for (const m of panel.members) {
      const vote = replies[2].get(m.port);
      votes.set(m.port, vote ? success(vote) : failure(m, recordedFailures.get(`2:${m.port}`)));
    }
  }
  return {
    runId,
    query: line?.query ?? started?.query ?? '',
    panel,
    quorum: line?.quorum.configured ?? started?.quorum.configured ?? Math.ceil(0.75 * size),
    rounds: candidates ? 2 : 1,
    chunk: line ? line.chunk : chunkOfEvents(events, started),
    outcomes,
    ...(candidates && { candidates }),
    votes,
    answers,
    ...(line && { line }),
  };
}

/** Who sat at each port: the run line's record, else the run's start event, else what answers and failures name. */
function seatsOf(size: number, line: RunLine | undefined, started: RunStartedData | undefined, answers: readonly AnswerLine[]) {
  const seat = new Map<number, { model: string; family: string }>();
  for (const m of line?.models ?? started?.panel.members ?? []) seat.set(m.port, m);
  for (const a of answers) if (!seat.has(a.port)) seat.set(a.port, a);
  for (const f of line?.failures ?? []) if (!seat.has(f.port)) seat.set(f.port, { model: f.model, family: f.model.split('/')[0]! });
  return Array.from({ length: size }, (_, port) => ({ port, model: seat.get(port)?.model ?? 'unknown', family: seat.get(port)?.family ?? 'unknown' }));
}

function success(a: AnswerLine): ModelSuccess {
  return {
    ok: true,
    port: a.port,
    model: a.model,
    family: a.family,
    latencyMs: a.latencyMs,
    attempts: a.attempts,
    usage: a.usage ?? {},
    text: a.text,
    ...(a.finishReason && { finishReason: a.finishReason }),
    ...(a.responseId && { responseId: a.responseId }),
  };
}

function failure(m: { port: number; model: string; family: string }, recorded: FailureRecord | undefined): ModelFailure {
  return {
    ok: false,
    port: m.port,
    model: m.model,
    family: m.family,
    kind: recorded?.kind ?? 'cancelled',
    message: recorded?.message ?? 'no answer was recorded for this port',
    attempts: recorded?.attempts ?? 1,
    latencyMs: 0,
  };
}

/** Failures by `round:port`, as the run line records them. */
function failuresOfLine(line: RunLine): Map<string, FailureRecord> {
  return new Map(line.failures.map((f) => [`${f.round ?? 1}:${f.port}`, f]));
}

/** Failures by `round:port` of an interrupted run, from its model.failed and failed vote.cast events. */
function failuresOfEvents(events: readonly QuorumEvent[]): Map<string, FailureRecord> {
  const map = new Map<string, FailureRecord>();
  for (const e of events) {
    if (e.type === 'quorum.model.failed') {
      map.set(`1:${e.data.port}`, { port: e.data.port, model: e.data.model, kind: e.data.kind, attempts: e.data.attempts, message: e.data.message });
    } else if (e.type === 'quorum.vote.cast' && !e.data.ok && e.data.kind) {
      map.set(`2:${e.data.port}`, { port: e.data.port, model: e.data.model, kind: e.data.kind, attempts: e.data.attempts, round: 2, ...(e.data.message !== undefined && { message: e.data.message }) });
    }
  }
  return map;
}

/** An interrupted batch run's chunk, from its events (the run line records it for a decided run). */
function chunkOfEvents(events: readonly QuorumEvent[], started: RunStartedData | undefined): ConsensusDocument['chunk'] {
  const chunkId = events.find((e) => e.chunkid)?.chunkid;
  return chunkId && started?.context ? { source: started.context.source, id: chunkId } : null;
}

/** The run's own events (empty when the log is gone); a text test passes over every other run's lines unparsed. */
async function eventsOf(out: string, runId: string): Promise<QuorumEvent[]> {
  const { records } = await readLog<QuorumEvent>(join(out, LOG_FILES.events), { contains: `"runid":${JSON.stringify(runId)}` });
  return records.filter((e) => e.runid === runId);
}

/** "Unknown run id", naming the decided and interrupted runs whose ids are nearest. */
export async function unknownRunError(out: string, runId: string): Promise<UsageError> {
  const { decided, undecided } = existsSync(out) ? await knownRunIds(out) : { decided: [], undecided: [] };
  const known = [...decided, ...undecided];
  if (known.length === 0) return new UsageError(`Unknown run id ${runId}: ${out} holds no runs; check --out`);
  const near = nearby(runId, known);
  const latest = [...known].sort().slice(-3);
  return new UsageError(`Unknown run id ${runId} in ${out}; ${near.length ? `nearby: ${near.join(', ')}` : `${known.length} runs exist, the latest: ${latest.join(', ')}`}`);
}

/** Up to five known ids closest to `id`: shared prefix first, then edit distance. */
export function nearby(id: string, known: readonly string[]): string[] {
  const prefix = (a: string) => {
    let i = 0;
    while (i < a.length && i < id.length && a[i] === id[i]) i++;
    return i;
  };
  return known
    .map((k) => ({ k, p: prefix(k), d: editDistance(k, id) }))
    .filter(({ p, d }) => p >= 4 || d <= Math.max(3, id.length / 3))
    .sort((a, b) => b.p - a.p || a.d - b.d || (a.k < b.k ? -1 : 1))
    .slice(0, 5)
    .map(({ k }) => k);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
