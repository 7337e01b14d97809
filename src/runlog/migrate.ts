/**
 * `quorum migrate`: converts a 0.1 artifacts folder (per-run files, batch ledgers) into the run
 * log (docs/CONTRACTS.md, "The run log"), keeping the old files. Appends whole lines only, and
 * skips what the logs already hold, so it is idempotent and an interrupted migration is finished
 * by running it again. Streams: one run's files at a time, whatever the number of runs.
 */
import { existsSync, statSync } from 'node:fs';
import { appendFile, opendir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Candidate } from '../claims/candidates.js';
import { UsageError } from '../errors.js';
import type { RunStartedData } from '../events.js';
import type { ConsensusDocument } from '../types.js';
import { MIGRATING_MARKER } from './legacy.js';
import { type AnswerLine, type BatchIdentity, type BatchLine, LOG_FILES, type RunLine, type SeatRecord } from './lines.js';
import { logLines, stringField } from './logLines.js';
import { LogWriter } from './logWriter.js';

export interface MigrateOptions {
  /** Stops between runs; what was appended stays, and a second migrate finishes the job. */
  signal?: AbortSignal;
}

export interface MigrateSummary {
  /** Run lines appended. */
  runs: number;
  /** Answer lines appended (responses and ballots). */
  answers: number;
  /** Batches that got a line in batches.jsonl. */
  batches: number;
  /** Runs with no consensus (interrupted, or a damaged consensus.json) whose answers were appended without a run line. */
  undecided: number;
  /** Runs that runs.jsonl already held. */
  already: number;
  /** Files that could not be read as 0.1 wrote them, relative to the folder; skipped. */
  damaged: string[];
  /** True when the signal stopped the migration before the end. */
  interrupted: boolean;
}

/** What a run's `quorum.run.started` event says that its files do not. */
interface RunMeta {
  members?: SeatRecord[];
  source?: string;
  batchId?: string;
}

/** What a 0.1 batch ledger says about its batch. */
interface LedgerSummary {
  completed?: { chunks: number; at: string };
  chunkIds: Set<string>;
}

/** What a 0.1 batch's own events say: the last start's chunk count, and how it last ended. */
interface BatchEvents {
  chunks?: number;
  ended?: { outcome: 'completed' | 'interrupted' | 'stopped'; chunks?: number; at: string; message?: string };
}

/** Run ids become paths: nothing that could climb out of `runs/`. */
const SAFE_ID = /^[\w-][\w.-]*$/;

/** Lines waiting for their commit, at most: bounds memory however many runs go by. */
const COMMIT_EVERY_LINES = 2_000;

export async function migrateFolder(out: string, options: MigrateOptions = {}): Promise<MigrateSummary> {
  if (!existsSync(out) || !statSync(out).isDirectory()) throw new UsageError(`${out} does not exist or is no folder; check --out`);
  const runsDir = join(out, 'runs');
  const batchesDir = join(out, 'batches');
  const hasOld = existsSync(runsDir) || existsSync(batchesDir);
  if (!hasOld && !Object.values(LOG_FILES).some((f) => existsSync(join(out, f)))) {
    throw new UsageError(`${out} is not a quorum artifacts folder (no runs/, batches/ or ${LOG_FILES.runs}); check --out`);
  }
  const summary: MigrateSummary = { runs: 0, answers: 0, batches: 0, undecided: 0, already: 0, damaged: [], interrupted: false };
  if (!hasOld) return summary;

  const markerPath = join(out, MIGRATING_MARKER);
  await writeFile(markerPath, `quorum migrate, pid ${process.pid}, started ${new Date().toISOString()}\n`);
  const decided = await decidedRunIds(out);
  const partial = await answeredPorts(out, decided);
  const { ledgers, batchOfRun } = await readLedgers(out);
  const writer = LogWriter.open(out);
  const sinks = { runs: writer.sink<RunLine>('runs'), answers: writer.sink<AnswerLine>('answers'), batches: writer.sink<BatchLine>('batches') };
  let uncommitted = 0;
  const damaged = (path: string) => summary.damaged.push(relative(out, path));
  const stopped = () => (summary.interrupted ||= options.signal?.aborted === true);

  const convertRun = async (runId: string, meta: RunMeta | undefined): Promise<void> => {
    if (decided.has(runId)) {
      summary.already++;
      return;
    }
    if (!SAFE_ID.test(runId)) return;
    const dir = join(runsDir, runId);
    if (!existsSync(dir)) return;
    const [doc, answers, pool] = await Promise.all([readConsensus(join(dir, 'consensus.json'), runId, damaged), readAnswers(dir, runId, damaged), readPool(join(dir, 'candidates.json'), damaged)]);
    const done = partial.get(runId);
    // Answers before the run line: a run is decided when its line is committed, and then its answers must be there.
    const fresh = answers.filter((a) => !done?.has(`${a.round}:${a.port}`));
    for (const a of fresh) sinks.answers.write(a);
    summary.answers += fresh.length;
    uncommitted += fresh.length;
    if (doc) {
      const batchId = meta?.batchId ?? batchOfRun.get(runId);
      sinks.runs.write({
        ...doc,
        models: seats(doc, meta, answers),
        ...(batchId && { batchId }),
        ...(pool && { pool }),
        ...(meta?.source && { panelSource: meta.source }),
      });
      summary.runs++;
      uncommitted++;
    } else if (fresh.length > 0) {
      summary.undecided++;
    }
    if (uncommitted >= COMMIT_EVERY_LINES) {
      await writer.commit();
      uncommitted = 0;
    }
  };

  try {
    // Runs in the order the events saw them end (the order a 0.2 writer would have committed
    // them), holding a run's start event only until its end; then any run the events miss.
    const pending = new Map<string, RunMeta>();
    const handled = new Set<string>();
    const batchEvents = new Map<string, BatchEvents>();
    const interned = new Map<string, SeatRecord[]>();
    for await (const line of logLines(join(out, LOG_FILES.events))) {
      if (stopped()) break;
      if (line.includes('"type":"quorum.run.started"')) {
        const runId = stringField(line, 'runid');
        if (runId === undefined || decided.has(runId)) continue;
        const meta = runMetaOf(line, interned);
        if (meta) pending.set(runId, meta);
      } else if (line.includes('"type":"quorum.run.completed"')) {
        const runId = stringField(line, 'runid');
        if (runId === undefined || handled.has(runId)) continue;
        handled.add(runId);
        await convertRun(runId, pending.get(runId));
        pending.delete(runId);
      } else if (line.includes('"type":"quorum.batch.')) {
        noteBatchEvent(line, batchEvents);
      }
    }
    if (existsSync(runsDir) && !stopped()) {
      for await (const entry of await opendir(runsDir)) {
        if (stopped()) break;
        if (!entry.isDirectory() || handled.has(entry.name)) continue;
        handled.add(entry.name);
        await convertRun(entry.name, pending.get(entry.name));
      }
    }
    if (existsSync(batchesDir) && !stopped()) {
      const logged = await loggedBatches(out);
      for await (const entry of await opendir(batchesDir)) {
        if (stopped()) break;
        if (!entry.isDirectory()) continue;
        const lines = await batchLines(join(batchesDir, entry.name), entry.name, ledgers.get(entry.name), batchEvents.get(entry.name), logged.get(entry.name), damaged);
        for (const line of lines) sinks.batches.write(line);
        if (lines.length > 0) summary.batches++;
      }
    }
  } finally {
    await writer.close();
  }
  if (!summary.interrupted) {
    // An empty runs.jsonl still marks the folder as converted when no run was ever decided.
    await appendFile(join(out, LOG_FILES.runs), '');
    await rm(markerPath, { force: true });
  }
  return summary;
}

/** Run ids runs.jsonl holds, read by a text test (a run line is a whole consensus document). */
async function decidedRunIds(out: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const line of logLines(join(out, LOG_FILES.runs))) {
    const id = stringField(line, 'runId');
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

/**
 * `round:port` of the answers already appended for runs with no run line: an interrupted
 * migration's last run, and interrupted runs. Their ports are not appended twice.
 */
async function answeredPorts(out: string, decided: ReadonlySet<string>): Promise<Map<string, Set<string>>> {
  const ports = new Map<string, Set<string>>();
  for await (const line of logLines(join(out, LOG_FILES.answers))) {
    const id = stringField(line, 'runId');
    if (id === undefined || decided.has(id)) continue;
    try {
      const a = JSON.parse(line) as AnswerLine;
      let set = ports.get(id);
      if (!set) ports.set(id, (set = new Set()));
      set.add(`${a.round}:${a.port}`);
    } catch {
      // A damaged line appended nothing usable.
    }
  }
  return ports;
}

/** Every 0.1 ledger, once: which batch each run belongs to, and how far each batch got. */
async function readLedgers(out: string): Promise<{ ledgers: Map<string, LedgerSummary>; batchOfRun: Map<string, string> }> {
  const ledgers = new Map<string, LedgerSummary>();
  const batchOfRun = new Map<string, string>();
  const dir = join(out, 'batches');
  if (!existsSync(dir)) return { ledgers, batchOfRun };
  for (const name of await readdir(dir)) {
    const summary: LedgerSummary = { chunkIds: new Set() };
    ledgers.set(name, summary);
    for await (const line of logLines(join(dir, name, 'ledger.jsonl'))) {
      let entry: { type?: string; chunkId?: string; runId?: string; chunks?: number; at?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // 0.1's own reader skipped damaged ledger lines too
      }
      if (entry.type === 'started' && typeof entry.runId === 'string') {
        batchOfRun.set(entry.runId, name);
        if (typeof entry.chunkId === 'string') summary.chunkIds.add(entry.chunkId);
      } else if (entry.type === 'completed' && typeof entry.chunks === 'number' && typeof entry.at === 'string') {
        summary.completed = { chunks: entry.chunks, at: entry.at };
      }
    }
  }
  return { ledgers, batchOfRun };
}

/** Which batches batches.jsonl already started and ended. */
async function loggedBatches(out: string): Promise<Map<string, { started: boolean; ended: boolean }>> {
  const logged = new Map<string, { started: boolean; ended: boolean }>();
  for await (const line of logLines(join(out, LOG_FILES.batches))) {
    const batchId = stringField(line, 'batchId');
    if (batchId === undefined) continue;
    const state = logged.get(batchId) ?? { started: false, ended: false };
    if (line.includes('"type":"started"')) state.started = true;
    if (line.includes('"type":"ended"')) state.ended = true;
    logged.set(batchId, state);
  }
  return logged;
}

/** A run's panel, source and batch from its start event; panels repeat, so equal member lists are kept once. */
function runMetaOf(line: string, interned: Map<string, SeatRecord[]>): RunMeta | undefined {
  let event: { batchid?: string; data?: Partial<RunStartedData> };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    return undefined;
  }
  const meta: RunMeta = {};
  const members = event.data?.panel?.members;
  if (Array.isArray(members)) {
    const seats = members.map(({ port, model, family }) => ({ port, model, family }));
    const key = JSON.stringify(seats);
    meta.members = interned.get(key) ?? (interned.set(key, seats), seats);
  }
  if (typeof event.data?.panel?.source === 'string') meta.source = event.data.panel.source;
  if (typeof event.batchid === 'string') meta.batchId = event.batchid;
  return meta;
}

function noteBatchEvent(line: string, batchEvents: Map<string, BatchEvents>): void {
  let event: { type?: string; batchid?: string; time?: string; data?: { chunks?: unknown; outcome?: unknown; message?: unknown } };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    return;
  }
  if (typeof event.batchid !== 'string') return;
  const state = batchEvents.get(event.batchid) ?? {};
  batchEvents.set(event.batchid, state);
  const chunks = typeof event.data?.chunks === 'number' ? event.data.chunks : undefined;
  if (event.type === 'quorum.batch.started') {
    if (chunks !== undefined) state.chunks = chunks;
    // A later resume reopens the batch: an earlier end no longer stands.
    delete state.ended;
  } else if (event.type === 'quorum.batch.completed') {
    const outcome = event.data?.outcome;
    if ((outcome === 'completed' || outcome === 'interrupted' || outcome === 'stopped') && typeof event.time === 'string') {
      state.ended = { outcome, at: event.time, ...(chunks !== undefined && { chunks }), ...(typeof event.data?.message === 'string' && { message: event.data.message }) };
    }
  }
}

/** consensus.json as 0.1 wrote it; undefined when the run has none, or (counted) when it is damaged. */
async function readConsensus(path: string, runId: string, damaged: (path: string) => void): Promise<ConsensusDocument | undefined> {
  const doc = await readJson<ConsensusDocument>(path, damaged);
  if (doc === undefined) return undefined;
  const whole =
    doc.runId === runId &&
    typeof doc.status === 'string' &&
    typeof doc.quorum?.panel === 'number' &&
    Array.isArray(doc.claims) &&
    Array.isArray(doc.dissent) &&
    Array.isArray(doc.failures);
  if (!whole) {
    damaged(path);
    return undefined;
  }
  return doc;
}

async function readPool(path: string, damaged: (path: string) => void): Promise<Candidate[] | undefined> {
  const pool = await readJson<Candidate[]>(path, damaged);
  if (pool === undefined || Array.isArray(pool)) return pool;
  damaged(path);
  return undefined;
}

/** responses/port_<n>.json (round 1) and votes/port_<n>.json (round 2) as answer lines, in port order. */
async function readAnswers(dir: string, runId: string, damaged: (path: string) => void): Promise<AnswerLine[]> {
  const rounds = await Promise.all(
    ([[1, 'responses'], [2, 'votes']] as const).map(async ([round, folder]) => {
      const names = (await readdir(join(dir, folder)).catch(() => [] as string[]))
        .map((name) => ({ name, port: /^port_(\d+)\.json$/.exec(name)?.[1] }))
        .filter((f): f is { name: string; port: string } => f.port !== undefined)
        .sort((a, b) => Number(a.port) - Number(b.port));
      const lines = await Promise.all(names.map(async ({ name, port }) => answerLine(join(dir, folder, name), runId, round, Number(port), damaged)));
      return lines.filter((a): a is AnswerLine => a !== undefined);
    }),
  );
  return rounds.flat();
}

interface ResponseFile {
  port?: unknown;
  model?: unknown;
  family?: unknown;
  latencyMs?: unknown;
  attempts?: unknown;
  usage?: AnswerLine['usage'];
  finishReason?: string | null;
  responseId?: string | null;
  text?: unknown;
  ballot?: Record<string, string> | null;
}

async function answerLine(path: string, runId: string, round: 1 | 2, filePort: number, damaged: (path: string) => void): Promise<AnswerLine | undefined> {
  const r = await readJson<ResponseFile>(path, damaged);
  if (r === undefined) return undefined;
  if (typeof r.text !== 'string' || typeof r.model !== 'string' || (r.port !== undefined && r.port !== filePort)) {
    damaged(path);
    return undefined;
  }
  return {
    // The folder's id, not the file's: a 0.1 replay copied its source's files, runId and all.
    runId,
    round,
    port: filePort,
    model: r.model,
    family: typeof r.family === 'string' ? r.family : r.model.split('/')[0]!,
    latencyMs: typeof r.latencyMs === 'number' ? r.latencyMs : 0,
    attempts: typeof r.attempts === 'number' ? r.attempts : 1,
    usage: r.usage ?? {},
    finishReason: r.finishReason ?? null,
    responseId: r.responseId ?? null,
    text: r.text,
    ...(round === 2 && { ballot: r.ballot ?? null }),
  };
}

/** A JSON object or array from a file; undefined when there is no file, or (counted) when it does not parse. */
async function readJson<T>(path: string, damaged: (path: string) => void): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object') return value as T;
  } catch {
    // counted below
  }
  damaged(path);
  return undefined;
}

/** port → model for every port: the start event's panel, else what the answers and failures name. */
function seats(doc: ConsensusDocument, meta: RunMeta | undefined, answers: readonly AnswerLine[]): SeatRecord[] {
  const seat = new Map<number, { model: string; family: string }>();
  for (const m of meta?.members ?? []) seat.set(m.port, m);
  for (const a of answers) if (!seat.has(a.port)) seat.set(a.port, a);
  for (const f of doc.failures) if (!seat.has(f.port)) seat.set(f.port, { model: f.model, family: f.model.split('/')[0]! });
  const size = Math.max(doc.quorum.panel, ...[...seat.keys()].map((port) => port + 1));
  return Array.from({ length: size }, (_, port) => ({ port, model: seat.get(port)?.model ?? 'unknown', family: seat.get(port)?.family ?? 'unknown' }));
}

/** The batches.jsonl lines a 0.1 batch still needs: its start, and its end when it ended. */
async function batchLines(
  dir: string,
  batchId: string,
  ledger: LedgerSummary | undefined,
  events: BatchEvents | undefined,
  logged: { started: boolean; ended: boolean } | undefined,
  damaged: (path: string) => void,
): Promise<BatchLine[]> {
  const lines: BatchLine[] = [];
  if (logged?.started && logged.ended) return lines;
  const manifest = await readJson<{ batchId?: string; key?: string; identity?: BatchIdentity; startedAt?: string }>(join(dir, 'batch.json'), damaged);
  if (!manifest || typeof manifest.key !== 'string' || typeof manifest.startedAt !== 'string' || manifest.identity === undefined) {
    // Without its manifest the batch cannot be told apart from another on resume; its runs still carry its id.
    // (One that does not parse was counted as it was read.)
    if (manifest || (!existsSync(join(dir, 'batch.json')) && existsSync(join(dir, 'ledger.jsonl')))) damaged(join(dir, 'batch.json'));
    return lines;
  }
  const end = ledger?.completed
    ? { outcome: 'completed' as const, chunks: ledger.completed.chunks, at: ledger.completed.at }
    : events?.ended;
  const chunks = events?.chunks ?? end?.chunks ?? ledger?.chunkIds.size ?? 0;
  if (!logged?.started) {
    lines.push({ type: 'started', batchId, key: manifest.key, identity: manifest.identity, startedAt: manifest.startedAt, at: manifest.startedAt, resumed: false, chunks });
  }
  if (end && !logged?.ended) {
    lines.push({ type: 'ended', batchId, outcome: end.outcome, chunks: end.chunks ?? chunks, at: end.at, ...('message' in end && end.message !== undefined && { message: end.message }) });
  }
  return lines;
}
