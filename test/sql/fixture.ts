/**
 * Fixture artifacts for the SQL tests, made by REAL runs of the CLI against the local sandbox
 * server (no hand-written JSONL): the numbers each query must give are then recomputed from the
 * logs those runs wrote (runs.jsonl, cloudevents.jsonl), in plain TypeScript, and some are known
 * from the scenario itself.
 *
 * Runs, all with the same eight-port panel (`panelScenario`; port 7 answers 600 ms late):
 *   A  ask, two rounds, every port answers
 *   B  ask, one round, port 5 fails with HTTP 502 (retried: 3 attempts)
 *   C  ask, two rounds, port 6 hangs (timeout), port 3 fails the vote (HTTP 503), port 2's ballot is garbage
 *   D  batch of two files (two chunk runs), one round, port 5 failing again
 *   E  replay of A with --quorum 8 (recorded answers, no model call)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSandboxServer } from '../../src/sandbox/server.js';
import type { SandboxModel, Scenario } from '../../src/sandbox/scenario.js';
import { LOG_FILES, type RunLine } from '../../src/runlog/lines.js';
import { readJsonl } from '../../src/sinks/readJsonl.js';
import { panelScenario, runCli, tempDir, writePanel } from '../helpers/cli.js';

export const ENV = { OPENROUTER_API_KEY: 'sk-or-v1-sql_test_0123456789' };
export const QUERY = 'What does the protocol spec say?';

export interface Fixture {
  dir: string;
  /** The artifacts folder every run wrote to. */
  out: string;
  /** An artifacts folder holding run A's twin alone (for single-run equalities). */
  single: string;
  runs: { A: string; B: string; C: string; D: string[]; E: string };
  events: Record<string, any>[];
  /** Every line of runs.jsonl, by run id. */
  docs: RunLine[];
}

function scenario(overrides: Partial<SandboxModel>[] = []): Scenario {
  const s = panelScenario(overrides);
  s.models[7]!.latencyMs = 600;
  return s;
}

async function withServer<T>(sc: Scenario, dir: string, name: string, work: (panel: string) => Promise<T>): Promise<T> {
  const server = await startSandboxServer({ scenario: sc });
  try {
    const sub = join(dir, name);
    mkdirSync(sub, { recursive: true });
    return await work(writePanel(sub, server.baseURL, sc));
  } finally {
    await server.close();
  }
}

/** Runs decided so far: the run log's. */
function runIds(out: string): Set<string> {
  return new Set(runLines(out).map((r) => r.runId));
}

async function ask(out: string, panel: string, args: string[]): Promise<string> {
  const before = runIds(out);
  const run = await runCli(['ask', QUERY, '--panel', panel, '--out', out, '--json', ...args], ENV);
  if (run.code !== 0) throw new Error(`fixture ask failed (${run.code}): ${run.stderr}`);
  const added = [...runIds(out)].filter((id) => !before.has(id));
  if (added.length !== 1) throw new Error(`expected one new run, got ${added.join(', ')}`);
  return added[0]!;
}

export async function buildFixture(): Promise<Fixture> {
  const dir = tempDir('quorum-sql-fixture-');
  const out = join(dir, 'artifacts');
  const single = join(dir, 'single');

  const A = await withServer(scenario(), dir, 'a', async (panel) => {
    await ask(single, panel, ['--rounds', '2', '--grace', '-1']);
    return ask(out, panel, ['--rounds', '2', '--grace', '-1']);
  });
  const failing5 = scenario([{}, {}, {}, {}, {}, { fault: 'http_502' }]);
  const { B, D } = await withServer(failing5, dir, 'b', async (panel) => {
    const B = await ask(out, panel, ['--rounds', '1', '--grace', '-1']);
    writeFileSync(join(dir, 'a.md'), '# A\n\nThe protocol uses port 8080 by default.\n');
    writeFileSync(join(dir, 'b.md'), '# B\n\nEvery message carries a sequence number.\n');
    const before = runIds(out);
    const batch = await runCli(['batch', join(dir, 'a.md'), join(dir, 'b.md'), '--query', QUERY, '--panel', panel, '--out', out, '--rounds', '1', '--grace', '-1'], ENV);
    if (batch.code !== 0) throw new Error(`fixture batch failed (${batch.code}): ${batch.stderr}`);
    return { B, D: [...runIds(out)].filter((id) => !before.has(id)).sort() };
  });
  const C = await withServer(
    scenario([{}, {}, { votes: 'garbage' }, { voteFault: 'http_503' }, {}, {}, { fault: 'hang' }]),
    dir,
    'c',
    (panel) => ask(out, panel, ['--rounds', '2', '--grace', '-1', '--timeout', '1500']),
  );
  const before = runIds(out);
  const replay = await runCli(['replay', A, '--out', out, '--quorum', '8', '--json'], ENV);
  if (replay.code !== 0 && replay.code !== 1) throw new Error(`fixture replay failed (${replay.code}): ${replay.stderr}`);
  const E = [...runIds(out)].find((id) => !before.has(id))!;

  return { dir, out, single, runs: { A, B, C, D, E }, events: await events(out), docs: consensusDocs(out) };
}

export async function events(out: string): Promise<Record<string, any>[]> {
  return (await readJsonl<Record<string, any>>(join(out, 'cloudevents.jsonl'))).records;
}

/** The lines of runs.jsonl (whole lines only), in file order. */
export function runLines(out: string): RunLine[] {
  const file = join(out, LOG_FILES.runs);
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as RunLine);
}

/** The decided runs' documents, from runs.jsonl, by run id. */
export function consensusDocs(out: string): RunLine[] {
  return runLines(out).sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
}

/** DuckDB's quantile_cont: linear interpolation between the closest ranks. */
export function quantileCont(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Rounds like DuckDB's round(x, digits) for the values these tests meet. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Every call to a port recorded in the events, as the model_calls view defines them. */
export function modelCalls(events: Record<string, any>[]) {
  return events
    .filter((e) => ['quorum.model.responded', 'quorum.model.failed', 'quorum.vote.cast'].includes(e.type))
    .map((e) => ({
      runid: e.runid as string,
      port: e.port as number,
      model: e.data.model as string,
      round: e.type === 'quorum.vote.cast' ? 2 : 1,
      ok: e.type === 'quorum.model.responded' ? true : e.type === 'quorum.model.failed' ? false : Boolean(e.data.ok),
      kind: (e.data.kind ?? null) as string | null,
      latencyMs: e.data.latencyMs as number,
      inputTokens: e.data.inputTokens as number | undefined,
      outputTokens: e.data.outputTokens as number | undefined,
      cost: e.data.cost as number | undefined,
    }));
}

/** One real two-round ask run (port 5 failing) into a fresh artifacts folder; returns the folder. */
export async function oneRun(rounds: '1' | '2' = '2'): Promise<string> {
  const dir = tempDir('quorum-sql-one-');
  const out = join(dir, 'artifacts');
  await withServer(scenario([{}, {}, {}, {}, {}, { fault: 'http_502' }]), dir, 'p', (panel) => ask(out, panel, ['--rounds', rounds, '--grace', '-1']));
  return out;
}
