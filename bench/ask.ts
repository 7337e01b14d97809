/**
 * `ask` performance against the local sandbox server with per-port latencies, through the REAL
 * CLI binary (`node dist/cli.js ask … --panel FILE`) as a child process:
 *
 * 1. Wall time vs the slowest needed port: eight ports with distinct latencies (100…800 ms)
 *    and eight at 300 ms, with `--grace -1` (every port needed) and the default grace
 *    (quorum 6 of 8, then a grace as long as quorum took), plus a case where the default grace
 *    cuts two slow ports. Goal: (wall − process start-up) / slowest needed ≤ 1.05.
 * 2. Straggler: seven ports at 100 ms and one at 20 s; with default settings the command must
 *    end well under 1 s after start-up, report the straggler `cancelled` and abort its request.
 *
 * Run by `npm run bench` (bench/run.ts); `npx tsx bench/ask.ts` runs it alone without writing.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultQuorum } from '../src/claims/quorumRules.js';
import type { Scenario } from '../src/sandbox/scenario.js';
import { type SandboxServer, startSandboxServer } from '../src/sandbox/server.js';
import type { ConsensusDocument } from '../src/types.js';
import {
  type BenchContext,
  type BenchReport,
  cliPath,
  machineInfo,
  machineLine,
  max,
  mdTable,
  median,
  min,
  spread,
  textTable,
  timedNode,
} from './harness.js';

const REPS = Number(process.env.QUORUM_BENCH_REPS ?? 5);
/** `--version` samples (one per round), and how many of those rounds also time bare Node and the import. */
const STARTUP_REPS = 5;
const STARTUP_DETAIL_REPS = 3;
/** Rounds are cut short past this many seconds, but never below MIN_ROUNDS (then figures have fewer runs). */
const BUDGET_S = Number(process.env.QUORUM_BENCH_BUDGET_S ?? 75);
const MIN_ROUNDS = 3;
const QUERY = 'What does the protocol do by default?';

/**
 * A preload (`node --import data:…`) that only observes the CLI: when Node is ready, how much
 * CPU the process used, and every `fsyncSync` (count and time, on the event loop), written to
 * `$QUORUM_BENCH_PROBE` at exit. It patches `fs.fsyncSync` and syncs the ESM bindings before
 * the CLI's modules load; its own cost is a few microseconds.
 *
 * Two what-if switches, for the diagnostic rows only: `QUORUM_BENCH_NO_FSYNC=1` makes
 * `fsyncSync` a no-op (what moving the per-file fsyncs off the event loop could save), and
 * `QUORUM_BENCH_WARM_FETCH=1` loads Node's lazily loaded fetch implementation (undici) before
 * the CLI starts (how much of the first request's delay is that load).
 */
const PROBE_SOURCE = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const readyAt = performance.timeOrigin + performance.now();
const fsyncSync = fs.fsyncSync;
const noFsync = process.env.QUORUM_BENCH_NO_FSYNC === '1';
let fsyncs = 0, fsyncMs = 0;
fs.fsyncSync = function (fd) {
  const t = performance.now();
  try { return noFsync ? undefined : fsyncSync.call(this, fd); } finally { fsyncs++; fsyncMs += performance.now() - t; }
};
syncBuiltinESMExports();
if (process.env.QUORUM_BENCH_WARM_FETCH === '1') new Headers();
process.on('exit', () => {
  const cpu = process.cpuUsage();
  fs.writeFileSync(process.env.QUORUM_BENCH_PROBE, JSON.stringify({
    timeOrigin: performance.timeOrigin, readyAt, exitAt: performance.timeOrigin + performance.now(),
    cpuMs: (cpu.user + cpu.system) / 1000, fsyncs, fsyncMs,
  }));
});
`;
const PROBE_ARG = `--import=data:text/javascript,${encodeURIComponent(PROBE_SOURCE)}`;

interface Probe {
  timeOrigin: number;
  readyAt: number;
  exitAt: number;
  cpuMs: number;
  fsyncs: number;
  fsyncMs: number;
}

// ---------------------------------------------------------------- scenario and panel

const FACTS = ['The protocol uses port 8080 by default.', 'Every message carries a sequence number.', 'Connections close after 30 seconds of silence.'];
const LONE = [
  'Model zero likes turtles a lot.',
  'The logo of the project is purple.',
  'Its mascot is called Bruno the Badger.',
  'Release 4 shipped on a Tuesday.',
  'The spec has eleven appendices.',
  'Authors met in Lisbon in 2019.',
  'The reference server is written in Ada.',
  'Version numbers follow calendar dates.',
];
const FORMATS = [
  (c: string[]) => JSON.stringify({ claims: c }),
  (c: string[]) => `Here is what I found:\n\n\`\`\`json\n${JSON.stringify({ claims: c }, null, 2)}\n\`\`\``,
  (c: string[]) => c.map((x) => `- ${x}`).join('\n'),
  (c: string[]) => c.map((x, i) => `${i + 1}. ${x}`).join('\n'),
  (c: string[]) => c.join(' '),
];

/** Eight models sharing three facts in different answer formats, one lone claim each. */
function scenarioFor(latencies: readonly number[]): Scenario {
  return {
    models: latencies.map((latencyMs, port) => ({
      model: `family${port}/model-${port}`,
      family: `family${port}`,
      latencyMs,
      answer: FORMATS[port % FORMATS.length]!([...FACTS, LONE[port % LONE.length]!]),
      usage: { prompt_tokens: 100 + port, completion_tokens: 40 + port, cost: 0 },
    })),
  };
}

function writePanelFile(dir: string, baseURL: string, scenario: Scenario): string {
  const path = join(dir, 'panel.json');
  writeFileSync(
    path,
    JSON.stringify({
      baseURL,
      // Longer than the 20 s straggler: it must be cut by the grace period, not time out.
      timeoutMs: 30_000,
      members: scenario.models.map((m, port) => ({ port, model: m.model, family: m.family })),
    }),
  );
  return path;
}

// ---------------------------------------------------------------- artifacts

interface SpanLine {
  name: string;
  startTime: string;
  endTime: string;
  durationMs: number;
  attributes: Record<string, unknown>;
  status: { code: string };
}

/** Epoch ms (fractional) from an ISO timestamp with up to nanosecond digits. */
function isoMs(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!m) return Date.parse(iso);
  return Date.parse(`${m[1]}Z`) + Number((m[2] ?? '').padEnd(9, '0')) / 1e6;
}

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

interface RunArtifacts {
  spans: SpanLine[];
  root: SpanLine;
  completedMs: number;
  rounds: number | undefined;
  doc: ConsensusDocument;
}

function readArtifacts(out: string): RunArtifacts {
  const spans = readJsonl<SpanLine>(join(out, 'traces.jsonl'));
  const root = spans.find((s) => s.name === 'scatter_gather_research');
  if (!root) throw new Error(`no scatter_gather_research span in ${out}/traces.jsonl`);
  const events = readJsonl<{ type: string; data: { durationMs?: number; rounds?: number } }>(join(out, 'cloudevents.jsonl'));
  const completed = events.find((e) => e.type === 'quorum.run.completed');
  const started = events.find((e) => e.type === 'quorum.run.started');
  const runs = readdirSync(join(out, 'runs'));
  if (runs.length !== 1) throw new Error(`expected one run folder in ${out}/runs, found ${runs.length}`);
  const doc = JSON.parse(readFileSync(join(out, 'runs', runs[0]!, 'consensus.json'), 'utf8')) as ConsensusDocument;
  return { spans, root, completedMs: completed?.data.durationMs ?? Number.NaN, rounds: started?.data.rounds, doc };
}

// ---------------------------------------------------------------- one CLI run

/** One run of the binary. Times "at" are ms after spawn (bench clock vs the child's, ±1 ms). */
interface Sample {
  wallMs: number;
  /** Root span `scatter_gather_research`. */
  runMs: number;
  /** `quorum.run.completed` data.durationMs. */
  completedMs: number;
  rounds: number | undefined;
  /** Node bootstrapped (the preload ran). */
  nodeReadyAt: number;
  /** Root span start: modules loaded, arguments and panel parsed. */
  runStartAt: number;
  /** First chat request seen by the sandbox. */
  firstRequestAt: number;
  /** Last round-1 answer the sandbox began to send (arrival + latency), over ports that answered. */
  lastAnswerSentAt: number;
  /** The quorum-th successful query_model span ended. */
  quorumAt: number;
  scatterEndAt: number;
  runEndAt: number;
  /** The process's 'exit' event. */
  exitAt: number;
  stages: Record<string, number>;
  cpuMs: number;
  fsyncs: number;
  fsyncMs: number;
  doc: ConsensusDocument;
  /** Per request of this run: did the client disconnect, and when (ms after spawn, polled). */
  requests: { model: string; disconnected: boolean; disconnectedAt?: number; status: number }[];
}

const STAGES = ['scatter', 'gather', 'extract_claims', 'vote_consensus', 'synthesize_output'];

async function runCli(server: SandboxServer, scenario: Scenario, panelPath: string, c: Case, pollDisconnects = false): Promise<Sample> {
  const extraArgs = c.args;
  const base = mkdtempSync(join(tmpdir(), 'quorum-bench-'));
  const out = join(base, 'out');
  const probePath = join(base, 'probe.json');
  const firstRequest = server.requests.length;
  const disconnectSeen = new Map<number, number>();
  let spawnedAt = Date.now();
  const poll = pollDisconnects
    ? setInterval(() => {
        const now = Date.now();
        for (let i = firstRequest; i < server.requests.length; i++) {
          if (server.requests[i]!.disconnected && !disconnectSeen.has(i)) disconnectSeen.set(i, now - spawnedAt);
        }
      }, 2)
    : undefined;
  try {
    spawnedAt = Date.now();
    const run = await timedNode([PROBE_ARG, cliPath, 'ask', QUERY, '--panel', panelPath, '--out', out, ...extraArgs], {
      env: { PATH: process.env.PATH, QUORUM_BENCH_PROBE: probePath, ...c.env },
      timeoutMs: 60_000,
    });
    if (poll) clearInterval(poll);
    if (run.code !== 0) throw new Error(`quorum ask ${extraArgs.join(' ')} exited ${run.code}: ${run.stderr.slice(-2000)}`);
    const at = (epochMs: number) => epochMs - run.spawnedAt;
    const art = readArtifacts(out);
    const probe = JSON.parse(readFileSync(probePath, 'utf8')) as Probe;
    const reqs = server.requests.slice(firstRequest);
    // Round 1 only: a vote round (the default when it exists) asks each responder again.
    const round1 = reqs.filter((r, i) => reqs.findIndex((o) => o.model === r.model) === i);
    const latency = new Map(scenario.models.map((m) => [m.model, m.latencyMs ?? 0]));
    const failed = new Set(art.doc.failures.map((f) => f.model));
    const stages: Record<string, number> = {};
    for (const s of art.spans) if (STAGES.includes(s.name)) stages[s.name] = s.durationMs;
    const scatter = art.spans.find((s) => s.name === 'scatter');
    const okEnds = art.spans
      .filter((s) => s.name === 'query_model' && s.status.code === 'OK')
      .map((s) => isoMs(s.endTime))
      .sort((a, b) => a - b);
    const q = art.doc.quorum.configured;
    return {
      wallMs: run.wallMs,
      runMs: art.root.durationMs,
      completedMs: art.completedMs,
      rounds: art.rounds,
      nodeReadyAt: at(probe.readyAt),
      runStartAt: at(isoMs(art.root.startTime)),
      firstRequestAt: at(min(reqs.map((r) => r.at))),
      lastAnswerSentAt: at(max(round1.filter((r) => !failed.has(r.model)).map((r) => r.at + (latency.get(r.model) ?? 0)))),
      quorumAt: okEnds.length >= q ? at(okEnds[q - 1]!) : Number.NaN,
      scatterEndAt: scatter ? at(isoMs(scatter.endTime)) : Number.NaN,
      runEndAt: at(isoMs(art.root.endTime)),
      exitAt: at(probe.exitAt),
      stages,
      cpuMs: probe.cpuMs,
      fsyncs: probe.fsyncs,
      fsyncMs: probe.fsyncMs,
      doc: art.doc,
      requests: reqs.map((r, k) => ({
        model: r.model,
        disconnected: r.disconnected,
        status: r.status,
        ...(disconnectSeen.has(firstRequest + k) && { disconnectedAt: disconnectSeen.get(firstRequest + k)! }),
      })),
    };
  } finally {
    if (poll) clearInterval(poll);
    rmSync(base, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- cases

interface Case {
  id: string;
  latencies: number[];
  grace: 'all' | 'default';
  /** Extra CLI arguments. */
  args: string[];
  /** Extra environment (the probe's what-if switches). */
  env?: NodeJS.ProcessEnv;
  /** Measured runs; default REPS. */
  reps?: number;
}

interface Needed {
  /** The time the run cannot end before, ms. */
  ms: number;
  what: string;
}

/**
 * What the run must wait for. With `--grace -1`, every port: the slowest. With the default
 * grace, the quorum-th fastest port (t_q) ends the quorum wait and the grace equals the time to
 * quorum, so the cut comes at ≈ 2·t_q; the run ends at min(2·t_q, slowest).
 */
function neededFor(c: Case): Needed {
  const sorted = [...c.latencies].sort((a, b) => a - b);
  const slowest = sorted[sorted.length - 1]!;
  if (c.grace === 'all') return { ms: slowest, what: `all ${sorted.length}: slowest` };
  const q = defaultQuorum(sorted.length);
  const tq = sorted[q - 1]!;
  if (2 * tq >= slowest) return { ms: slowest, what: `t${q} = ${tq}, 2·t${q} ≥ slowest: all answer, slowest` };
  const cut = sorted.filter((l) => l > 2 * tq).length;
  return { ms: 2 * tq, what: `t${q} = ${tq} + grace ≈ t${q}: cut at 2·t${q} (${cut} cut)` };
}

const graceLabel = (c: Case) => (c.grace === 'all' ? '-1 (all)' : 'default');

const SPREAD = [100, 200, 300, 400, 500, 600, 700, 800];
const FLAT = Array<number>(8).fill(300);
const WITH_CUT = [100, 120, 140, 160, 180, 200, 2000, 3000];
/**
 * The ratio cases pin `--rounds=1`: the goal is about one scatter/gather, and a vote round
 * (a second call per responder) would add a second round of latencies.
 */
const ONE_ROUND = ['--rounds=1'];

const CASES: Case[] = [
  { id: '100, 200, …, 800', latencies: SPREAD, grace: 'all', args: ['--grace=-1', ...ONE_ROUND] },
  { id: '8 × 300', latencies: FLAT, grace: 'all', args: ['--grace=-1', ...ONE_ROUND] },
  { id: '100, 200, …, 800', latencies: SPREAD, grace: 'default', args: ONE_ROUND },
  { id: '8 × 300', latencies: FLAT, grace: 'default', args: ONE_ROUND },
  { id: '100, 120, …, 200, 2000, 3000', latencies: WITH_CUT, grace: 'default', args: ONE_ROUND },
];

/** Default settings, as the issue states it: no flags beyond the panel and the folder. */
const STRAGGLER: Case = { id: '7 × 100 + 1 × 20 000', latencies: [100, 100, 100, 100, 100, 100, 100, 20_000], grace: 'default', args: [] };
const STRAGGLER_MODEL = 'family7/model-7';

/** Diagnostics, not goals: the 8 × 300 all-needed case with one overhead removed by the probe. */
const WHAT_IF: { label: string; c: Case }[] = [
  { label: '`fsyncSync` a no-op', c: { ...CASES[1]!, env: { QUORUM_BENCH_NO_FSYNC: '1' }, reps: 3 } },
  { label: 'fetch (undici) loaded before the CLI starts', c: { ...CASES[1]!, env: { QUORUM_BENCH_WARM_FETCH: '1' }, reps: 3 } },
];

// ---------------------------------------------------------------- start-up

interface Startup {
  bareNode: number[];
  importCli: number[];
  version: number[];
}

const IMPORT_SCRIPT = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(cliPath).href)});process.stdout.write(String(performance.now()-t))`;

/** One start-up sample (`--version`); with `detail`, also bare Node and the module graph load. */
async function measureStartup(into: Startup, detail: boolean): Promise<void> {
  if (detail) {
    into.bareNode.push((await timedNode(['-e', '0'])).wallMs);
    into.importCli.push(Number((await timedNode(['--input-type=module', '-e', IMPORT_SCRIPT])).stdout));
  }
  const v = await timedNode([cliPath, '--version']);
  if (v.code !== 0) throw new Error(`quorum --version exited ${v.code}: ${v.stderr}`);
  into.version.push(v.wallMs);
}

// ---------------------------------------------------------------- run

interface Prepared {
  c: Case;
  scenario: Scenario;
  server: SandboxServer;
  panel: string;
  samples: Sample[];
}

/**
 * Runs every case round-robin (round i runs each case's i-th sample, after one start-up sample
 * of each kind), so that load from elsewhere on the machine spreads over all cases alike.
 */
async function runAll(cases: Case[], ctx: BenchContext, startup: Startup): Promise<{ samples: Sample[][]; loads: number[] }> {
  const t0 = Date.now();
  const loads: number[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'quorum-bench-panel-'));
  const prepared: Prepared[] = [];
  try {
    for (const [i, c] of cases.entries()) {
      const scenario = scenarioFor(c.latencies);
      const server = await startSandboxServer({ scenario });
      const panelDir = join(dir, String(i));
      mkdirSync(panelDir);
      prepared.push({ c, scenario, server, panel: writePanelFile(panelDir, server.baseURL, scenario), samples: [] });
    }
    const rounds = Math.max(STARTUP_REPS, ...cases.map((c) => c.reps ?? REPS));
    for (let round = 0; round < rounds; round++) {
      // On a busy machine, stop after MIN_ROUNDS rather than run past the time budget.
      const elapsedS = (Date.now() - t0) / 1000;
      if (round >= MIN_ROUNDS && elapsedS + elapsedS / round > BUDGET_S) {
        ctx.log(`  stopping after ${round} rounds: ${elapsedS.toFixed(0)} s spent, budget ${BUDGET_S} s`);
        break;
      }
      if (round < STARTUP_REPS) await measureStartup(startup, round < STARTUP_DETAIL_REPS);
      for (const p of prepared) {
        if (round >= (p.c.reps ?? REPS)) continue;
        p.samples.push(await runCli(p.server, p.scenario, p.panel, p.c, p.c === STRAGGLER));
      }
      loads.push(loadavg()[0] ?? 0);
      ctx.log(`  round ${round + 1}/${rounds} done (1-min load ${loads[loads.length - 1]!.toFixed(2)})`);
    }
    return { samples: prepared.map((p) => p.samples), loads };
  } finally {
    await Promise.all(prepared.map((p) => p.server.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '–');
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
const ratioSpread = (values: number[]) => `${f2(median(values))} (${f2(min(values))}–${f2(max(values))})`;
const plain = (cell: string) => cell.replace(/\*\*|`/g, '');

type CaseResult = { c: Case; needed: Needed; samples: Sample[] };

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const m0 = machineInfo();
  const t0 = Date.now();
  const startup: Startup = { bareNode: [], importCli: [], version: [] };
  const everyCase = [...CASES, STRAGGLER, ...WHAT_IF.map((w) => w.c)];
  ctx.log(`${everyCase.length} cases, ${REPS} runs each (what-ifs ${WHAT_IF[0]?.c.reps ?? REPS}), round-robin; ${STARTUP_REPS} start-up samples …`);
  const { samples, loads } = await runAll(everyCase, ctx, startup);
  const startupMs = median(startup.version);
  const resultOf = (c: Case): CaseResult => ({ c, needed: neededFor(c), samples: samples[everyCase.indexOf(c)]! });
  const results = CASES.map(resultOf);
  const straggler = resultOf(STRAGGLER);
  const whatIf = WHAT_IF.map((w) => ({ label: w.label, r: resultOf(w.c) }));
  ctx.log(`  start-up: node -e 0 ${spread(startup.bareNode)} ms, import dist/cli.js ${spread(startup.importCli)} ms, --version ${spread(startup.version)} ms`);
  for (const r of [...results, straggler]) ctx.log(`  ${r.c.id}, grace ${graceLabel(r.c)}: wall ${spread(r.samples.map((s) => s.wallMs))} ms, run ${spread(r.samples.map((s) => s.runMs))} ms`);
  const totalS = (Date.now() - t0) / 1000;
  const all = [...results, straggler];

  const med = (r: CaseResult, pick: (s: Sample) => number) => median(r.samples.map(pick));
  const label = (r: CaseResult) => `${r.c.id}, ${graceLabel(r.c)}`;
  /** The issue's measure: start-up is the median `--version` run. */
  const wallRatio = (r: CaseResult) => r.samples.map((s) => (s.wallMs - startupMs) / r.needed.ms);
  /** Paired per run: start-up is this run's own spawn → run start. */
  const ownRatio = (r: CaseResult) => r.samples.map((s) => (s.wallMs - s.runStartAt) / r.needed.ms);

  // ---- 1. wall time vs the slowest needed port
  const wallHeader = ['latencies (ms)', '--grace', 'needed', 'needed ms', 'runs', 'wall ms', 'run ms (root span)', 'run / needed', '(wall − start-up) / needed', '(wall − own run start) / needed', 'goal ≤ 1.05'];
  const wallRows = results.map((r) => [
    r.c.id,
    graceLabel(r.c),
    r.needed.what,
    f0(r.needed.ms),
    String(r.samples.length),
    spread(r.samples.map((s) => s.wallMs)),
    spread(r.samples.map((s) => s.runMs)),
    ratioSpread(r.samples.map((s) => s.runMs / r.needed.ms)),
    ratioSpread(wallRatio(r)),
    ratioSpread(ownRatio(r)),
    median(ownRatio(r)) <= 1.05 ? 'met' : '**missed**',
  ]);

  // ---- 2. timeline (medians, ms after spawn)
  const timelineHeader = ['case', 'Node ready', 'run starts', '1st request arrives', 'quorum', 'last answer sent', 'scatter ends', 'run ends', "'exit' event", 'closed (wall)'];
  const timelineRows = all.map((r) => [
    label(r),
    f0(med(r, (s) => s.nodeReadyAt)),
    f0(med(r, (s) => s.runStartAt)),
    f0(med(r, (s) => s.firstRequestAt)),
    f0(med(r, (s) => s.quorumAt)),
    f0(med(r, (s) => s.lastAnswerSentAt)),
    f0(med(r, (s) => s.scatterEndAt)),
    f0(med(r, (s) => s.runEndAt)),
    f0(med(r, (s) => s.exitAt)),
    f0(med(r, (s) => s.wallMs)),
  ]);

  // ---- 3. where the run's own time goes (medians, ms)
  const overheadHeader = [
    'case',
    'run − needed',
    'run start → 1st request',
    'quorum → cut (grace)',
    'last answer sent → scatter end',
    'extract_claims',
    'vote_consensus',
    'synthesize_output',
    'run end → exit',
    'sync fsyncs (count / ms)',
    'CPU ms (whole process)',
  ];
  const overheadRow = (name: string, r: CaseResult) => {
    const cut = r.needed.what.includes('cut');
    return [
      name,
      f0(med(r, (s) => s.runMs - r.needed.ms)),
      f0(med(r, (s) => s.firstRequestAt - s.runStartAt)),
      cut ? f0(med(r, (s) => s.scatterEndAt - s.quorumAt)) : '–',
      cut ? '(cut)' : f0(med(r, (s) => s.scatterEndAt - s.lastAnswerSentAt)),
      f1(med(r, (s) => s.stages.extract_claims ?? Number.NaN)),
      f1(med(r, (s) => s.stages.vote_consensus ?? Number.NaN)),
      f1(med(r, (s) => s.stages.synthesize_output ?? Number.NaN)),
      f0(med(r, (s) => s.exitAt - s.runEndAt)),
      `${f0(med(r, (s) => s.fsyncs))} / ${f0(med(r, (s) => s.fsyncMs))}`,
      f0(med(r, (s) => s.cpuMs)),
    ];
  };
  const overheadRows = all.map((r) => overheadRow(label(r), r));

  // ---- 4. what-if diagnostics against the same case's measured runs
  const base = results[1]!;
  const whatIfHeader = ['8 × 300, --grace -1', 'runs', 'run ms', 'run − needed', 'run start → 1st request', 'last answer sent → scatter end', 'sync fsync ms', '(wall − own run start) / needed'];
  const whatIfRow = (name: string, r: CaseResult) => [
    name,
    String(r.samples.length),
    spread(r.samples.map((s) => s.runMs)),
    f0(med(r, (s) => s.runMs - r.needed.ms)),
    f0(med(r, (s) => s.firstRequestAt - s.runStartAt)),
    f0(med(r, (s) => s.scatterEndAt - s.lastAnswerSentAt)),
    f0(med(r, (s) => s.fsyncMs)),
    ratioSpread(ownRatio(r)),
  ];
  const whatIfRows = [whatIfRow('as measured above', base), ...whatIf.map((w) => whatIfRow(w.label, w.r))];

  // ---- 5. straggler
  const checks = straggler.samples.map((s) => {
    const failure = s.doc.failures.find((f) => f.model === STRAGGLER_MODEL);
    const req = s.requests.find((r) => r.model === STRAGGLER_MODEL);
    return {
      cancelled: failure?.kind === 'cancelled',
      aborted: Boolean(req?.disconnected) && req?.status === 0,
      abortedAt: req?.disconnectedAt ?? Number.NaN,
      responders: s.doc.quorum.responders,
      status: s.doc.status,
    };
  });
  const afterStartup = straggler.samples.map((s) => s.wallMs - startupMs);
  const afterOwnStart = straggler.samples.map((s) => s.wallMs - s.runStartAt);
  const stragglerMet = median(afterOwnStart) < 1000 && checks.every((k) => k.cancelled && k.aborted);
  const rounds = [...new Set(straggler.samples.map((s) => s.rounds ?? '?'))].join(', ');
  const stragglerRows = [
    ['wall: spawn → process closed (ms)', spread(straggler.samples.map((s) => s.wallMs))],
    ['start-up: `quorum --version` (ms)', spread(startup.version)],
    ['wall − start-up (ms)', spread(afterStartup)],
    ['**wall − own run start (ms)**, goal < 1000', `**${spread(afterOwnStart)}** (${median(afterOwnStart) < 1000 ? 'met' : '**missed**'})`],
    ['run (root span, ms)', spread(straggler.samples.map((s) => s.runMs))],
    ['quorum (6th answer) → cut, the grace (ms)', spread(straggler.samples.map((s) => s.scatterEndAt - s.quorumAt))],
    ['straggler request aborted (ms after spawn; polled every 2 ms)', spread(checks.map((k) => k.abortedAt))],
    ['process closed after the abort (ms)', spread(straggler.samples.map((s, i) => s.wallMs - checks[i]!.abortedAt))],
    ['straggler reported `cancelled` in consensus.json', `${checks.filter((k) => k.cancelled).length} / ${checks.length} runs`],
    ['its HTTP request aborted by the client (sandbox `disconnected`, no status sent)', `${checks.filter((k) => k.aborted).length} / ${checks.length} runs`],
    ['run status, responders; vote rounds', `${[...new Set(checks.map((k) => `${k.status}, ${k.responders} of 8`))].join('; ')}; ${rounds}`],
  ];

  const startupRows = [
    ['`node -e 0` (bare Node)', spread(startup.bareNode)],
    ['`await import("dist/cli.js")` inside Node (module graph load)', spread(startup.importCli)],
    ['**`node dist/cli.js --version`** (subtracted as start-up)', `**${spread(startup.version)}**`],
  ];

  const worst = results.reduce((a, b) => (median(ownRatio(b)) > median(ownRatio(a)) ? b : a));
  const allMet = results.every((r) => median(ownRatio(r)) <= 1.05);
  const endLoad = loadavg()[0] ?? 0;
  const maxLoad = Math.max(m0.load1, endLoad, ...loads);
  const busy = maxLoad > m0.nproc;
  const mline = machineLine(m0, endLoad);
  const completedGap = max(all.flatMap((r) => r.samples.map((s) => Math.abs(s.completedMs - s.runMs))));

  // ---- findings, from this run's figures
  const spreadCase = results[0]!;
  const flatCase = results[1]!;
  const allSamples = all.flatMap((r) => r.samples);
  const firstReq = median(allSamples.map((s) => s.firstRequestAt - s.runStartAt));
  const warm = whatIf.find((w) => w.r.c.env?.QUORUM_BENCH_WARM_FETCH)?.r;
  const noFsync = whatIf.find((w) => w.r.c.env?.QUORUM_BENCH_NO_FSYNC)?.r;
  const findings = [
    `Start-up: \`--version\` takes ${f0(startupMs)} ms. For comparison, bare Node takes ${f0(median(startup.bareNode))} ms, and importing \`dist/cli.js\` in a fresh Node takes ${f0(median(startup.importCli))} ms (other samples, so the figures do not add up exactly). The goal leaves start-up out, but here it is most of every wall time.`,
    `Run overhead with \`--grace -1\` (run − slowest): ${f0(med(spreadCase, (s) => s.runMs - spreadCase.needed.ms))} ms at 100…800 and ${f0(med(flatCase, (s) => s.runMs - flatCase.needed.ms))} ms at 8 × 300. A ratio of 1.05 allows 40 ms at 800 ms and 15 ms at 300 ms.`,
    `Before the first request: run start → 1st request takes ${f0(firstReq)} ms (median over all runs)${warm ? `, and ${f0(med(warm, (s) => s.firstRequestAt - s.runStartAt))} ms when fetch is loaded before the CLI starts (what-if)` : ''}. Node 20 loads its fetch implementation (undici) on the first request. The rest is the OpenAI SDK building eight requests and opening eight connections.`,
    `Answers that arrive together are handled one at a time. Last answer sent → scatter end takes ${f0(med(flatCase, (s) => s.scatterEndAt - s.lastAnswerSentAt))} ms for 8 × 300, against ${f0(med(spreadCase, (s) => s.scatterEndAt - s.lastAnswerSentAt))} ms for 100…800, where answers come 100 ms apart. For each answering port the recorder writes \`responses/port_N.json\` atomically and synchronously, with a file fsync and a folder fsync on the event loop (\`RunRecorder.portFinished\` → \`writeJsonAtomicSync\`). That is ${f0(med(flatCase, (s) => s.fsyncs))} sync fsyncs and ${f0(med(flatCase, (s) => s.fsyncMs))} ms per run${noFsync ? `. With \`fsyncSync\` a no-op (what-if), run − needed at 8 × 300 goes from ${f0(med(flatCase, (s) => s.runMs - flatCase.needed.ms))} to ${f0(med(noFsync, (s) => s.runMs - noFsync.needed.ms))} ms` : ''}.`,
    `After the run: run end → 'exit' takes ${f0(median(allSamples.map((s) => s.exitAt - s.runEndAt)))} ms (median; up to ${f0(max(allSamples.map((s) => s.exitAt - s.runEndAt)))} ms). In that time the three JSONL sinks (cloudevents, blackboard, traces) are fdatasynced as they close; \`runAsk\` awaits this in its \`finally\` (\`runSinks.close()\`). Process teardown ('exit' → closed) then takes ${f0(median(allSamples.map((s) => s.wallMs - s.exitAt)))} ms.`,
    `Default grace: the grace is the measured time to quorum, client overhead included. With the straggler, the cut comes ${f0(med(straggler, (s) => s.scatterEndAt - s.quorumAt))} ms after quorum, although the nominal t6 is 100 ms.`,
  ];

  const markdown = [
    'Measured by `npm run bench` (`bench/ask.ts`); this block is rewritten by that script.',
    '',
    `The real binary, \`node dist/cli.js ask "…" --panel FILE --out TMP\`, runs as a child process against the sandbox server (\`startSandboxServer\`, in the bench process). Eight simulated models each answer after their own latency (\`latencyMs\`); the answers are streamed, and they hold three shared facts in five formats. Each case gets up to ${REPS} runs (fewer when the ${BUDGET_S} s budget runs out on a busy machine; see *runs*). The cases run round-robin (one run of each case per round, with one start-up sample per round), so that load from elsewhere on the machine falls on all cases alike. Figures are median (min–max). *Wall* runs from spawn until the process has closed. *Start-up* is the median wall time of \`node dist/cli.js --version\` (${f0(startupMs)} ms), which loads the same modules. *Own run start* is the same run's spawn → root span start, a paired start-up that is less noisy on a busy machine. *Run* is the root span \`scatter_gather_research\` in traces.jsonl; \`quorum.run.completed\` durationMs agrees with it to within ${f0(completedGap)} ms. The ratio cases pin \`--rounds=1\`, because the goal covers a single scatter and gather. The straggler case uses default settings. A tiny \`--import\` preload only observes the child: when Node is ready, CPU time, and each \`fsyncSync\` at exit.`,
    '',
    `*Needed*: with \`--grace -1\` every port is needed, so the slowest latency counts. With the default grace the quorum is 6 of 8. The 6th-fastest latency t6 ends the wait for quorum. The grace is as long as quorum took (≈ t6), so the cut comes at ≈ 2·t6, and the run ends at ≈ min(2·t6, slowest). For 100…800, 2·600 > 800, so every port answers before the cut and the slowest (800) counts. With 8 × 300 the same holds. With 100…200 plus 2 s and 3 s, the two slow ports are cut at ≈ 2·200 = 400 ms. The grace is measured, not nominal: it also holds the client overhead that was paid before quorum (see "run start → 1st request"), so with the default grace that overhead counts twice. Goal (the issue's): wall ≤ 1.05 × needed + process start-up, i.e. (wall − start-up) / needed ≤ 1.05.`,
    '',
    `**Start-up** (ms; \`--version\` ${STARTUP_REPS} runs, the others ${STARTUP_DETAIL_REPS}):`,
    '',
    mdTable(['', 'ms'], startupRows),
    '',
    '**Wall time vs the slowest needed port** (ms):',
    '',
    mdTable(wallHeader, wallRows),
    '',
    "**Timeline** (medians, ms after spawn; the bench's clock against the child's span clock, ±1 ms):",
    '',
    mdTable(timelineHeader, timelineRows),
    '',
    "**Where the run's own time goes** (medians, ms). \"Sync fsyncs\" are `fsyncSync` calls made on the event loop: the atomic writes of each `responses/port_N.json`, consensus.json and consensus.md, each with a file fsync and a folder fsync:",
    '',
    mdTable(overheadHeader, overheadRows),
    '',
    '**What-if diagnostics** (not goals; the probe removes one overhead, and src is unchanged):',
    '',
    mdTable(whatIfHeader, whatIfRows),
    '',
    `**Straggler**: seven ports at 100 ms and one at 20 s, default settings (quorum 6 of 8, default grace, panel timeout 30 s), ${straggler.samples.length} runs:`,
    '',
    mdTable(['', 'median (min–max)'], stragglerRows),
    '',
    ...(busy
      ? [
          `- **The machine was busy**: the 1-min load average (${m0.load1.toFixed(1)} at start, up to ${maxLoad.toFixed(1)} during the runs) was above its ${m0.nproc} CPU(s). Other work competed for the CPU and the disk, so every figure here is inflated and noisy. Compare min values, and rerun on an idle machine before drawing conclusions.`,
        ]
      : []),
    `- Wall-time goal ((wall − own run start) / needed ≤ 1.05, median): ${allMet ? 'met in every case' : '**missed**'}. Worst case: ${label(worst)}, ${f2(median(ownRatio(worst)))}. The verdict uses the paired start-up, because subtracting the median start-up of other processes is too noisy when the load is high (it can even go negative). The paired measure is the stricter one: it counts the \`ask\` command's own argument and panel parsing as run time.`,
    `- Straggler goal (median wall − own run start < 1 s, straggler \`cancelled\`, its request aborted): ${stragglerMet ? 'met' : '**missed**'}.`,
    ...findings.map((f) => `- ${f}`),
    `- ${mline} Whole benchmark ${totalS.toFixed(1)} s.`,
  ].join('\n');

  const table = [
    textTable(['start-up', 'ms'], startupRows.map((r) => r.map(plain))),
    '',
    textTable(
      ['latencies', 'grace', 'needed', 'wall ms', 'run ms', 'run/needed', '(wall−start-up)/needed', '(wall−own start)/needed', 'goal'],
      wallRows.map((r) => [r[0]!, r[1]!, r[3]!, r[5]!, r[6]!, r[7]!, r[8]!, r[9]!, plain(r[10]!)]),
    ),
    '',
    textTable(timelineHeader, timelineRows),
    '',
    textTable(overheadHeader, overheadRows),
    '',
    textTable(whatIfHeader, whatIfRows.map((r) => r.map(plain))),
    '',
    textTable(['straggler', ''], stragglerRows.map((r) => r.map(plain))),
    '',
    ...findings.map((f) => `- ${plain(f)}`),
    mline,
  ].join('\n');

  return { id: 'ask', heading: 'ask: wall time and straggler cut', markdown, table };
}

// Alone: `npx tsx bench/ask.ts` prints the tables without touching BENCHMARKS.md.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run({ repoRoot: process.cwd(), log: (l) => console.log(l) }).then((r) => console.log(`\n${r.table}`));
}
