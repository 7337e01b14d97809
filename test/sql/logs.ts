/**
 * Small hand-written run logs (runs.jsonl, answers.jsonl, and the events that go with them) in
 * the shapes of src/runlog/lines.ts, for tests that need a folder no real run can make: a torn
 * tail, a 0.1 folder, a batch resumed after an interruption.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_FILES, type AnswerLine, type RunLine } from '../../src/runlog/lines.js';
import type { ClaimRecord } from '../../src/types.js';
import { tempDir } from '../helpers/cli.js';
import { answerLine as fixtureAnswerLine } from '../runlog/fixtures.js';

export const SEATS = [0, 1, 2].map((port) => ({ port, model: `family${port}/model-${port}`, family: `family${port}` }));

/** A decided one-round run of the three-seat panel where every port answered. */
export function runLine(runId: string, overrides: Partial<RunLine> = {}): RunLine {
  const claim = (text: string, ports: number[]): ClaimRecord => ({ text, support: ports.length, ports, wordings: ports.map((port) => ({ port, text })) });
  return {
    runId,
    query: 'What does the spec say?',
    chunk: null,
    status: 'consensus',
    quorum: { configured: 2, required: 2, responders: 3, panel: 3, minResponders: 2 },
    claims: [claim('Shared fact.', [0, 1, 2])],
    dissent: [claim(`Only port 2 says so in ${runId}.`, [2])],
    failures: [],
    agreement: [
      [1, 0.5, 0.5],
      [0.5, 1, 0.5],
      [0.5, 0.5, 1],
    ],
    rounds: 1,
    startedAt: '2025-06-01T10:00:00.000Z',
    finishedAt: '2025-06-01T10:00:05.000Z',
    sandbox: true,
    models: SEATS,
    panelSource: 'sandbox',
    ...overrides,
  };
}

/** An answer line as test/runlog/fixtures.ts makes it, with a plain-text answer. */
export function answerLine(runId: string, port: number, overrides: Partial<AnswerLine> = {}): AnswerLine {
  return fixtureAnswerLine(runId, port, { text: `Answer of port ${port}.`, ...overrides });
}

export interface Logs {
  runs?: RunLine[];
  answers?: AnswerLine[];
  /** Raw CloudEvents lines for cloudevents.jsonl. */
  events?: Record<string, unknown>[];
}

const jsonl = (lines: unknown[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

/** Writes (or appends to) the logs of `out`; a log given no lines is not created. */
export function writeLogs(out: string, logs: Logs): string {
  mkdirSync(out, { recursive: true });
  if (logs.runs) appendFileSync(join(out, LOG_FILES.runs), jsonl(logs.runs));
  if (logs.answers) appendFileSync(join(out, LOG_FILES.answers), jsonl(logs.answers));
  if (logs.events) appendFileSync(join(out, LOG_FILES.events), jsonl(logs.events));
  return out;
}

/** A fresh folder holding the logs of two decided runs (r1, r2) and their answers. */
export function twoRunFolder(): string {
  const out = join(tempDir('quorum-sql-logs-'), 'artifacts');
  return writeLogs(out, {
    runs: [runLine('20250601T100000Z-aaaaaa'), runLine('20250601T110000Z-bbbbbb', { startedAt: '2025-06-01T11:00:00.000Z', finishedAt: '2025-06-01T11:00:05.000Z' })],
    answers: ['20250601T100000Z-aaaaaa', '20250601T110000Z-bbbbbb'].flatMap((id) => SEATS.map((s) => answerLine(id, s.port))),
  });
}

/** A 0.1 folder: one run's per-run files and a batch ledger, no run log. */
export function legacyFolder(): string {
  const out = join(tempDir('quorum-legacy-'), 'artifacts');
  const run = join(out, 'runs', '20250101T000000Z-abcdef');
  mkdirSync(join(run, 'responses'), { recursive: true });
  const { models: _models, panelSource: _source, ...doc } = runLine('20250101T000000Z-abcdef');
  writeFileSync(join(run, 'consensus.json'), JSON.stringify(doc, null, 2));
  writeFileSync(join(run, 'responses', 'port_0.json'), JSON.stringify(answerLine('20250101T000000Z-abcdef', 0)));
  mkdirSync(join(out, 'batches', '20250101T000000Z-batch1'), { recursive: true });
  writeFileSync(join(out, 'batches', '20250101T000000Z-batch1', 'ledger.jsonl'), '');
  writeFileSync(join(out, 'cloudevents.jsonl'), '');
  return out;
}

