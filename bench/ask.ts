/**
 * `ask` performance against the local sandbox server with per-port latencies, through the REAL
 * `quorum` binary users run: package.json's `bin` (the esbuild bundle `dist/bin/cli.js`, see
 * scripts/bundle.mjs), as `node dist/bin/cli.js ask … --panel FILE --out TMP`, a child process.
 * Every `ask` runs with the default two rounds (answers, then a vote of every round-1 responder).
 *
 * 1. Goal: eight ports at 100, 200, …, 800 ms, default settings: spawn → exit ≤ 1.15 × the time
 *    the needed ports take (see `neededFor`: the slowest needed port of round 1 plus the slowest
 *    of round 2, 800 + 800 = 1,600 ms). The same ports with `--grace -1`, eight ports at 300 ms
 *    (both graces) and a case where the default grace cuts two slow ports are reported alongside.
 * 2. Start-up: `node dist/bin/cli.js --version` wall time ≤ 0.2 s (the unbundled `dist/cli.js
 *    --version` and bare Node as comparison rows), and spawn → root span start of the `ask` runs.
 * 3. Straggler: seven ports at 100 ms and one at 20 s; with default settings the command must
 *    end well under 1 s after its own run start, report the straggler `cancelled` and abort its
 *    request.
 *
 * A run records itself as lines of the append-only run log (docs/CONTRACTS.md "The run log
 * (0.2)"): one group-commit writer (src/runlog/logWriter.ts) appends them off the event loop,
 * fdatasyncs runs.jsonl in its commit and the other logs at close; `ask` then renders the
 * runs/<id>/ view files. Nothing is fsynced synchronously.
 *
 * Run by `npm run bench` (bench/run.ts; `-- --only ask` for this one); `npx tsx bench/ask.ts`
 * runs it alone and prints the tables without writing BENCHMARKS.md. The whole module takes
 * about a minute (a time budget cuts the rounds short on a busy machine). Environment:
 *   QUORUM_BENCH_REPS       runs of each case (default 5)
 *   QUORUM_BENCH_BUDGET_S   stop starting new rounds past this (default 75; never below 3 rounds)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultMinResponders, defaultQuorum, requiredVotes } from '../src/claims/quorumRules.js';
import type { Scenario } from '../src/sandbox/scenario.js';
import { type SandboxServer, startSandboxServer } from '../src/sandbox/server.js';
import type { ConsensusDocument } from '../src/types.js';
import {
  type BenchContext,
  type BenchReport,
  binPath,
  cliPath,
  machineInfo,
  machineLine,
  max,
  mdTable,
  median,
  min,
  repoRoot,
  spread,
  textTable,
  timedNode,
} from './harness.js';

const binName = relative(repoRoot, binPath);
const cliName = relative(repoRoot, cliPath);
/** The unbundled `--version` is timed as a comparison row when the bin is another file. */
const UNBUNDLED = binPath !== cliPath;

const envNum = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const REPS = envNum('QUORUM_BENCH_REPS', 5);
/** `--version` samples of each kind (bin, unbundled, bare Node) per round, alternately. */
const VERSION_PER_ROUND = 2;
/** Rounds are cut short past this many seconds, but never below MIN_ROUNDS (then figures have fewer runs). */
const BUDGET_S = envNum('QUORUM_BENCH_BUDGET_S', 75);
const MIN_ROUNDS = 3;
const QUERY = 'What does the protocol do by default?';
const GOALS = {
  /** spawn → exit ≤ 1.15 × needed, for 100…800 with default settings. */
  wallRatio: 1.15,
  /** `node <bin> --version` wall time, ms. */
  versionMs: 200,
  /** Straggler: wall − own run start, ms. */
  stragglerMs: 1000,
};

/**
 * A preload (`node --import data:…`) that only observes the CLI: when Node is ready and how much
 * CPU the process used, written to `$QUORUM_BENCH_PROBE` at exit. Its own cost is a few
 * microseconds.
 *
 * One what-if switch, for the diagnostic row only: `QUORUM_BENCH_WARM_FETCH=1` loads Node's
 * lazily loaded fetch implementation (undici) before the CLI starts (how much of the first
 * request's delay is that load).
 */
const PROBE_SOURCE = `
import fs from 'node:fs';
const readyAt = performance.timeOrigin + performance.now();
if (process.env.QUORUM_BENCH_WARM_FETCH === '1') new Headers();
process.on('exit', () => {
  const cpu = process.cpuUsage();
  fs.writeFileSync(process.env.QUORUM_BENCH_PROBE, JSON.stringify({
    timeOrigin: performance.timeOrigin, readyAt, exitAt: performance.timeOrigin + performance.now(),
    cpuMs: (cpu.user + cpu.system) / 1000,
  }));
});
`;
const PROBE_ARG = `--import=data:text/javascript,${encodeURIComponent(PROBE_SOURCE)}`;

interface Probe {
  timeOrigin: number;
  readyAt: number;
  exitAt: number;
  cpuMs: number;
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
  doc: ConsensusDocument;
}

/** The run as its run log holds it: spans (traces.jsonl), events, and the run line (runs.jsonl, the consensus document). */
function readArtifacts(out: string): RunArtifacts {
  const spans = readJsonl<SpanLine>(join(out, 'traces.jsonl'));
  const root = spans.find((s) => s.name === 'scatter_gather_research');
  if (!root) throw new Error(`no scatter_gather_research span in ${out}/traces.jsonl`);
  const events = readJsonl<{ type: string; data: { durationMs?: number } }>(join(out, 'cloudevents.jsonl'));
  const completed = events.find((e) => e.type === 'quorum.run.completed');
  const runs = readJsonl<ConsensusDocument>(join(out, 'runs.jsonl'));
  if (runs.length !== 1) throw new Error(`expected one run line in ${out}/runs.jsonl, found ${runs.length}`);
  return { spans, root, completedMs: completed?.data.durationMs ?? Number.NaN, doc: runs[0]! };
}

// ---------------------------------------------------------------- one CLI run

/** One round's calls. Times "at" are ms after spawn (bench clock vs the child's, ±1 ms). */
interface RoundTimes {
  /** The round's span starts: `scatter` (round 1), `vote_round` (round 2). */
  startAt: number;
  /** First request of the round seen by the sandbox. */
  firstRequestAt: number;
  /** The q-th successful query_model span of the round ended (q: the round's quorum). */
  quorumAt: number;
  /** Last answer of the round the sandbox began to send (arrival + latency), over the ports whose call succeeded. */
  lastAnswerSentAt: number;
  /** The round's span ends: its calls are over (answered or cut). */
  endAt: number;
  /** Ports whose call succeeded. */
  answered: number;
}

/** One run of the binary. Times "at" are ms after spawn (bench clock vs the child's, ±1 ms). */
interface Sample {
  /** Spawn → the process closed (exit, stdio drained): what a shell waits for. */
  wallMs: number;
  /** Root span `scatter_gather_research`. */
  runMs: number;
  /** `quorum.run.completed` data.durationMs. */
  completedMs: number;
  /** Node bootstrapped (the preload ran). */
  nodeReadyAt: number;
  /** Root span start: the `ask` command loaded, arguments and panel parsed, the run log writer set up. */
  runStartAt: number;
  r1: RoundTimes;
  /** Absent when no vote round ran. */
  r2?: RoundTimes;
  runEndAt: number;
  /** The process's 'exit' event. */
  exitAt: number;
  stages: Record<string, number>;
  cpuMs: number;
  doc: ConsensusDocument;
  /** Per request of this run: did the client disconnect, and when (ms after spawn, polled). */
  requests: { model: string; disconnected: boolean; disconnectedAt?: number; status: number }[];
}

const STAGES = ['extract_claims', 'cluster_claims', 'vote_consensus', 'synthesize_output'];

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
    const run = await timedNode([PROBE_ARG, binPath, 'ask', QUERY, '--panel', panelPath, '--out', out, ...extraArgs], {
      env: { PATH: process.env.PATH, QUORUM_BENCH_PROBE: probePath, ...c.env },
      timeoutMs: 60_000,
    });
    if (poll) clearInterval(poll);
    if (run.code !== 0) throw new Error(`quorum ask ${extraArgs.join(' ')} exited ${run.code}: ${run.stderr.slice(-2000)}`);
    const at = (epochMs: number) => epochMs - run.spawnedAt;
    const art = readArtifacts(out);
    const probe = JSON.parse(readFileSync(probePath, 'utf8')) as Probe;
    const reqs = server.requests.slice(firstRequest);
    // A model's first request is its round-1 call, its second the vote (no faults, so no retries).
    const seen = new Map<string, number>();
    const reqRound = reqs.map((r) => {
      const n = (seen.get(r.model) ?? 0) + 1;
      seen.set(r.model, n);
      return n;
    });
    const latency = new Map(scenario.models.map((m) => [m.model, m.latencyMs ?? 0]));
    const stages: Record<string, number> = {};
    for (const s of art.spans) if (STAGES.includes(s.name)) stages[s.name] = s.durationMs;
    const n = scenario.models.length;
    const configured = art.doc.quorum.configured;
    const roundTimes = (round: 1 | 2, span: SpanLine | undefined, q: (answered: number) => number): RoundTimes | undefined => {
      if (!span) return undefined;
      const calls = art.spans.filter((s) => s.name === 'query_model' && s.attributes['quorum.round'] === round);
      const ok = calls.filter((s) => s.status.code === 'OK');
      const okModels = new Set(ok.map((s) => String(s.attributes['gen_ai.request.model'])));
      const okEnds = ok.map((s) => isoMs(s.endTime)).sort((a, b) => a - b);
      const mine = reqs.filter((_, i) => reqRound[i] === round);
      const needed = q(calls.length);
      return {
        startAt: at(isoMs(span.startTime)),
        firstRequestAt: at(min(mine.map((r) => r.at))),
        quorumAt: okEnds.length >= needed ? at(okEnds[needed - 1]!) : Number.NaN,
        lastAnswerSentAt: at(max(mine.filter((r) => okModels.has(r.model)).map((r) => r.at + (latency.get(r.model) ?? 0)))),
        endAt: at(isoMs(span.endTime)),
        answered: ok.length,
      };
    };
    const r1 = roundTimes(1, art.spans.find((s) => s.name === 'scatter'), () => configured)!;
    // The vote round's quorum (src/operators/voteRound.ts): the votes round 1's responders require, at most the voters.
    const r2 = roundTimes(2, art.spans.find((s) => s.name === 'vote_round'), (voters) =>
      Math.min(requiredVotes({ configured, responders: voters, panel: n }).required, voters),
    );
    return {
      wallMs: run.wallMs,
      runMs: art.root.durationMs,
      completedMs: art.completedMs,
      nodeReadyAt: at(probe.readyAt),
      runStartAt: at(isoMs(art.root.startTime)),
      r1,
      ...(r2 && { r2 }),
      runEndAt: at(isoMs(art.root.endTime)),
      exitAt: at(probe.exitAt),
      stages,
      cpuMs: probe.cpuMs,
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
  /** Extra CLI arguments (never `--rounds`: every case runs the default two rounds). */
  args: string[];
  /** Extra environment (the probe's what-if switch). */
  env?: NodeJS.ProcessEnv;
  /** Measured runs; default REPS. */
  reps?: number;
}

interface RoundNeed {
  /** The time the round cannot end before, ms after its requests go out. */
  ms: number;
  /** Latencies of the ports that answer before the cut (round 2 asks only these). */
  responders: number[];
  what: string;
}

interface Needed {
  /** The time the run cannot end before: round 1's + round 2's, ms. */
  ms: number;
  rounds: RoundNeed[];
  what: string;
  /** Some port is cut by the grace in some round. */
  cut: boolean;
}

/**
 * What one round must wait for, among ports with these latencies, when `q` answers make its
 * quorum. With `--grace -1`: every port, so the slowest. With the default grace, the q-th
 * fastest port (t_q) ends the wait for quorum and the grace is as long as that took, so the
 * cut comes at ≈ 2·t_q: the round takes min(2·t_q, slowest), and ports slower than 2·t_q are
 * cut (not needed; in round 1 they also get no vote).
 */
function roundNeed(latencies: readonly number[], q: number, grace: Case['grace']): RoundNeed {
  const sorted = [...latencies].sort((a, b) => a - b);
  const slowest = sorted[sorted.length - 1] ?? 0;
  if (grace === 'all') return { ms: slowest, responders: sorted, what: `all ${sorted.length}: slowest ${slowest}` };
  const tq = sorted[q - 1]!;
  if (2 * tq >= slowest) return { ms: slowest, responders: sorted, what: `t${q} = ${tq}, 2·t${q} ≥ slowest: all ${sorted.length}, slowest ${slowest}` };
  const responders = sorted.filter((l) => l <= 2 * tq);
  return { ms: 2 * tq, responders, what: `t${q} = ${tq}: cut at 2·t${q} = ${2 * tq} (${sorted.length - responders.length} cut)` };
}

/**
 * The time the needed ports take, from the scenario: round 1 asks every port and waits for the
 * slowest needed one (see `roundNeed`, quorum q = 6 of 8); round 2, the vote, asks round 1's
 * responders again (same latencies) and waits the same way for its own quorum (the votes round
 * 1's responders require, at most the voters). Needed = round 1's + round 2's; for 100…800 that
 * is 800 + 800.
 */
function neededFor(c: Case): Needed {
  const n = c.latencies.length;
  const q = defaultQuorum(n);
  const r1 = roundNeed(c.latencies, q, c.grace);
  const voters = r1.responders.length;
  // Too few responders: quorum lost, no vote round.
  if (voters < defaultMinResponders(n)) return { ms: r1.ms, rounds: [r1], what: `R1 ${r1.what}; no vote round`, cut: voters < n };
  const q2 = Math.min(requiredVotes({ configured: q, responders: voters, panel: n }).required, voters);
  const r2 = roundNeed(r1.responders, q2, c.grace);
  return {
    ms: r1.ms + r2.ms,
    rounds: [r1, r2],
    what: `R1 ${r1.what}; R2 (${voters} voters) ${r2.what}`,
    cut: voters < n || r2.responders.length < voters,
  };
}

const graceLabel = (c: Case) => (c.grace === 'all' ? '-1 (all)' : 'default');

const SPREAD = [100, 200, 300, 400, 500, 600, 700, 800];
const FLAT = Array<number>(8).fill(300);
const WITH_CUT = [100, 120, 140, 160, 180, 200, 2000, 3000];

/** The goal's case: 100…800, default settings (two rounds, default grace). */
const GOAL_CASE: Case = { id: '100, 200, …, 800', latencies: SPREAD, grace: 'default', args: [] };
const CASES: Case[] = [
  GOAL_CASE,
  { id: '100, 200, …, 800', latencies: SPREAD, grace: 'all', args: ['--grace=-1'] },
  { id: '8 × 300', latencies: FLAT, grace: 'default', args: [] },
  { id: '8 × 300', latencies: FLAT, grace: 'all', args: ['--grace=-1'] },
  { id: '100, 120, …, 200, 2000, 3000', latencies: WITH_CUT, grace: 'default', args: [] },
];
const FLAT_ALL = CASES[3]!;

/** Default settings, as the issue states it: no flags beyond the panel and the folder. */
const STRAGGLER: Case = { id: '7 × 100 + 1 × 20 000', latencies: [100, 100, 100, 100, 100, 100, 100, 20_000], grace: 'default', args: [] };
const STRAGGLER_MODEL = 'family7/model-7';

/** Diagnostics, not goals: the 8 × 300 all-needed case with one overhead removed by the probe. */
const WHAT_IF: { label: string; c: Case }[] = [{ label: 'fetch (undici) loaded before the CLI starts', c: { ...FLAT_ALL, env: { QUORUM_BENCH_WARM_FETCH: '1' }, reps: 3 } }];

// ---------------------------------------------------------------- start-up

interface Startup {
  bareNode: number[];
  /** `node <bin> --version` (the bundle). */
  version: number[];
  /** `node dist/cli.js --version` (unbundled), when the bin is another file. */
  versionUnbundled: number[];
}

async function versionWall(path: string): Promise<number> {
  const v = await timedNode([path, '--version']);
  if (v.code !== 0) throw new Error(`node ${path} --version exited ${v.code}: ${v.stderr}`);
  return v.wallMs;
}

/** One round's start-up samples: bare Node, the bin's `--version` and the unbundled one, alternately. */
async function measureStartup(into: Startup): Promise<void> {
  for (let i = 0; i < VERSION_PER_ROUND; i++) {
    into.bareNode.push((await timedNode(['-e', '0'])).wallMs);
    into.version.push(await versionWall(binPath));
    if (UNBUNDLED) into.versionUnbundled.push(await versionWall(cliPath));
  }
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
 * Runs every case round-robin (round i runs each case's i-th sample, after the round's start-up
 * samples), so that load from elsewhere on the machine spreads over all cases alike.
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
    const rounds = Math.max(...cases.map((c) => c.reps ?? REPS));
    for (let round = 0; round < rounds; round++) {
      // On a busy machine, stop after MIN_ROUNDS rather than run past the time budget.
      const elapsedS = (Date.now() - t0) / 1000;
      if (round >= MIN_ROUNDS && elapsedS + elapsedS / round > BUDGET_S) {
        ctx.log(`  stopping after ${round} rounds: ${elapsedS.toFixed(0)} s spent, budget ${BUDGET_S} s`);
        break;
      }
      await measureStartup(startup);
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
const ratioSpread = (values: number[]) => (values.length ? `${f2(median(values))} (${f2(min(values))}–${f2(max(values))})` : '–');
const plain = (cell: string) => cell.replace(/\*\*|`/g, '');
const verdict = (met: boolean) => (met ? 'met' : '**missed**');
const int = (v: number) => v.toLocaleString('en-US');

type CaseResult = { c: Case; needed: Needed; samples: Sample[] };

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const m0 = machineInfo();
  const t0 = Date.now();
  const startup: Startup = { bareNode: [], version: [], versionUnbundled: [] };
  const everyCase = [...CASES, STRAGGLER, ...WHAT_IF.map((w) => w.c)];
  ctx.log(
    `${binName} ask, two rounds: ${everyCase.length} cases, ${REPS} runs each (what-if ${WHAT_IF[0]?.c.reps ?? REPS}), round-robin; ` +
      `${VERSION_PER_ROUND} --version samples per round (${binName}${UNBUNDLED ? `, ${cliName}` : ''}, node -e 0) …`,
  );
  const { samples, loads } = await runAll(everyCase, ctx, startup);
  const resultOf = (c: Case): CaseResult => ({ c, needed: neededFor(c), samples: samples[everyCase.indexOf(c)]! });
  const results = CASES.map(resultOf);
  const goal = results[CASES.indexOf(GOAL_CASE)]!;
  const spreadAll = results[1]!;
  const flatAll = results[CASES.indexOf(FLAT_ALL)]!;
  const straggler = resultOf(STRAGGLER);
  const whatIf = WHAT_IF.map((w) => ({ label: w.label, r: resultOf(w.c) }));
  ctx.log(`  start-up: node -e 0 ${spread(startup.bareNode)} ms, ${binName} --version ${spread(startup.version)} ms${UNBUNDLED ? `, ${cliName} --version ${spread(startup.versionUnbundled)} ms` : ''}`);
  for (const r of [...results, straggler]) ctx.log(`  ${r.c.id}, grace ${graceLabel(r.c)}: wall ${spread(r.samples.map((s) => s.wallMs))} ms, run ${spread(r.samples.map((s) => s.runMs))} ms, needed ${r.needed.ms} ms`);
  const totalS = (Date.now() - t0) / 1000;
  const all = [...results, straggler];
  const allSamples = [...all, ...whatIf.map((w) => w.r)].flatMap((r) => r.samples);

  /** Median over the samples that have the figure (a run without a vote round has no round-2 times). */
  const med = (r: CaseResult, pick: (s: Sample) => number) => median(r.samples.map(pick).filter(Number.isFinite));
  const label = (r: CaseResult) => `${r.c.id}, ${graceLabel(r.c)}`;
  /** The goal's measure: spawn → exit over needed. */
  const wallRatio = (r: CaseResult) => r.samples.map((s) => s.wallMs / r.needed.ms);
  /** Start-up left out: this run's own spawn → run start. */
  const ownRatio = (r: CaseResult) => r.samples.map((s) => (s.wallMs - s.runStartAt) / r.needed.ms);
  const goalRatio = median(wallRatio(goal));
  const goalMet = goalRatio <= GOALS.wallRatio;
  const r1Cut = (r: CaseResult) => r.needed.rounds[0]!.responders.length < r.c.latencies.length;
  const r2Cut = (r: CaseResult) => r.needed.rounds.length > 1 && r.needed.rounds[1]!.responders.length < r.needed.rounds[0]!.responders.length;

  // ---- goals
  const versionMs = median(startup.version);
  const versionMet = versionMs <= GOALS.versionMs;
  const unbundledMs = median(startup.versionUnbundled);
  const spawnToRun = allSamples.map((s) => s.runStartAt);
  const checks = straggler.samples.map((s) => {
    const failure = s.doc.failures.find((f) => f.model === STRAGGLER_MODEL);
    const req = s.requests.find((r) => r.model === STRAGGLER_MODEL);
    return {
      cancelled: failure?.kind === 'cancelled',
      aborted: Boolean(req?.disconnected) && req?.status === 0,
      abortedAt: req?.disconnectedAt ?? Number.NaN,
      responders: s.doc.quorum.responders,
      status: s.doc.status,
      rounds: s.doc.rounds ?? 1,
    };
  });
  const afterOwnStart = straggler.samples.map((s) => s.wallMs - s.runStartAt);
  const stragglerMet = median(afterOwnStart) < GOALS.stragglerMs && checks.every((k) => k.cancelled && k.aborted);
  const goalRows = [
    [
      `\`quorum ask\`, ports at ${goal.c.id} ms, default settings (two rounds): spawn → exit ÷ needed (${int(goal.needed.ms)} ms), median of ${goal.samples.length}`,
      `**${ratioSpread(wallRatio(goal))}**; wall ${spread(goal.samples.map((s) => s.wallMs))} ms`,
      `≤ ${GOALS.wallRatio} (wall ≤ ${int(Math.round(GOALS.wallRatio * goal.needed.ms))} ms)`,
      verdict(goalMet),
    ],
    [`\`node ${binName} --version\` wall time, the \`quorum\` bin${UNBUNDLED ? ' (bundled)' : ''}, median of ${startup.version.length}`, `**${spread(startup.version)} ms**`, `≤ ${GOALS.versionMs} ms`, verdict(versionMet)],
    ...(UNBUNDLED
      ? [[`comparison: \`node ${cliName} --version\`, tsc's output, unbundled, median of ${startup.versionUnbundled.length}`, `${spread(startup.versionUnbundled)} ms`, `(≤ ${GOALS.versionMs} ms)`, unbundledMs <= GOALS.versionMs ? '(within)' : '(above)']]
      : []),
    [`\`quorum ask\`: spawn → root span start (Node up, the \`ask\` command loaded, arguments and panel parsed), all ${spawnToRun.length} runs`, `${spread(spawnToRun)} ms`, 'reported', '–'],
    [
      `straggler (7 × 100 ms + 1 × 20 s, default settings): wall − own run start; straggler \`cancelled\` and its request aborted`,
      `${spread(afterOwnStart)} ms; ${checks.filter((k) => k.cancelled && k.aborted).length} / ${checks.length} runs`,
      `< ${int(GOALS.stragglerMs)} ms; every run`,
      verdict(stragglerMet),
    ],
  ];

  // ---- start-up
  const startupRows = [
    ['`node -e 0` (bare Node)', spread(startup.bareNode)],
    [`**\`node ${binName} --version\`** (the bin)`, `**${spread(startup.version)}**`],
    ...(UNBUNDLED ? [[`\`node ${cliName} --version\` (unbundled, comparison)`, spread(startup.versionUnbundled)]] : []),
    [`\`${binName} ask\`: spawn → Node ready (the preload runs), all runs`, spread(allSamples.map((s) => s.nodeReadyAt))],
    [`\`${binName} ask\`: spawn → root span start, all runs`, spread(spawnToRun)],
  ];

  // ---- 1. wall time vs the needed ports
  const wallHeader = ['latencies (ms)', '--grace', 'needed (round 1 + round 2)', 'needed ms', 'runs', 'wall ms (spawn → exit)', 'run ms (root span)', 'wall / needed', 'run / needed', '(wall − own run start) / needed', `goal ≤ ${GOALS.wallRatio}`];
  const wallRows = results.map((r) => {
    const ratio = median(wallRatio(r));
    return [
      r.c.id,
      graceLabel(r.c),
      r.needed.what,
      f0(r.needed.ms),
      String(r.samples.length),
      spread(r.samples.map((s) => s.wallMs)),
      spread(r.samples.map((s) => s.runMs)),
      r === goal ? `**${ratioSpread(wallRatio(r))}**` : ratioSpread(wallRatio(r)),
      ratioSpread(r.samples.map((s) => s.runMs / r.needed.ms)),
      ratioSpread(ownRatio(r)),
      r === goal ? verdict(goalMet) : ratio <= GOALS.wallRatio ? '(within; not the goal case)' : '(above; not the goal case)',
    ];
  });

  // ---- 2. timeline (medians, ms after spawn)
  const timelineHeader = [
    'case',
    'Node ready',
    'run starts',
    'R1 1st request',
    'R1 quorum',
    'R1 last answer sent',
    'R1 ends (scatter)',
    'R2 starts (vote_round)',
    'R2 1st request',
    'R2 quorum',
    'R2 last answer sent',
    'R2 ends',
    'run ends',
    "'exit' event",
    'closed (wall)',
  ];
  const timelineRow = (name: string, r: CaseResult) => [
    name,
    f0(med(r, (s) => s.nodeReadyAt)),
    f0(med(r, (s) => s.runStartAt)),
    f0(med(r, (s) => s.r1.firstRequestAt)),
    f0(med(r, (s) => s.r1.quorumAt)),
    f0(med(r, (s) => s.r1.lastAnswerSentAt)),
    f0(med(r, (s) => s.r1.endAt)),
    f0(med(r, (s) => s.r2?.startAt ?? Number.NaN)),
    f0(med(r, (s) => s.r2?.firstRequestAt ?? Number.NaN)),
    f0(med(r, (s) => s.r2?.quorumAt ?? Number.NaN)),
    f0(med(r, (s) => s.r2?.lastAnswerSentAt ?? Number.NaN)),
    f0(med(r, (s) => s.r2?.endAt ?? Number.NaN)),
    f0(med(r, (s) => s.runEndAt)),
    f0(med(r, (s) => s.exitAt)),
    f0(med(r, (s) => s.wallMs)),
  ];
  const timelineRows = all.map((r) => timelineRow(label(r), r));

  // ---- 3. where the run's own time goes (medians, ms)
  const overheadHeader = [
    'case',
    'run − needed',
    'run start → R1 1st request',
    'R1: last answer sent → end (cut: quorum → cut)',
    'R1 end → R2 start (extract_claims + cluster_claims)',
    'R2 start → R2 1st request',
    'R2: last answer sent → end (cut: quorum → cut)',
    'vote_consensus',
    'synthesize_output',
    'run end → exit (run log closed)',
    "'exit' → closed",
    'CPU ms (whole process)',
  ];
  const tail = (r: CaseResult, round: 'r1' | 'r2', cut: boolean) =>
    cut ? `cut, grace ${f0(med(r, (s) => (s[round] ? s[round].endAt - s[round].quorumAt : Number.NaN)))}` : f0(med(r, (s) => (s[round] ? s[round].endAt - s[round].lastAnswerSentAt : Number.NaN)));
  const overheadRow = (name: string, r: CaseResult) => [
    name,
    f0(med(r, (s) => s.runMs - r.needed.ms)),
    f0(med(r, (s) => s.r1.firstRequestAt - s.runStartAt)),
    tail(r, 'r1', r1Cut(r)),
    `${f0(med(r, (s) => (s.r2 ? s.r2.startAt - s.r1.endAt : Number.NaN)))} (${f1(med(r, (s) => s.stages.extract_claims ?? Number.NaN))} + ${f1(med(r, (s) => s.stages.cluster_claims ?? Number.NaN))})`,
    f0(med(r, (s) => (s.r2 ? s.r2.firstRequestAt - s.r2.startAt : Number.NaN))),
    tail(r, 'r2', r2Cut(r)),
    f1(med(r, (s) => s.stages.vote_consensus ?? Number.NaN)),
    f1(med(r, (s) => s.stages.synthesize_output ?? Number.NaN)),
    f0(med(r, (s) => s.exitAt - s.runEndAt)),
    f0(med(r, (s) => s.wallMs - s.exitAt)),
    f0(med(r, (s) => s.cpuMs)),
  ];
  const overheadRows = all.map((r) => overheadRow(label(r), r));

  // ---- 4. what-if diagnostics against the same case's measured runs
  const whatIfHeader = [`${FLAT_ALL.id}, --grace -1`, 'runs', 'run ms', 'run − needed', 'run start → R1 1st request', 'R2 start → R2 1st request', 'wall / needed', '(wall − own run start) / needed'];
  const whatIfRow = (name: string, r: CaseResult) => [
    name,
    String(r.samples.length),
    spread(r.samples.map((s) => s.runMs)),
    f0(med(r, (s) => s.runMs - r.needed.ms)),
    f0(med(r, (s) => s.r1.firstRequestAt - s.runStartAt)),
    f0(med(r, (s) => (s.r2 ? s.r2.firstRequestAt - s.r2.startAt : Number.NaN))),
    ratioSpread(wallRatio(r)),
    ratioSpread(ownRatio(r)),
  ];
  const whatIfRows = [whatIfRow('as measured above', flatAll), ...whatIf.map((w) => whatIfRow(w.label, w.r))];

  // ---- 5. straggler
  const rounds = [...new Set(checks.map((k) => k.rounds))].join(', ');
  const stragglerRows = [
    ['wall: spawn → process closed (ms)', spread(straggler.samples.map((s) => s.wallMs))],
    ['spawn → own run start (ms)', spread(straggler.samples.map((s) => s.runStartAt))],
    [`**wall − own run start (ms)**, goal < ${int(GOALS.stragglerMs)}`, `**${spread(afterOwnStart)}** (${verdict(median(afterOwnStart) < GOALS.stragglerMs)})`],
    ['run (root span, ms)', spread(straggler.samples.map((s) => s.runMs))],
    ['needed (ms)', `${f0(straggler.needed.ms)}: ${straggler.needed.what}`],
    ['round 1: quorum (6th answer) → cut, the grace (ms)', spread(straggler.samples.map((s) => s.r1.endAt - s.r1.quorumAt))],
    ['straggler request aborted (ms after spawn; polled every 2 ms)', spread(checks.map((k) => k.abortedAt))],
    ['process closed after the abort (ms)', spread(straggler.samples.map((s, i) => s.wallMs - checks[i]!.abortedAt))],
    ['straggler reported `cancelled` in its run line (runs.jsonl)', `${checks.filter((k) => k.cancelled).length} / ${checks.length} runs`],
    ['its HTTP request aborted by the client (sandbox `disconnected`, no status sent)', `${checks.filter((k) => k.aborted).length} / ${checks.length} runs`],
    ['run status, responders; rounds run', `${[...new Set(checks.map((k) => `${k.status}, ${k.responders} of 8`))].join('; ')}; ${rounds}`],
  ];

  const endLoad = loadavg()[0] ?? 0;
  const maxLoad = Math.max(m0.load1, endLoad, ...loads);
  const busy = maxLoad > m0.nproc;
  const mline = machineLine(m0, endLoad);
  const completedGap = max(allSamples.map((s) => Math.abs(s.completedMs - s.runMs)));

  // ---- findings, from this run's figures
  const allRuns = { c: GOAL_CASE, needed: goal.needed, samples: allSamples } as CaseResult;
  const warm = whatIf.find((w) => w.r.c.env?.QUORUM_BENCH_WARM_FETCH)?.r;
  const allowed = (GOALS.wallRatio - 1) * goal.needed.ms;
  /** The goal case's run with the median wall time (the lower middle one for an even count): its parts add up. */
  const mid = [...goal.samples].sort((a, b) => a.wallMs - b.wallMs)[Math.floor((goal.samples.length - 1) / 2)];
  const startupOnly = median(goal.samples.map((s) => s.runStartAt));
  const findings = [
    `Goal (spawn → exit ≤ ${GOALS.wallRatio} × needed, 100…800, default settings): ${verdict(goalMet)}, ${f2(goalRatio)}. The ${GOALS.wallRatio} allows ${f0(allowed)} ms on top of the ${int(goal.needed.ms)} ms the needed ports take, for start-up, both rounds' client overhead and closing.${mid ? ` The median run (wall ${f0(mid.wallMs)} ms) spent ${f0(mid.wallMs - goal.needed.ms)} ms: spawn → run start ${f0(mid.runStartAt)} ms, run − needed ${f0(mid.runMs - goal.needed.ms)} ms, run end → process closed ${f0(mid.wallMs - mid.runEndAt)} ms.` : ''}${startupOnly > allowed ? ` Start-up alone (spawn → run start, median ${f0(startupOnly)} ms) is more than the ${f0(allowed)} ms allowed.` : ''} With \`--grace -1\` the same ports give ${f2(median(wallRatio(spreadAll)))}.`,
    `Start-up: \`node ${binName} --version\` takes ${f0(versionMs)} ms (goal ≤ ${GOALS.versionMs} ms: ${verdict(versionMet)})${UNBUNDLED ? `, the unbundled \`node ${cliName} --version\` ${f0(unbundledMs)} ms` : ''}, and bare Node ${f0(median(startup.bareNode))} ms. In the \`ask\` runs Node is ready ${f0(med(allRuns, (s) => s.nodeReadyAt))} ms after spawn and the root span starts at ${f0(median(spawnToRun))} ms, ${f0(median(spawnToRun) - versionMs)} ms later than a whole \`--version\` run ends: \`ask\` loads its implementation (runAsk: the OpenAI SDK, OpenTelemetry, zod, rxjs…) only when it runs, then parses its arguments and panel and sets up the run log writer and tracing.`,
    `Before the first requests: run start → round 1's first request takes ${f0(med(allRuns, (s) => s.r1.firstRequestAt - s.runStartAt))} ms (median over all runs)${warm ? `, and ${f0(med(warm, (s) => s.r1.firstRequestAt - s.runStartAt))} ms when fetch is loaded before the CLI starts (what-if)` : ''}; Node 20 loads its fetch implementation (undici) on the first request, and the OpenAI SDK builds eight requests. In round 2, vote round start → its first request takes ${f0(med(allRuns, (s) => (s.r2 ? s.r2.firstRequestAt - s.r2.startAt : Number.NaN)))} ms.`,
    `Between the rounds: round 1's end (scatter) → the vote round's start takes ${f0(med(goal, (s) => (s.r2 ? s.r2.startAt - s.r1.endAt : Number.NaN)))} ms at 100…800 (extract_claims ${f1(med(goal, (s) => s.stages.extract_claims ?? Number.NaN))} ms, cluster_claims ${f1(med(goal, (s) => s.stages.cluster_claims ?? Number.NaN))} ms) and ${f0(med(flatAll, (s) => (s.r2 ? s.r2.startAt - s.r1.endAt : Number.NaN)))} ms at 8 × 300.`,
    `Answers that arrive together: last answer sent → round end takes ${f0(med(flatAll, (s) => s.r1.endAt - s.r1.lastAnswerSentAt))} ms (round 1) and ${f0(med(flatAll, (s) => (s.r2 ? s.r2.endAt - s.r2.lastAnswerSentAt : Number.NaN)))} ms (round 2) at 8 × 300, against ${f0(med(spreadAll, (s) => s.r1.endAt - s.r1.lastAnswerSentAt))} and ${f0(med(spreadAll, (s) => (s.r2 ? s.r2.endAt - s.r2.lastAnswerSentAt : Number.NaN)))} ms at 100…800, where answers come 100 ms apart (both \`--grace -1\`).`,
    `Recording: nothing is fsynced on the event loop. The recorder hands every line (answers, events, spans, at the end the run line) to the run log's group-commit writer (\`src/runlog/logWriter.ts\`), which appends each log with one write of whole lines every few ms, on libuv's thread pool; runs.jsonl is fdatasynced in its commit, the other logs at close, and \`ask\` renders the runs/<id>/ view files (consensus.json, consensus.md, responses/, votes/, candidates.json) after the run line is committed, without fsync. Run end → 'exit' is mostly \`runAsk\` awaiting \`sinks.close()\` (tracing shutdown, the views, the last commit, the close-time fdatasyncs), then printing the result: ${f0(med(allRuns, (s) => s.exitAt - s.runEndAt))} ms (median over all runs; up to ${f0(max(allSamples.map((s) => s.exitAt - s.runEndAt)))} ms). Process teardown ('exit' → closed) then takes ${f0(med(allRuns, (s) => s.wallMs - s.exitAt))} ms.`,
    `Default grace: the grace is the measured time to quorum, client overhead included. With the straggler, round 1's cut comes ${f0(med(straggler, (s) => s.r1.endAt - s.r1.quorumAt))} ms after quorum, although the nominal t6 is 100 ms.`,
  ];

  const markdown = [
    'Measured by `npm run bench` (`bench/ask.ts`); this block is rewritten by that script.',
    '',
    `The real \`quorum\` binary, \`node ${binName} ask "…" --panel FILE --out TMP\`${UNBUNDLED ? ` (${binName} is the esbuild bundle that package.json's \`bin\` names)` : ''}, runs as a child process against the sandbox server (\`startSandboxServer\`, in the bench process), with the default two rounds: round 1 asks every port, round 2 (the vote) asks every round-1 responder again. Eight simulated models each answer after their own latency (\`latencyMs\`, the same in both rounds); the answers are streamed, and they hold three shared facts in five formats. Each case gets up to ${REPS} runs (fewer when the ${BUDGET_S} s budget runs out on a busy machine; see *runs*). The cases run round-robin (one run of each case per round, after ${VERSION_PER_ROUND} start-up samples of each kind), so that load from elsewhere on the machine falls on all cases alike. Figures are median (min–max). *Wall* (spawn → exit) runs from spawn until the process has closed (exited, stdio drained), which is what a shell waits for. *Own run start* is the same run's spawn → root span start. *Run* is the root span \`scatter_gather_research\` in traces.jsonl; \`quorum.run.completed\` durationMs agrees with it to within ${f0(completedGap)} ms. R1 and R2 are round 1 (span \`scatter\`) and round 2 (span \`vote_round\`). The run records itself as lines in the append-only run log (docs/CONTRACTS.md "The run log (0.2)"), through one group-commit writer; the bench reads the run back from runs.jsonl, traces.jsonl and cloudevents.jsonl. A tiny \`--import\` preload only observes the child: when Node is ready, and the CPU time at exit.`,
    '',
    `*Needed* is the time the run cannot end before, computed from the scenario: round 1's needed time plus round 2's. In each round, the needed ports are the ones the round must wait for, and its needed time is the latency of the slowest of them. With \`--grace -1\` every port asked is needed. With the default grace, a round waits for its quorum (6 of 8 in round 1; in round 2 the votes round 1's responders require, at most the number of voters). The q-th fastest latency t_q ends that wait, and the grace is as long as the wait took (≈ t_q), so the cut comes at ≈ 2·t_q. Ports slower than that are cut: they are not needed, and a port cut in round 1 gets no vote. For ${goal.c.id}: ${goal.needed.what}, so needed = ${goal.needed.rounds.map((x) => int(x.ms)).join(' + ')} = ${int(goal.needed.ms)} ms. The grace is measured, not nominal: it also holds the client overhead paid before quorum, so with the default grace that overhead counts twice in a round with a cut. Goal: wall (spawn → exit) ≤ ${GOALS.wallRatio} × needed for ${goal.c.id} with default settings; start-up is inside the ${GOALS.wallRatio}.`,
    '',
    '**Goals**:',
    '',
    mdTable(['goal', 'measured', 'target', 'verdict'], goalRows),
    '',
    `**Start-up** (ms; \`--version\` and \`node -e 0\` ${startup.version.length} runs each, alternately):`,
    '',
    mdTable(['', 'ms'], startupRows),
    '',
    '**Wall time vs the needed ports** (ms, two rounds):',
    '',
    mdTable(wallHeader, wallRows),
    '',
    "**Timeline** (medians, ms after spawn; the bench's clock against the child's span clock, ±1 ms):",
    '',
    mdTable(timelineHeader, timelineRows),
    '',
    "**Where the run's own time goes** (medians, ms; medians of each part, so they add up only roughly). \"Run end → exit\" is closing the run log (see the findings):",
    '',
    mdTable(overheadHeader, overheadRows),
    '',
    '**What-if diagnostics** (not goals; the probe removes one overhead, and src is unchanged):',
    '',
    mdTable(whatIfHeader, whatIfRows),
    '',
    `**Straggler**: seven ports at 100 ms and one at 20 s, default settings (two rounds, quorum 6 of 8, default grace, panel timeout 30 s), ${straggler.samples.length} runs:`,
    '',
    mdTable(['', 'median (min–max)'], stragglerRows),
    '',
    ...(busy
      ? [
          `- **The machine was busy**: the 1-min load average (${m0.load1.toFixed(1)} at start, up to ${maxLoad.toFixed(1)} during the runs) was above its ${m0.nproc} CPU(s). Other work competed for the CPU and the disk, so every figure here is inflated and noisy. Compare min values, and rerun on an idle machine before drawing conclusions.`,
        ]
      : []),
    `- ${findings[0]!}`,
    `- Straggler goal (median wall − own run start < ${int(GOALS.stragglerMs)} ms, straggler \`cancelled\`, its request aborted): ${verdict(stragglerMet)}.`,
    ...findings.slice(1).map((f) => `- ${f}`),
    `- ${mline} Whole benchmark ${totalS.toFixed(1)} s.`,
  ].join('\n');

  const table = [
    textTable(['goal', 'measured', 'target', 'verdict'], goalRows.map((r) => r.map(plain))),
    '',
    textTable(['start-up', 'ms'], startupRows.map((r) => r.map(plain))),
    '',
    textTable(
      ['latencies', 'grace', 'needed', 'wall ms', 'run ms', 'wall/needed', 'run/needed', '(wall−own start)/needed', 'goal'],
      wallRows.map((r) => [r[0]!, r[1]!, r[3]!, r[5]!, r[6]!, plain(r[7]!), r[8]!, r[9]!, plain(r[10]!)]),
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
