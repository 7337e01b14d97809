/**
 * Run-log lines and 0.1 folders built by hand, for tests that need shapes no live run can make
 * on demand: an interrupted run, a damaged file, a 0.1 replay's copied answers. The 0.1 files
 * are written exactly as 0.1's recorder and batch ledger wrote them (git show 4649c91:src/run/recorder.ts,
 * :src/batch/ledger.ts): pretty JSON with a final newline, compact JSONL.
 */
import { appendFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Candidate } from '../../src/claims/candidates.js';
import { renderConsensusMarkdown } from '../../src/render/consensusMarkdown.js';
import { type AnswerLine, LOG_FILES, type RunLine, type SeatRecord } from '../../src/runlog/lines.js';
import type { ClaimRecord, ConsensusDocument } from '../../src/types.js';
import { tempDir } from '../helpers/cli.js';

/** test/fixtures/legacy-0.1: a real folder written by quorum 0.1 (see test/fixtures/legacy-0.1.md). */
export const LEGACY_FIXTURE = resolve(import.meta.dirname, '../fixtures/legacy-0.1');

/** A fresh copy of the real 0.1 folder, safe to migrate. */
export function legacyFixtureCopy(): string {
  const out = join(tempDir('quorum-legacy-'), 'artifacts');
  cpSync(LEGACY_FIXTURE, out, { recursive: true });
  return out;
}

export const SEATS: SeatRecord[] = [0, 1, 2, 3].map((port) => ({ port, model: `family${port}/model-${port}`, family: `family${port}` }));

const claim = (text: string, ports: number[], extra: Partial<ClaimRecord> = {}): ClaimRecord => ({ text, support: ports.length, ports, wordings: ports.map((port) => ({ port, text })), ...extra });

export const POOL: Candidate[] = [
  { id: 'c1', text: 'Shared fact.', proposers: [0, 1, 2], wordings: [0, 1, 2].map((port) => ({ port, text: 'Shared fact.' })) },
  { id: 'c2', text: 'Lone fact.', proposers: [2], wordings: [{ port: 2, text: 'Lone fact.' }] },
];

/** A decided run of the four-seat panel: port 3 timed out; two rounds unless `rounds: 1`. */
export function runLine(runId: string, overrides: Partial<RunLine> = {}): RunLine {
  const rounds = overrides.rounds ?? 2;
  const votes = (agree: number[]) => ({ agree, disagree: [0, 1, 2].filter((p) => !agree.includes(p)), unsure: [], abstained: [] });
  return {
    runId,
    query: `What does the spec say? (${runId})`,
    chunk: null,
    status: 'degraded',
    quorum: { configured: 3, required: 3, responders: 3, panel: 4, minResponders: 3 },
    claims: [claim('Shared fact.', [0, 1, 2], rounds === 2 ? { ids: ['c1'], proposers: [0, 1, 2], votes: votes([0, 1, 2]) } : {})],
    dissent: [claim('Lone fact.', [2], rounds === 2 ? { ids: ['c2'], proposers: [2], votes: votes([2]) } : {})],
    failures: [{ port: 3, model: SEATS[3]!.model, kind: 'timeout', attempts: 2, message: 'no answer within 5000 ms' }],
    agreement: [
      [1, 1, 0.5, null],
      [1, 1, 0.5, null],
      [0.5, 0.5, 1, null],
      [null, null, null, null],
    ],
    rounds,
    ...(rounds === 2 && { abstentions: [], candidates: POOL.length }),
    startedAt: '2025-06-01T10:00:00.000Z',
    finishedAt: '2025-06-01T10:00:05.000Z',
    sandbox: true,
    models: SEATS,
    ...(rounds === 2 && { pool: POOL }),
    panelSource: 'sandbox',
    ...overrides,
  };
}

/** Round-1 answers of ports 0–2 and, for two-round runs, their ballots. */
export function answerLines(runId: string, rounds: 1 | 2 = 2): AnswerLine[] {
  const one = [0, 1, 2].map((port) => answerLine(runId, port));
  const two = rounds === 2 ? [0, 1, 2].map((port) => answerLine(runId, port, { round: 2, text: '{"votes":{}}', ballot: { c1: 'agree', c2: port === 2 ? 'agree' : 'disagree' } })) : [];
  return [...one, ...two];
}

export function answerLine(runId: string, port: number, overrides: Partial<AnswerLine> = {}): AnswerLine {
  return {
    runId,
    round: 1,
    port,
    model: SEATS[port]!.model,
    family: SEATS[port]!.family,
    latencyMs: 100 + port,
    attempts: 1,
    usage: { inputTokens: 10 + port, outputTokens: 5, cost: 0 },
    finishReason: 'stop',
    responseId: `gen-${runId}-${port}`,
    text: JSON.stringify({ claims: ['Shared fact.', ...(port === 2 ? ['Lone fact.'] : [])] }),
    ...overrides,
  };
}

const jsonl = (lines: readonly unknown[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');
const pretty = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Appends lines to the logs of `out` (created as needed). */
export function writeLogs(out: string, logs: { runs?: RunLine[]; answers?: AnswerLine[]; events?: object[] }): string {
  mkdirSync(out, { recursive: true });
  if (logs.runs) appendFileSync(join(out, LOG_FILES.runs), jsonl(logs.runs));
  if (logs.answers) appendFileSync(join(out, LOG_FILES.answers), jsonl(logs.answers));
  if (logs.events) appendFileSync(join(out, LOG_FILES.events), jsonl(logs.events));
  return out;
}

/** A CloudEvents line as 0.1 and 0.2 write them. */
export function event(type: string, runId: string, data: object, ext: { port?: number; batchId?: string; chunkId?: string } = {}): object {
  return {
    specversion: '1.0',
    id: `${runId}-${type}-${ext.port ?? 'run'}`,
    source: ext.port === undefined ? '/quorum/run' : `/quorum/port/${ext.port}`,
    type,
    time: '2025-06-01T10:00:00.000Z',
    datacontenttype: 'application/json',
    runid: runId,
    ...(ext.port !== undefined && { port: ext.port }),
    ...(ext.chunkId && { chunkid: ext.chunkId }),
    ...(ext.batchId && { batchid: ext.batchId }),
    data,
  };
}

/** The events of one run, start to end (no end when `ended` is false: a SIGKILLed run). */
export function runEvents(runId: string, o: { batchId?: string; chunkId?: string; status?: string; ended?: boolean; members?: SeatRecord[]; source?: string } = {}): object[] {
  const ext = { ...(o.batchId && { batchId: o.batchId }), ...(o.chunkId && { chunkId: o.chunkId }) };
  const members = o.members ?? SEATS;
  return [
    event('quorum.run.started', runId, {
      query: `What does the spec say? (${runId})`,
      panel: { source: o.source ?? 'sandbox', size: members.length, members },
      quorum: { configured: 3, minResponders: 3 },
      context: o.chunkId ? { source: 'docs/a.md', chars: 100 } : null,
      sandbox: true,
      rounds: 2,
    }, ext),
    ...[0, 1, 2].map((port) => event('quorum.model.responded', runId, { port, model: members[port]!.model, family: members[port]!.family, latencyMs: 100 + port, attempts: 1 }, { ...ext, port })),
    event('quorum.model.failed', runId, { port: 3, model: members[3]!.model, family: members[3]!.family, kind: 'timeout', message: 'no answer within 5000 ms', attempts: 2, latencyMs: 5000 }, { ...ext, port: 3 }),
    ...(o.ended === false ? [] : [event('quorum.run.completed', runId, { status: o.status ?? 'degraded', durationMs: 5000, exitCode: 0 }, ext)]),
  ];
}

export interface LegacyRun {
  runId: string;
  rounds?: 1 | 2;
  /** False: interrupted, no consensus.json (answers only). */
  decided?: boolean;
  /** Events in cloudevents.jsonl (default true). */
  events?: boolean;
  batchId?: string;
  /** The runId field inside the answer files (a 0.1 replay copied its source's). */
  filesRunId?: string;
}

/** Writes one run's files as 0.1 did (and, unless `events: false`, its events); returns the run line migrate should make of it. */
export function writeLegacyRun(out: string, r: LegacyRun): RunLine {
  const rounds = r.rounds ?? 2;
  const line = runLine(r.runId, { rounds, ...(r.batchId && { batchId: r.batchId }) });
  const dir = join(out, 'runs', r.runId);
  mkdirSync(dir, { recursive: true });
  for (const a of answerLines(r.runId, rounds)) {
    const { round, ...record } = a;
    const file = join(dir, round === 2 ? 'votes' : 'responses', `port_${a.port}.json`);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, pretty({ ...record, runId: r.filesRunId ?? r.runId }));
  }
  if (rounds === 2) writeFileSync(join(dir, 'candidates.json'), pretty(POOL));
  if (r.decided !== false) {
    const { models: _m, batchId: _b, pool: _p, panelSource: _s, ...doc } = line;
    writeFileSync(join(dir, 'consensus.json'), pretty(doc satisfies ConsensusDocument));
    writeFileSync(join(dir, 'consensus.md'), renderConsensusMarkdown(doc, SEATS));
  }
  if (r.events !== false) writeLogs(out, { events: runEvents(r.runId, { ...(r.batchId && { batchId: r.batchId }), ended: true, status: r.decided === false ? 'interrupted' : 'degraded' }) });
  return line;
}

/** A 0.1 batch's manifest and ledger; `completed` adds the ledger's last line. */
export function writeLegacyBatch(out: string, batchId: string, runIds: string[], o: { completed?: boolean } = {}): void {
  const dir = join(out, 'batches', batchId);
  mkdirSync(dir, { recursive: true });
  const identity = { query: 'What does the spec say?', files: ['docs/a.md'], chunkTokens: 1500, overlapTokens: 0, panel: SEATS.map(({ port, model }) => ({ port, model })), quorum: 3, rounds: 2 };
  writeFileSync(join(dir, 'batch.json'), pretty({ batchId, key: 'abcdef0123456789', identity, startedAt: '2025-06-01T09:59:00.000Z' }));
  const ledger = [
    ...runIds.map((runId, index) => ({ type: 'started', chunkId: `chunk${index}`, runId, source: 'docs/a.md', index })),
    ...runIds.map((runId, index) => ({ type: 'done', chunkId: `chunk${index}`, runId, status: 'degraded' })),
    ...(o.completed ? [{ type: 'completed', chunks: runIds.length, at: '2025-06-01T10:10:00.000Z' }] : []),
  ];
  writeFileSync(join(dir, 'ledger.jsonl'), jsonl(ledger));
}
