import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Candidate } from '../claims/candidates.js';
import { UsageError } from '../errors.js';
import type { QuorumEvent, RunStartedData } from '../events.js';
import { readJsonl } from '../sinks/readJsonl.js';
import type { ConsensusDocument, FailureRecord, ModelFailure, ModelOutcome, ModelSuccess, Panel } from '../types.js';

/** What a finished (or interrupted) run left on disk, enough to gather it again without a model call. */
export interface RecordedRun {
  runId: string;
  runDir: string;
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
}

interface ResponseFile {
  port: number;
  model: string;
  family: string;
  latencyMs: number;
  attempts: number;
  usage: ModelSuccess['usage'];
  finishReason: string | null;
  responseId: string | null;
  text: string;
}

/** Loads run `runId` from the artifacts folder `out`; an unknown id names the ids nearby. */
export async function loadRecordedRun(out: string, runId: string): Promise<RecordedRun> {
  const runsDir = join(out, 'runs');
  const runDir = join(runsDir, runId);
  if (!/^[\w.-]+$/.test(runId) || !existsSync(runDir) || !statSync(runDir).isDirectory()) {
    const known = existsSync(runsDir) ? readdirSync(runsDir) : [];
    const near = nearby(runId, known);
    throw new UsageError(
      known.length === 0
        ? `Unknown run id ${runId}: ${runsDir} holds no runs; check --out`
        : `Unknown run id ${runId} in ${runsDir}; ${near.length ? `nearby: ${near.join(', ')}` : `${known.length} runs exist, e.g. ${known.slice(-3).join(', ')}`}`,
    );
  }
  const consensus = readJson<ConsensusDocument>(join(runDir, 'consensus.json'));
  const events = await eventsOf(out, runId);
  const started = events.find((x) => x.type === 'quorum.run.started')?.data as RunStartedData | undefined;
  const responses = readDir<ResponseFile>(join(runDir, 'responses'));
  const votes = readDir<ResponseFile>(join(runDir, 'votes'));
  const candidates = readJson<Candidate[]>(join(runDir, 'candidates.json'));

  const size = consensus?.quorum.panel ?? started?.panel.size ?? Math.max(-1, ...responses.map((r) => r.port)) + 1;
  if (size < 1) throw new UsageError(`Run ${runId} has no recorded answers and no consensus to replay (${runDir} is empty)`);
  const modelOf = new Map<number, { model: string; family: string }>();
  for (const m of started?.panel.members ?? []) modelOf.set(m.port, m);
  for (const r of [...responses, ...votes]) modelOf.set(r.port, { model: r.model, family: r.family });
  for (const f of consensus?.failures ?? []) if (!modelOf.has(f.port)) modelOf.set(f.port, { model: f.model, family: f.model.split('/')[0]! });
  const panel: Panel = {
    source: `replay of ${runId}`,
    baseURL: 'http://replay.invalid',
    apiKeyEnv: 'QUORUM_REPLAY',
    timeoutMs: 1,
    members: Array.from({ length: size }, (_, port) => ({
      port,
      model: modelOf.get(port)?.model ?? 'unknown',
      family: modelOf.get(port)?.family ?? 'unknown',
      baseURL: 'http://replay.invalid',
      apiKeyEnv: 'QUORUM_REPLAY',
      timeoutMs: 1,
    })),
  };

  const recordedFailures = failuresOf(events, consensus);
  const outcomes = panel.members.map((m): ModelOutcome => {
    const answer = responses.find((r) => r.port === m.port);
    if (answer) return success(answer);
    return failure(m, recordedFailures.get(`1:${m.port}`));
  });
  const voteOutcomes = new Map<number, ModelOutcome>();
  if (candidates) {
    for (const m of panel.members) {
      const vote = votes.find((v) => v.port === m.port);
      voteOutcomes.set(m.port, vote ? success(vote) : failure(m, recordedFailures.get(`2:${m.port}`)));
    }
  }
  return {
    runId,
    runDir,
    query: consensus?.query ?? started?.query ?? '',
    panel,
    quorum: consensus?.quorum.configured ?? started?.quorum.configured ?? Math.ceil(0.75 * size),
    rounds: candidates ? 2 : 1,
    chunk: consensus?.chunk ?? null,
    outcomes,
    ...(candidates && { candidates }),
    votes: voteOutcomes,
  };
}

function success(r: ResponseFile): ModelSuccess {
  return {
    ok: true,
    port: r.port,
    model: r.model,
    family: r.family,
    latencyMs: r.latencyMs,
    attempts: r.attempts,
    usage: r.usage ?? {},
    text: r.text,
    ...(r.finishReason && { finishReason: r.finishReason }),
    ...(r.responseId && { responseId: r.responseId }),
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

/** Failures by `round:port`, from consensus.json, or else the run's model.failed events. */
function failuresOf(events: readonly QuorumEvent[], consensus: ConsensusDocument | undefined): Map<string, FailureRecord> {
  const map = new Map<string, FailureRecord>();
  if (consensus) {
    for (const f of consensus.failures) map.set(`${f.round ?? 1}:${f.port}`, f);
    return map;
  }
  for (const e of events) {
    if (e.type === 'quorum.model.failed') map.set(`1:${e.data.port}`, { port: e.data.port, model: e.data.model, kind: e.data.kind, attempts: e.data.attempts, message: e.data.message });
  }
  return map;
}

/** The run's own events from the shared log (empty when the log is gone). */
async function eventsOf(out: string, runId: string): Promise<QuorumEvent[]> {
  const path = join(out, 'cloudevents.jsonl');
  if (!existsSync(path)) return [];
  return (await readJsonl<QuorumEvent>(path)).records.filter((e) => e.runid === runId);
}

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    throw new UsageError(`${path} is not valid JSON; the run's record is damaged`);
  }
}

function readDir<T>(dir: string): T[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^port_\d+\.json$/.test(f))
    .map((f) => readJson<T>(join(dir, f))!);
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
