/**
 * Scale-out over NATS (`batch --queue` + `quorum worker`, issue 14) through the REAL binary
 * (`node dist/bin/cli.js`, package.json's `bin`) as child processes, against the sandbox server
 * running in this (the bench) process and a nats-server with JetStream started here (a fresh
 * store per run). The issue's goals:
 *
 * 1. Throughput at 200 ms model latency: one local `quorum batch --concurrency 8` (64 calls in
 *    flight) against a queued batch (`batch --queue`, the submitter) decided by 4 ×
 *    `quorum worker --concurrency 2` (4 × 2 chunks × 8 ports = 64 in flight), same inputs.
 *    Goal: the queued side's calls/s ≥ 0.8 × the local batch's. Workers are started (and ready)
 *    before the submitter and stopped with SIGTERM after it exits.
 * 2. CPU per call in those runs: the workers' summed user + system CPU ÷ calls, against the local
 *    batch's CPU ÷ calls. Goal: ≤ 1.3 ×. The submitter's, nats-server's and the total are shown.
 * 3. Pacing: 3 workers sharing one key, each `--rpm` = the account's limit, against the sandbox's
 *    account-wide `rateLimit` (R per W). Goals: ≥ 0.85 of the limit achieved over the steady
 *    part, ≤ 2 % of requests answered 429.
 *
 * A submitter still running 15 s after every chunk's run line is in its folder is Ctrl-C'd and
 * the run flagged ("the submitter hung"), so a hang shows in the table instead of stalling the bench.
 *
 * Conventions as bench/batch.ts: rates from the sandbox's request log ((calls − 1) / first → last
 * request), CPU from each child's own `process.cpuUsage()` via the probe preload
 * (bench/batchChild.ts), sides alternated over ≥ 3 rounds, median (min–max).
 *
 * Run by `npm run bench` (bench/run.ts; `-- --only queue` for this one); `npx tsx bench/queue.ts`
 * runs it alone and prints the tables (`--write` also rewrites its BENCHMARKS.md section,
 * `--markdown FILE` saves the section's markdown to FILE).
 * Environment (defaults are the goals' sizes):
 *   QUORUM_BENCH_QUEUE_CALLS     calls of each throughput run, 8 per chunk (default 4000)
 *   QUORUM_BENCH_QUEUE_REPS      rounds of local / queued runs, alternately (default 3)
 *   QUORUM_BENCH_QUEUE_PACING    chunks of the pacing run (default 96, about a minute at the limit; 0 skips it)
 *   QUORUM_BENCH_QUEUE_PROFILE   chunks of the profiled pair (`--cpu-prof` of one worker and of a
 *                                local batch; default 250; 0 skips it)
 *   QUORUM_BENCH_QUEUE_ONE_WORKER=0  skips the diagnostic row: the same queued batch decided by ONE
 *                                worker with `--concurrency 8` (64 in flight in one process), which
 *                                tells the cost of the queue from the cost of splitting the work
 *                                over processes
 *   QUORUM_BENCH_QUEUE_LOW_CALLS calls of one more diagnostic: a local batch at `--concurrency 2`
 *                                (16 in flight, one worker's share), for the CPU a process spends per
 *                                call at that concurrency (default 2000; 0 skips it)
 * Needs nats-server on PATH (or NATS_SERVER), as the NATS tests do.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Scenario } from '../src/sandbox/scenario.js';
import { type SandboxRequestLog, type SandboxServer, startSandboxServer } from '../src/sandbox/server.js';
import { type Probe, probeArg } from './batchChild.js';
import { type BenchContext, type BenchReport, binPath, machineInfo, machineLine, mdTable, median, repoRoot, spread, textTable, writeSection } from './harness.js';
import { moduleShares, type ModuleShares, START_UP } from './queueChild.js';
import { natsServerBinary, natsSkipReason, startNatsServer } from '../test/helpers/natsServer.js';

const binName = relative(repoRoot, binPath);
const envNum = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const PORTS = 8;
const CALLS = envNum('QUORUM_BENCH_QUEUE_CALLS', 4000);
const CHUNKS = Math.max(1, Math.round(CALLS / PORTS));
const REPS = Math.max(1, envNum('QUORUM_BENCH_QUEUE_REPS', 3));
const PACING_CHUNKS = envNum('QUORUM_BENCH_QUEUE_PACING', 96);
const PROFILE_CHUNKS = envNum('QUORUM_BENCH_QUEUE_PROFILE', 250);
const ONE_WORKER = process.env.QUORUM_BENCH_QUEUE_ONE_WORKER !== '0';
const LOW_CHUNKS = Math.round(envNum('QUORUM_BENCH_QUEUE_LOW_CALLS', 2000) / PORTS);
/** Module groups shown in the profile table (the rest summed in one row). */
const PROFILE_ROWS = 14;
const LATENCY_MS = 200;
/** Local: 8 chunks × 8 ports = 64 calls in flight. Queued: 4 workers × 2 chunks × 8 ports = 64. */
const LOCAL_CONCURRENCY = 8;
const WORKERS = 4;
const WORKER_CONCURRENCY = 2;
const PACING_WORKERS = 3;
/** The account's limit for the pacing run: R = 120 per 10 s = 12 calls/s, so 96 chunks (768 calls) last about a minute. */
const LIMIT = { requests: 120, windowMs: 10_000 };
const LIMIT_PER_S = LIMIT.requests / (LIMIT.windowMs / 1000);
const LIMIT_RPM = (LIMIT.requests * 60_000) / LIMIT.windowMs;
const CHUNK_TOKENS = 50;
const SECTIONS_PER_FILE = 500;
const MEM_SAMPLE_MS = 250;
const QUERY = 'What state does the protocol keep?';
const KEY = 'sk-bench-shared-key';
const GOALS = { ratio: 0.8, cpu: 1.3, pace: 0.85, limited: 0.02 };
/** How long a worker may take to say it is ready, and to drain after SIGTERM, before the bench gives up on it. */
const READY_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 60_000;
/**
 * A submitter still running this long after every chunk's run line is in its folder is taken as
 * hung and Ctrl-C'd: the run's calls still count, its spawn → exit time does not (seen on
 * fa25de2: all runs committed, the batch never completing).
 */
const HUNG_AFTER_MS = 15_000;

// ---------------------------------------------------------------- inputs, scenario, panel

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];

/** As bench/batch.ts: unique ~31-token sections under their own headings, so at --chunk-tokens 50 each section is one chunk. */
function writeInput(dir: string, chunks: number): void {
  mkdirSync(dir, { recursive: true });
  for (let start = 0, f = 0; start < chunks; start += SECTIONS_PER_FILE, f++) {
    const parts: string[] = [];
    for (let i = start; i < Math.min(chunks, start + SECTIONS_PER_FILE); i++) {
      parts.push(`## Section ${i}\n\nSection ${i} says that the protocol keeps ${WORDS[i % 12]} and ${WORDS[(i * 7) % 12]} state for part ${i}, in order, as the reference says.`);
    }
    writeFileSync(join(dir, `part-${String(f).padStart(3, '0')}.md`), `${parts.join('\n\n')}\n`);
  }
}

const FACTS = ['The protocol keeps per-connection state.', 'Every message carries a sequence number.', 'Connections close after 30 seconds of silence.'];

/** Eight models answering after `latencyMs`, streamed at full speed, sharing three facts (every chunk reaches consensus). */
function scenarioFor(latencyMs: number, rateLimit?: typeof LIMIT): Scenario {
  return {
    models: Array.from({ length: PORTS }, (_, port) => ({
      model: `family${port}/model-${port}`,
      family: `family${port}`,
      latencyMs,
      tokenDelayMs: 0,
      answer: JSON.stringify({ claims: [...FACTS, `Model ${port} adds a lone remark number ${port}.`] }),
      usage: { prompt_tokens: 120 + port, completion_tokens: 40 + port, cost: 0 },
    })),
    ...(rateLimit && { rateLimit }),
  };
}

function writePanelFile(dir: string, name: string, baseURL: string, scenario: Scenario): string {
  const path = join(dir, `panel-${name}.json`);
  writeFileSync(path, JSON.stringify({ baseURL, timeoutMs: 30_000, members: scenario.models.map((m, port) => ({ port, model: m.model, family: m.family })) }));
  return path;
}

// ---------------------------------------------------------------- nats-server

interface Nats {
  url: string;
  /** The server's user + system CPU so far, ms (from /proc; NaN where there is none). */
  cpuMs(): number;
  stop(): Promise<void>;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function procCpuMs(pid: number | undefined): number {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** test/helpers/natsServer.ts's server (a loopback port, a fresh JetStream store), with its CPU time read from /proc. */
async function startNats(): Promise<Nats> {
  const server = await startNatsServer();
  return { url: server.url, cpuMs: () => procCpuMs(server.pid), stop: () => server.stop() };
}

// ---------------------------------------------------------------- child processes

interface Ended {
  code: number;
  stdout: string;
  stderr: string;
  /** spawn() → 'close', ms. */
  wallMs: number;
}

interface Child {
  proc: ChildProcess;
  /** Epoch ms at spawn. */
  spawnedAt: number;
  stderr(): string;
  done: Promise<Ended>;
}

/** `node <args>`; a child still running after an hour is killed, so a hung one cannot hang the bench. */
function startNode(args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }): Child {
  const spawnedAt = Date.now();
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { cwd: opts.cwd ?? repoRoot, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const guard = setTimeout(() => proc.kill('SIGKILL'), 60 * 60_000);
  const done = new Promise<Ended>((resolveDone, reject) => {
    proc.on('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(guard);
      resolveDone({ code: code ?? (signal ? 128 : 1), stdout, stderr, wallMs: performance.now() - t0 });
    });
  });
  return { proc, spawnedAt, stderr: () => stderr, done };
}

/** Resolves when the child's stderr matches `pattern`; rejects if it exits first or takes too long. */
function waitForLine(child: Child, pattern: RegExp, what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolveSeen, reject) => {
    let finished = false;
    const started = Date.now();
    void child.done.then((end) => {
      if (!finished) {
        finished = true;
        reject(new Error(`${what}: exited ${end.code} first: ${end.stderr.slice(-1500)}`));
      }
    });
    const tick = () => {
      if (finished) return;
      if (pattern.test(child.stderr())) {
        finished = true;
        return resolveSeen();
      }
      if (Date.now() - started > timeoutMs) {
        finished = true;
        return reject(new Error(`${what}: not seen within ${timeoutMs} ms: ${child.stderr().slice(-1500)}`));
      }
      setTimeout(tick, 25);
    };
    tick();
  });
}

/** SIGTERM (the worker drains: tasks in progress finish), SIGKILL if it has not exited after `DRAIN_TIMEOUT_MS`. */
async function stopChild(child: Child): Promise<Ended & { killed: boolean }> {
  child.proc.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.proc.kill('SIGKILL');
  }, DRAIN_TIMEOUT_MS);
  const end = await child.done;
  clearTimeout(timer);
  return { ...end, killed };
}

function readProbe(path: string): Probe | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Probe) : undefined;
}

/** This run's requests; the server's log is emptied so that it does not grow over the bench. */
function takeRequests(server: SandboxServer, first: number): SandboxRequestLog[] {
  const taken = server.requests.slice(first);
  server.requests.length = 0;
  return taken;
}

// ---------------------------------------------------------------- one run

interface Summary {
  outcome: string;
  chunks: number;
  failed: number;
  calls: number;
  superseded?: number;
}

interface Run {
  label: string;
  side: 'local' | 'queued';
  chunks: number;
  /** The local batch, or the submitter: spawn → close and epoch ms at spawn. */
  wallMs: number;
  spawnedAt: number;
  /** The local batch's or the submitter's probe. */
  main: Probe;
  /** The workers' probes (queued runs). */
  workers: Probe[];
  /** nats-server's CPU from the submitter's spawn to the last worker's exit, and that span, ms (queued runs). */
  natsCpuMs: number;
  natsSpanMs: number;
  /** The bench process's CPU (the sandbox server) during the run, ms. */
  serverCpuMs: number;
  requests: SandboxRequestLog[];
  runLines: number;
  /** Chunks decided per worker (run lines' `worker`), fewest first, queued runs. */
  perWorker: number[];
  /** Chunks decided by the first worker (the profiled one). */
  firstWorkerChunks: number;
  summary?: Summary;
  /** Ctrl-C'd by the bench (a pacing run that ran too long). */
  interrupted: boolean;
  /** The submitter did not exit though every chunk was committed; Ctrl-C'd by the bench after HUNG_AFTER_MS. */
  hung: boolean;
  /** Each chunk's root span (\`scatter_gather_research\`): [start, end], epoch ms. */
  chunkSpans: [number, number][];
  /** Chunks in progress at most at once: 8 on either side (local --concurrency 8; 4 workers × 2). */
  slots: number;
  modules?: ModuleShares;
}

const childEnv = (probePath: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  OPENROUTER_API_KEY: KEY,
  QUORUM_BENCH_PROBE: probePath,
  QUORUM_BENCH_MEM_MS: String(MEM_SAMPLE_MS),
  ...extra,
});

const batchArgs = (panel: string, out: string) => ['batch', '.', '--query', QUERY, '--panel', panel, '--out', out, '--chunk-tokens', String(CHUNK_TOKENS), '--rounds', '1', '--grace=-1', '--json'];

function readRunLines(out: string): { count: number; workers: Map<string, number> } {
  const path = join(out, 'runs.jsonl');
  const workers = new Map<string, number>();
  if (!existsSync(path)) return { count: 0, workers };
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  for (const line of lines) {
    const w = (JSON.parse(line) as { worker?: string }).worker;
    if (w) workers.set(w, (workers.get(w) ?? 0) + 1);
  }
  return { count: lines.length, workers };
}

/** The root span of every chunk in the folder's traces.jsonl: when each chunk's run started and ended. */
function readChunkSpans(out: string): [number, number][] {
  const path = join(out, 'traces.jsonl');
  if (!existsSync(path)) return [];
  const spans: [number, number][] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.includes('"scatter_gather_research"')) continue;
    const span = JSON.parse(line) as { name: string; startTime: string; endTime: string };
    if (span.name === 'scatter_gather_research') spans.push([Date.parse(span.startTime), Date.parse(span.endTime)]);
  }
  return spans;
}

function profileOf(dir: string): { modules: ModuleShares } {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  return { modules: moduleShares(join(dir, file)) };
}

interface LocalOptions {
  label: string;
  server: SandboxServer;
  panel: string;
  inputDir: string;
  chunks: number;
  /** --concurrency (default LOCAL_CONCURRENCY). */
  concurrency?: number;
  cpuProfile?: boolean;
}

async function runLocal(o: LocalOptions): Promise<Run> {
  const base = mkdtempSync(join(tmpdir(), 'quorum-bench-queue-local-'));
  const out = join(base, 'out');
  const probePath = join(base, 'probe.json');
  const profDir = join(base, 'prof');
  const first = o.server.requests.length;
  const cpu0 = process.cpuUsage();
  try {
    const child = startNode([probeArg(), ...(o.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), binPath, ...batchArgs(o.panel, out), '--concurrency', String(o.concurrency ?? LOCAL_CONCURRENCY)], {
      cwd: o.inputDir,
      env: childEnv(probePath),
    });
    const end = await child.done;
    const requests = takeRequests(o.server, first);
    const cpu = process.cpuUsage(cpu0);
    if (end.code !== 0) throw new Error(`quorum batch (${o.label}) exited ${end.code}: ${end.stderr.slice(-2000)}`);
    const summary = JSON.parse(end.stdout) as Summary;
    const lines = readRunLines(out);
    if (summary.chunks !== o.chunks || summary.outcome !== 'completed' || lines.count !== o.chunks) {
      throw new Error(`quorum batch (${o.label}): expected ${o.chunks} chunks completed and as many run lines, got ${summary.chunks} (${summary.outcome}), ${lines.count} run lines`);
    }
    return {
      label: o.label,
      side: 'local',
      chunks: o.chunks,
      wallMs: end.wallMs,
      spawnedAt: child.spawnedAt,
      main: readProbe(probePath)!,
      workers: [],
      natsCpuMs: Number.NaN,
      natsSpanMs: Number.NaN,
      serverCpuMs: (cpu.user + cpu.system) / 1000,
      requests,
      runLines: lines.count,
      chunkSpans: readChunkSpans(out),
      slots: o.concurrency ?? LOCAL_CONCURRENCY,
      perWorker: [],
      firstWorkerChunks: 0,
      summary,
      interrupted: false,
      hung: false,
      ...(o.cpuProfile && profileOf(profDir)),
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

interface QueuedOptions {
  label: string;
  server: SandboxServer;
  panel: string;
  inputDir: string;
  chunks: number;
  workers: number;
  /** Each worker's --concurrency (default WORKER_CONCURRENCY). */
  workerConcurrency?: number;
  workerArgs?: string[];
  /** Ctrl-C the submitter after this long (a pacing run that would take far too long): its tasks stay queued. */
  interruptAfterMs?: number;
  /** `--cpu-prof` the first worker. */
  profileWorker?: boolean;
}

/**
 * A fresh nats-server; `workers` × `quorum worker`, each waited for until it says it takes
 * tasks; then the submitter (`batch --queue`); when it has exited, SIGTERM to every worker.
 */
async function runQueued(o: QueuedOptions): Promise<Run> {
  const base = mkdtempSync(join(tmpdir(), 'quorum-bench-queue-'));
  const out = join(base, 'out');
  const profDir = join(base, 'prof');
  const nats = await startNats();
  const workers: Child[] = [];
  try {
    const workerProbes = Array.from({ length: o.workers }, (_, i) => join(base, `probe-worker-${i}.json`));
    for (let i = 0; i < o.workers; i++) {
      const prof = o.profileWorker && i === 0 ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
      workers.push(
        startNode([probeArg(), ...prof, binPath, 'worker', '--queue', nats.url, '--concurrency', String(o.workerConcurrency ?? WORKER_CONCURRENCY), ...(o.workerArgs ?? [])], {
          env: childEnv(workerProbes[i]!),
        }),
      );
    }
    await Promise.all(workers.map((w, i) => waitForLine(w, /^Worker \S+ taking tasks/m, `worker ${i + 1}`, READY_TIMEOUT_MS)));

    const first = o.server.requests.length;
    const cpu0 = process.cpuUsage();
    const nats0 = nats.cpuMs();
    const probePath = join(base, 'probe-submitter.json');
    const submitter = startNode([probeArg(), binPath, ...batchArgs(o.panel, out), '--queue', nats.url], { cwd: o.inputDir, env: childEnv(probePath) });
    let interrupted = false;
    let hung = false;
    const interrupt =
      o.interruptAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            interrupted = true;
            submitter.proc.kill('SIGINT');
          }, o.interruptAfterMs);
    let allCommittedAt: number | undefined;
    const watchdog = setInterval(() => {
      if (allCommittedAt === undefined) {
        if (readRunLines(out).count >= o.chunks) allCommittedAt = Date.now();
      } else if (Date.now() - allCommittedAt > HUNG_AFTER_MS && !interrupted && !hung) {
        hung = true;
        submitter.proc.kill('SIGINT');
      }
    }, 1_000);
    const end = await submitter.done;
    clearInterval(watchdog);
    if (interrupt) clearTimeout(interrupt);
    const stopped = await Promise.all(workers.map(stopChild));
    const natsCpuMs = nats.cpuMs() - nats0;
    const natsSpanMs = Date.now() - submitter.spawnedAt;
    const requests = takeRequests(o.server, first);
    const cpu = process.cpuUsage(cpu0);
    const expected = interrupted || hung ? 130 : 0;
    if (end.code !== expected) throw new Error(`quorum batch --queue (${o.label}) exited ${end.code}: ${end.stderr.slice(-2000)}`);
    stopped.forEach((s, i) => {
      if (s.killed || (s.code !== 130 && s.code !== 0)) throw new Error(`worker ${i + 1} (${o.label}) ${s.killed ? 'did not drain and was killed' : `exited ${s.code}`}: ${s.stderr.slice(-1500)}`);
    });
    const summary = interrupted || hung ? undefined : (JSON.parse(end.stdout) as Summary);
    const lines = readRunLines(out);
    if (!interrupted && (lines.count !== o.chunks || (summary && (summary.chunks !== o.chunks || summary.outcome !== 'completed')))) {
      throw new Error(`quorum batch --queue (${o.label}): expected ${o.chunks} chunks completed and as many run lines, got ${summary ? `${summary.chunks} (${summary.outcome})` : 'no summary'}, ${lines.count} run lines`);
    }
    const workerProbeList = workerProbes.map(readProbe);
    if (workerProbeList.some((p) => !p)) throw new Error(`quorum worker (${o.label}): a worker wrote no probe`);
    return {
      label: o.label,
      side: 'queued',
      chunks: o.chunks,
      wallMs: end.wallMs,
      spawnedAt: submitter.spawnedAt,
      main: readProbe(probePath)!,
      workers: workerProbeList as Probe[],
      natsCpuMs,
      natsSpanMs,
      serverCpuMs: (cpu.user + cpu.system) / 1000,
      requests,
      runLines: lines.count,
      chunkSpans: readChunkSpans(out),
      slots: o.workers * (o.workerConcurrency ?? WORKER_CONCURRENCY),
      perWorker: [...lines.workers.values()].sort((a, b) => a - b),
      // Run lines name their worker `host:pid`.
      firstWorkerChunks: [...lines.workers].find(([w]) => w.endsWith(`:${workers[0]!.proc.pid}`))?.[1] ?? 0,
      ...(summary && { summary }),
      interrupted,
      hung,
      ...(o.profileWorker && profileOf(profDir)),
    };
  } finally {
    // A failed run must not leave workers behind.
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
    await nats.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- measures

const windowMs = (r: Run) => (r.requests.length > 1 ? r.requests[r.requests.length - 1]!.at - r.requests[0]!.at : Number.NaN);
/** Calls per second while calls were being made: (n − 1) arrivals over the first → last span. */
const callsPerS = (r: Run) => ((r.requests.length - 1) * 1000) / windowMs(r);
/** End to end: every call over the local batch's / the submitter's spawn → exit (workers were already up). */
const callsPerSWall = (r: Run) => (r.hung ? Number.NaN : (r.requests.length * 1000) / r.wallMs);
/** A process's CPU so far at epoch ms `t`, interpolated between the probe's samples; NaN outside them. */
function cpuAt(p: Probe, t: number): number {
  const s = p.samples;
  for (let i = 1; i < s.length; i++) {
    const [t0, , , , , c0] = s[i - 1]!;
    const [t1, , , , , c1] = s[i]!;
    if (t >= t0 && t <= t1) return t1 === t0 ? c1 : c0 + ((c1 - c0) * (t - t0)) / (t1 - t0);
  }
  return Number.NaN;
}
/** CPU between the first and the last request (start-up, idle wait and drain left out), ms. */
const windowCpu = (r: Run, p: Probe) => cpuAt(p, r.requests[r.requests.length - 1]!.at) - cpuAt(p, r.requests[0]!.at);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** Whole-process CPU (start-up included) per call, ms: the local batch, or Σ of the workers. */
const deciderCpu = (r: Run) => (r.side === 'local' ? r.main.cpuMs : sum(r.workers.map((w) => w.cpuMs))) / r.requests.length;
const deciderWindowCpu = (r: Run) => (r.side === 'local' ? windowCpu(r, r.main) : sum(r.workers.map((w) => windowCpu(r, w)))) / (r.requests.length - 1);
/** The deciders' (local batch, or Σ workers) user and system CPU per call, ms. */
const deciders = (r: Run) => (r.side === 'local' ? [r.main] : r.workers);
const deciderUser = (r: Run) => sum(deciders(r).map((p) => p.userMs)) / r.requests.length;
const deciderSys = (r: Run) => sum(deciders(r).map((p) => p.systemMs)) / r.requests.length;
const submitterCpu = (r: Run) => r.main.cpuMs / r.requests.length;
const submitterWindowCpu = (r: Run) => windowCpu(r, r.main) / (r.requests.length - 1);
const natsCpu = (r: Run) => r.natsCpuMs / r.requests.length;
const totalCpu = (r: Run) => (r.side === 'local' ? r.main.cpuMs : r.main.cpuMs + sum(r.workers.map((w) => w.cpuMs)) + (Number.isFinite(r.natsCpuMs) ? r.natsCpuMs : 0)) / r.requests.length;
const sandboxCpu = (r: Run) => r.serverCpuMs / r.requests.length;
/** Start-up CPU (before the first request) of the deciders, per call. */
const startupCpu = (r: Run) => (r.side === 'local' ? cpuAt(r.main, r.requests[0]!.at) : sum(r.workers.map((w) => cpuAt(w, r.requests[0]!.at)))) / r.requests.length;

/** A chunk's run (root span), median ms. */
const chunkMs = (r: Run) => median(r.chunkSpans.map(([a, b]) => b - a));
/** Σ chunk run time ÷ (slots × first chunk start → last chunk end): how full the slots were kept. */
const occupancy = (r: Run) => {
  if (!r.chunkSpans.length) return Number.NaN;
  const from = Math.min(...r.chunkSpans.map(([a]) => a));
  const to = Math.max(...r.chunkSpans.map(([, b]) => b));
  return sum(r.chunkSpans.map(([a, b]) => b - a)) / (r.slots * (to - from));
};
/** Slot time per chunk outside any chunk's run (between one chunk's end and the slot's next start: result, ack, pull), ms. */
const idlePerChunk = (r: Run) => {
  if (!r.chunkSpans.length) return Number.NaN;
  const from = Math.min(...r.chunkSpans.map(([a]) => a));
  const to = Math.max(...r.chunkSpans.map(([, b]) => b));
  return (r.slots * (to - from) - sum(r.chunkSpans.map(([a, b]) => b - a))) / r.chunkSpans.length;
};

interface Pacing {
  run: Run;
  total: number;
  ok: number;
  limited: number;
  /** Answered calls/s over the steady part, and that ÷ the limit. */
  steadyRate: number;
  steadyShare: number;
  /** The steady part, ms after the first request: whole sandbox windows, the first and the last left out. */
  steadyFrom: number;
  steadyTo: number;
  /** 200s per sandbox window (its fixed windows, recomputed from the log): max and median of the full ones. */
  perWindowMax: number;
  perWindowMedian: number;
  /** Whole run: (answered − 1) / first → last answered arrival, calls/s. */
  wholeRate: number;
  /** Chunks that ended failed or were not decided. */
  failed: number;
}

/**
 * The sandbox's windows are recomputed from its log (a window starts with the first request at
 * least `windowMs` after the last window's start). The steady part runs from the start of the
 * second window (in the first, the workers have not learned anything yet) to the start of the
 * last (the batch's tail, when fewer tasks than slots remain): whole windows only, so the rate it
 * gives cannot exceed R per W however the requests bunch inside a window.
 */
function pacingOf(run: Run): Pacing {
  const reqs = run.requests;
  const okAt = reqs.filter((r) => r.status === 200).map((r) => r.at);
  const limited = reqs.filter((r) => r.status === 429).length;
  const t0 = reqs[0]?.at ?? 0;
  const starts: number[] = [];
  const counts: number[] = [];
  for (const r of reqs) {
    if (!starts.length || r.at - starts[starts.length - 1]! >= LIMIT.windowMs) {
      starts.push(r.at);
      counts.push(0);
    }
    if (r.status === 200) counts[counts.length - 1]!++;
  }
  // From the second window's start when there are at least three windows, else from the first's.
  const firstWindow = starts.length >= 3 ? 1 : 0;
  const from = starts[firstWindow] ?? t0;
  const to = starts[starts.length - 1] ?? t0;
  const inside = sum(counts.slice(firstWindow, -1));
  const full = counts.slice(0, -1);
  return {
    run,
    total: reqs.length,
    ok: okAt.length,
    limited,
    steadyRate: to > from ? (inside * 1000) / (to - from) : Number.NaN,
    steadyShare: to > from ? (inside * 1000) / (to - from) / LIMIT_PER_S : Number.NaN,
    steadyFrom: from - t0,
    steadyTo: to - t0,
    perWindowMax: counts.length ? Math.max(...counts) : Number.NaN,
    perWindowMedian: median(full.length ? full : counts),
    wholeRate: okAt.length > 1 ? ((okAt.length - 1) * 1000) / (okAt[okAt.length - 1]! - okAt[0]!) : Number.NaN,
    failed: run.summary ? run.summary.failed + (run.chunks - run.runLines) : run.chunks - run.runLines,
  };
}

// ---------------------------------------------------------------- run

const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '–');
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '–');
const pct = (v: number, digits = 1) => (Number.isFinite(v) ? `${(v * 100).toFixed(digits)} %` : '–');
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const plain = (cell: string) => cell.replace(/\*\*|`/g, '');
const verdict = (met: boolean | undefined) => (met === undefined ? 'not judged' : met ? 'met' : '**missed**');

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const missing = natsSkipReason;
  if (missing) throw new Error(`the queue benchmark needs a nats-server: ${missing}`);
  const m0 = machineInfo();
  const t0 = Date.now();
  const loads: number[] = [m0.load1];
  const distAtStart = distStamp();
  sharedPacerInBinaryAtStart = sharedPacerInBinary();
  const headAtStart = gitHead();
  const noteLoad = () => loads.push(loadavg()[0] ?? 0);
  const phase = (name: string) => ctx.log(`  [${((Date.now() - t0) / 1000).toFixed(0)} s] ${name}`);
  const work = mkdtempSync(join(tmpdir(), 'quorum-bench-queue-in-'));
  const servers: SandboxServer[] = [];
  try {
    const scenario = scenarioFor(LATENCY_MS);
    const server = await startSandboxServer({ scenario });
    servers.push(server);
    const panel = writePanelFile(work, 'latency', server.baseURL, scenario);
    const inputFor = (chunks: number) => {
      const dir = join(work, `in-${chunks}`);
      if (!existsSync(dir)) writeInput(dir, chunks);
      return dir;
    };

    // ---- 1 + 2. throughput and CPU: local and queued, alternately (the order flips every round)
    const input = inputFor(CHUNKS);
    const local: Run[] = [];
    const queued: Run[] = [];
    const oneWorker: Run[] = [];
    const doLocal = async (rep: number) => {
      phase(`${rep + 1}/${REPS} local: quorum batch, ${CHUNKS} chunks, --concurrency ${LOCAL_CONCURRENCY}`);
      const r = await runLocal({ label: 'local', server, panel, inputDir: input, chunks: CHUNKS });
      local.push(r);
      ctx.log(`    ${f1(callsPerS(r))} calls/s, CPU ${f2(deciderCpu(r))} ms/call`);
    };
    const doQueued = async (rep: number) => {
      phase(`${rep + 1}/${REPS} queued: batch --queue + ${WORKERS} × worker --concurrency ${WORKER_CONCURRENCY}, ${CHUNKS} chunks`);
      const r = await runQueued({ label: 'queued', server, panel, inputDir: input, chunks: CHUNKS, workers: WORKERS });
      queued.push(r);
      ctx.log(`    ${f1(callsPerS(r))} calls/s, workers' CPU ${f2(deciderCpu(r))} ms/call, submitter ${f2(submitterCpu(r))}, nats-server ${f2(natsCpu(r))}; chunks per worker ${r.perWorker.join('/')}`);
    };
    const doOneWorker = async (rep: number) => {
      phase(`${rep + 1}/${REPS} diagnostic: batch --queue + 1 × worker --concurrency ${LOCAL_CONCURRENCY}, ${CHUNKS} chunks`);
      const r = await runQueued({ label: 'one worker', server, panel, inputDir: input, chunks: CHUNKS, workers: 1, workerConcurrency: LOCAL_CONCURRENCY });
      oneWorker.push(r);
      ctx.log(`    ${f1(callsPerS(r))} calls/s, the worker's CPU ${f2(deciderCpu(r))} ms/call`);
    };
    for (let rep = 0; rep < REPS; rep++) {
      if (rep % 2 === 0) {
        await doLocal(rep);
        await doQueued(rep);
        if (ONE_WORKER) await doOneWorker(rep);
      } else {
        if (ONE_WORKER) await doOneWorker(rep);
        await doQueued(rep);
        await doLocal(rep);
      }
      noteLoad();
    }

    // ---- where the CPU goes: one worker of a queued run and a local batch under --cpu-prof
    let profiled: { local: Run; queued: Run } | undefined;
    if (PROFILE_CHUNKS > 0) {
      const pin = inputFor(PROFILE_CHUNKS);
      phase(`profile: --cpu-prof of worker 1 of ${WORKERS} (${PROFILE_CHUNKS} chunks), then of a local batch`);
      const q = await runQueued({ label: 'profiled', server, panel, inputDir: pin, chunks: PROFILE_CHUNKS, workers: WORKERS, profileWorker: true });
      const l = await runLocal({ label: 'profiled', server, panel, inputDir: pin, chunks: PROFILE_CHUNKS, cpuProfile: true });
      profiled = { local: l, queued: q };
      noteLoad();
    }
    let lowLocal: Run | undefined;
    if (LOW_CHUNKS > 0) {
      phase(`diagnostic: local batch at --concurrency ${WORKER_CONCURRENCY} (${WORKER_CONCURRENCY * PORTS} in flight), ${LOW_CHUNKS} chunks`);
      lowLocal = await runLocal({ label: 'local, low concurrency', server, panel, inputDir: inputFor(LOW_CHUNKS), chunks: LOW_CHUNKS, concurrency: WORKER_CONCURRENCY });
      ctx.log(`    ${f1(callsPerS(lowLocal))} calls/s, CPU ${f2(deciderCpu(lowLocal))} ms/call (${f2(deciderWindowCpu(lowLocal))} first → last request)`);
      noteLoad();
    }
    await server.close();

    // ---- 3. pacing: 3 workers, one key, each --rpm = the account's limit, on a fresh rate-limited server
    let pacing: Pacing | undefined;
    // Read now: the binary the pacing workers load, not one rebuilt while they ran.
    const sharedPacer = sharedPacerInBinary();
    const sharedPacerAtStart = sharedPacerInBinaryAtStart;
    if (PACING_CHUNKS > 0) {
      const limited = scenarioFor(LATENCY_MS, LIMIT);
      const limitedServer = await startSandboxServer({ scenario: limited });
      servers.push(limitedServer);
      const limitedPanel = writePanelFile(work, 'limited', limitedServer.baseURL, limited);
      const expectedMs = ((PACING_CHUNKS * PORTS) / LIMIT_PER_S) * 1000;
      phase(`pacing: ${PACING_WORKERS} workers --rpm ${LIMIT_RPM}, ${PACING_CHUNKS} chunks under ${LIMIT.requests} per ${LIMIT.windowMs} ms (about ${f0(expectedMs / 1000)} s at the limit)`);
      const r = await runQueued({
        label: 'pacing',
        server: limitedServer,
        panel: limitedPanel,
        inputDir: inputFor(PACING_CHUNKS),
        chunks: PACING_CHUNKS,
        workers: PACING_WORKERS,
        workerArgs: ['--rpm', String(LIMIT_RPM)],
        interruptAfterMs: Math.round(2 * expectedMs + 30_000),
      });
      pacing = pacingOf(r);
      ctx.log(`    steady ${f2(pacing.steadyRate)} calls/s of ${f0(LIMIT_PER_S)} (${pct(pacing.steadyShare)}), ${pacing.limited} × 429 of ${pacing.total} (${pct(pacing.limited / pacing.total)})${r.interrupted ? ', interrupted' : ''}`);
      await limitedServer.close();
      noteLoad();
    }
    phase('done');
    return report({ m0, t0, loads, local, queued, oneWorker, lowLocal, profiled, pacing, sharedPacer, build: { headAtStart, rebuilt: distStamp() !== distAtStart, sharedPacerAtStart } });
  } finally {
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

interface Results {
  m0: ReturnType<typeof machineInfo>;
  t0: number;
  loads: number[];
  local: Run[];
  queued: Run[];
  /** Diagnostic: the queued batch decided by one worker at --concurrency 8. */
  oneWorker: Run[];
  /** Diagnostic: a local batch at a worker's --concurrency. */
  lowLocal: Run | undefined;
  profiled: { local: Run; queued: Run } | undefined;
  pacing: Pacing | undefined;
  /** The binary had the shared pacer when the pacing run started. */
  sharedPacer: boolean;
  build: { headAtStart: string | undefined; rebuilt: boolean; sharedPacerAtStart: boolean };
}

function report(r: Results): BenchReport {
  const { m0, local, queued, oneWorker, lowLocal, pacing, profiled } = r;
  const endLoad = loadavg()[0] ?? 0;
  const maxLoad = Math.max(endLoad, ...r.loads);
  const totalS = (Date.now() - r.t0) / 1000;
  // NaN (a hung submitter's spawn → exit) is left out of medians and spreads.
  const finite = (xs: number[]) => xs.filter(Number.isFinite);
  const med = (runs: Run[], pick: (x: Run) => number) => median(finite(runs.map(pick)));
  const pairs = (side: Run[], pick: (x: Run) => number) => side.slice(0, local.length).map((q, i) => pick(q) / pick(local[i]!));
  const overrides = Object.entries(process.env)
    .filter(([k]) => k.startsWith('QUORUM_BENCH_QUEUE_'))
    .map(([k, v]) => `\`${k}=${v}\``);

  // ---- 1. throughput
  const ratio = med(queued, callsPerS) / med(local, callsPerS);
  const ratioMet = ratio >= GOALS.ratio;
  const ideal = ((LOCAL_CONCURRENCY * PORTS) / LATENCY_MS) * 1000;
  const hungRuns = [...queued, ...oneWorker].filter((x) => x.hung).length;
  const queuedRuns = queued.length + oneWorker.length;
  const tpHeader = [
    '',
    'runs',
    'calls',
    'calls/s (first → last request)',
    'calls/s (spawn → exit of the batch / submitter)',
    "a chunk's run, ms (root span, median)",
    'slots busy (Σ chunk runs ÷ 8 slots × first start → last end)',
    'slot time idle per chunk, ms',
    'run lines = chunks',
    'chunks per worker (min–max)',
  ];
  const hasOne = oneWorker.length > 0;
  const tpRow = (name: string, runs: Run[], perWorker: boolean) => [
    name,
    String(runs.length),
    int(med(runs, (x) => x.requests.length)),
    spread(runs.map(callsPerS), 1),
    spread(finite(runs.map(callsPerSWall)), 1),
    spread(runs.map(chunkMs)),
    spread(runs.map(occupancy), 2),
    spread(runs.map(idlePerChunk)),
    `${runs.every((x) => x.runLines === x.chunks) ? 'yes' : '**no**'}${runs.some((x) => x.hung) ? `; **the submitter hung in ${runs.filter((x) => x.hung).length} of ${runs.length}**` : ''}`,
    perWorker ? runs.map((x) => `${x.perWorker[0] ?? 0}–${x.perWorker[x.perWorker.length - 1] ?? 0}`).join(', ') : '–',
  ];
  const tpRows = [
    tpRow(`local \`quorum batch --concurrency ${LOCAL_CONCURRENCY}\``, local, false),
    tpRow(`**queued**: \`batch --queue\` + ${WORKERS} × \`worker --concurrency ${WORKER_CONCURRENCY}\``, queued, true),
    ...(hasOne ? [tpRow(`diagnostic: \`batch --queue\` + 1 × \`worker --concurrency ${LOCAL_CONCURRENCY}\``, oneWorker, false)] : []),
    ['**queued / local**', '', '', `**${f2(ratio)}** (pairs: ${pairs(queued, callsPerS).map(f2).join(', ')})`, `${f2(med(queued, callsPerSWall) / med(local, callsPerSWall))} (pairs: ${pairs(queued, callsPerSWall).map(f2).join(', ')})`, '', '', '', '', ''],
    ...(hasOne ? [['one worker / local', '', '', `${f2(med(oneWorker, callsPerS) / med(local, callsPerS))} (pairs: ${pairs(oneWorker, callsPerS).map(f2).join(', ')})`, '', '', '', '', '', '']] : []),
  ];

  // ---- 2. CPU per call
  const cpuRatio = med(queued, deciderCpu) / med(local, deciderCpu);
  const cpuWindowRatio = med(queued, deciderWindowCpu) / med(local, deciderWindowCpu);
  const cpuMet = cpuRatio <= GOALS.cpu;
  const cpuHeader = ['', 'CPU ms per call (user + sys, whole process ÷ calls)', 'user / system', 'first → last request only', 'of which before the first request (start-up)'];
  const us = (runs: Run[]) => `${f3(med(runs, deciderUser))} / ${f3(med(runs, deciderSys))}`;
  const cpuRows = [
    ['local batch', spread(local.map(deciderCpu), 3), us(local), f3(med(local, deciderWindowCpu)), f3(med(local, startupCpu))],
    [`**${WORKERS} workers, summed**`, spread(queued.map(deciderCpu), 3), us(queued), f3(med(queued, deciderWindowCpu)), f3(med(queued, startupCpu))],
    ['submitter (`batch --queue`)', spread(queued.map(submitterCpu), 3), `${f3(med(queued, (x) => x.main.userMs / x.requests.length))} / ${f3(med(queued, (x) => x.main.systemMs / x.requests.length))}`, f3(med(queued, submitterWindowCpu)), ''],
    ['nats-server (from /proc, submitter start → workers stopped)', spread(queued.map(natsCpu), 3), '', '', ''],
    ['total queued (workers + submitter + nats-server)', spread(queued.map(totalCpu), 3), '', '', ''],
    ['sandbox server (the bench process), local / queued', `${f3(med(local, sandboxCpu))} / ${f3(med(queued, sandboxCpu))}`, '', '', ''],
    ...(hasOne ? [[`diagnostic: 1 worker at \`--concurrency ${LOCAL_CONCURRENCY}\``, spread(oneWorker.map(deciderCpu), 3), us(oneWorker), f3(med(oneWorker, deciderWindowCpu)), f3(med(oneWorker, startupCpu))]] : []),
    ['**workers / local**', `**${f2(cpuRatio)}×** (pairs: ${pairs(queued, deciderCpu).map(f2).join(', ')})`, `${f2(med(queued, deciderUser) / med(local, deciderUser))}× / ${f2(med(queued, deciderSys) / med(local, deciderSys))}×`, `${f2(cpuWindowRatio)}×`, ''],
    ...(hasOne ? [['one worker / local', `${f2(med(oneWorker, deciderCpu) / med(local, deciderCpu))}×`, '', `${f2(med(oneWorker, deciderWindowCpu) / med(local, deciderWindowCpu))}×`, '']] : []),
    ...(lowLocal
      ? [
          [`diagnostic: local batch at \`--concurrency ${WORKER_CONCURRENCY}\` (${WORKER_CONCURRENCY * PORTS} in flight), ${int(lowLocal.requests.length)} calls, 1 run`, f3(deciderCpu(lowLocal)), `${f3(deciderUser(lowLocal))} / ${f3(deciderSys(lowLocal))}`, f3(deciderWindowCpu(lowLocal)), f3(startupCpu(lowLocal))],
          [`local at ${WORKER_CONCURRENCY} / local at ${LOCAL_CONCURRENCY}, first → last request`, '', '', `${f2(deciderWindowCpu(lowLocal) / med(local, deciderWindowCpu))}×`, ''],
        ]
      : []),
    ['total queued / local', `${f2(med(queued, totalCpu) / med(local, totalCpu))}×`, '', '', ''],
  ];
  // CPUs the runs' own processes kept busy while calls were made (on 2 CPUs, near 2 means CPU-bound).
  const busy = (x: Run) => {
    const w = windowMs(x);
    const node = windowCpu(x, x.main) + sum(x.workers.map((p) => windowCpu(x, p)));
    // nats-server's CPU is known only in total: counted at its mean rate over its measured span.
    const nats = Number.isFinite(x.natsCpuMs) ? (x.natsCpuMs * w) / x.natsSpanMs : 0;
    return (node + nats) / w;
  };

  // ---- 3. pacing
  const paceMet = pacing ? pacing.steadyShare >= GOALS.pace : undefined;
  const limitedShare = pacing ? pacing.limited / pacing.total : Number.NaN;
  const limitedMet = pacing ? limitedShare <= GOALS.limited : undefined;
  const pacingRows = pacing
    ? [
        [
          `${PACING_WORKERS} × \`worker --rpm ${LIMIT_RPM}\`, one key, ${PACING_CHUNKS} chunks${pacing.run.interrupted ? ' (**interrupted** by the bench)' : ''}`,
          int(pacing.total),
          int(pacing.ok),
          int(pacing.limited),
          `**${pct(limitedShare)}**`,
          `${f2(pacing.steadyRate)} (${f0(pacing.steadyFrom / 1000)}–${f0(pacing.steadyTo / 1000)} s)`,
          `**${f2(pacing.steadyShare)}**`,
          f2(pacing.wholeRate),
          `${pacing.perWindowMax} / ${f0(pacing.perWindowMedian)}`,
          `${pacing.run.runLines} / ${pacing.failed}`,
        ],
      ]
    : [];

  // ---- profile
  // The profiler slows the process it samples (and a profiled worker then decides fewer chunks),
  // so its absolute figures are not comparable: shares of the main thread's busy time (start-up
  // and idle left out) are, scaled by the unprofiled runs' first → last request CPU per call.
  const profRows: string[][] = [];
  let profiledBusy: { worker: number; local: number } | undefined;
  if (profiled?.queued.modules && profiled.local.modules) {
    const q = profiled.queued.modules;
    const l = profiled.local.modules;
    const msOf = (m: ModuleShares, g: string) => m.groups.find((x) => x.group === g)?.ms ?? 0;
    const busyOf = (m: ModuleShares) => m.totalMs - msOf(m, '(idle)') - msOf(m, START_UP);
    const [bq, bl] = [busyOf(q), busyOf(l)];
    const scaleQ = med(queued, deciderWindowCpu);
    const scaleL = med(local, deciderWindowCpu);
    const shares = (g: string) => [msOf(q, g) / bq, msOf(l, g) / bl] as const;
    const est = (g: string) => [shares(g)[0] * scaleQ, shares(g)[1] * scaleL] as const;
    const all = [...new Set([...q.groups, ...l.groups].map((g) => g.group))].filter((g) => g !== '(idle)' && g !== START_UP);
    const shown = [...all].sort((a, b) => Math.max(...est(b)) - Math.max(...est(a))).slice(0, PROFILE_ROWS);
    shown.sort((a, b) => est(b)[0] - est(b)[1] - (est(a)[0] - est(a)[1]));
    const row = (name: string, sq: number, sl: number, eq: number, el: number) => [name, pct(sq), pct(sl), f3(eq), f3(el), f3(eq - el)];
    for (const g of shown) profRows.push(row(`\`${g}\``, ...shares(g), ...est(g)));
    const others = all.filter((g) => !shown.includes(g));
    const part = (i: 0 | 1, f: (g: string) => readonly [number, number]) => sum(others.map((g) => f(g)[i]));
    profRows.push(row(`${others.length} other groups`, part(0, shares), part(1, shares), part(0, est), part(1, est)));
    profRows.push(['**all (main thread, start-up left out)**', '100 %', '100 %', `**${f3(scaleQ)}**`, `**${f3(scaleL)}**`, `**${f3(scaleQ - scaleL)}**`]);
    profiledBusy = { worker: bq / (profiled.queued.firstWorkerChunks * PORTS), local: bl / profiled.local.requests.length };
  }

  const goalRows = [
    ['1', `queued calls/s ÷ local calls/s at ${LATENCY_MS} ms, 64 in flight`, f2(ratio), `≥ ${GOALS.ratio}`, verdict(ratioMet)],
    ['2', "workers' CPU per call ÷ local batch's", `${f2(cpuRatio)}× (${f2(med(queued, deciderCpu))} vs ${f2(med(local, deciderCpu))} ms)`, `≤ ${GOALS.cpu}×`, verdict(cpuMet)],
    ['3a', `${PACING_WORKERS} workers, one key: achieved ÷ limit (steady part)`, pacing ? f2(pacing.steadyShare) : 'not run', `≥ ${GOALS.pace}`, verdict(paceMet)],
    ['3b', 'requests answered 429', pacing ? pct(limitedShare) : 'not run', `≤ ${pct(GOALS.limited, 0)}`, verdict(limitedMet)],
  ];

  // ---- findings
  const findings: string[] = [];
  if (hungRuns) {
    findings.push(
      `**The submitter hung** in ${hungRuns} of ${queuedRuns} queued runs: every chunk's run line was committed to its folder, but \`batch --queue\` did not complete the batch; the bench Ctrl-C'd it ${HUNG_AFTER_MS / 1000} s later. Such a run's calls/s (first → last request) stands; its spawn → exit rate is left out.`,
    );
  }
  findings.push(
    `Throughput: ${verdict(ratioMet)}. The queued side made ${f1(med(queued, callsPerS))} calls/s against the local batch's ${f1(med(local, callsPerS))} (64 in flight at ${LATENCY_MS} ms is ${f0(ideal)} calls/s at most). While calls were made, the runs' own processes used ${f2(med(local, busy))} CPUs (local) and ${f2(med(queued, busy))} CPUs (queued: workers, submitter and nats-server) of the machine's ${m0.nproc}, besides the sandbox in the bench process (${f2(med(local, (x) => x.serverCpuMs / x.wallMs))} / ${f2(med(queued, (x) => x.serverCpuMs / x.natsSpanMs))} CPUs over the run). Neither side was short of CPU; what differs is how full the 8 slots were kept: ${f2(med(local, occupancy))} (local) against ${f2(med(queued, occupancy))} (queued). A queued chunk's run took ${f0(med(queued, chunkMs))} ms (local ${f0(med(local, chunkMs))}), and each chunk left ${f0(med(queued, idlePerChunk))} ms of slot time idle (local ${f0(med(local, idlePerChunk))}): in a worker, the time from a chunk's decision to the next chunk's start: gathering the run's records (its spans flushed) and pulling the next task, a round trip to nats-server; the result's publish and the task's ack go on in the background.${
      hasOne
        ? ` One worker at \`--concurrency ${LOCAL_CONCURRENCY}\` (the diagnostic row) made ${f1(med(oneWorker, callsPerS))} calls/s (${f2(med(oneWorker, callsPerS) / med(local, callsPerS))} of local) with its slots ${f2(med(oneWorker, occupancy))} busy.`
        : ''
    }`,
  );
  findings.push(
    `CPU: ${verdict(cpuMet)}. The ${WORKERS} workers used ${f2(med(queued, deciderCpu))} ms per call together, the local batch ${f2(med(local, deciderCpu))}; between the first and the last request alone (start-up and idle waiting left out) ${f2(med(queued, deciderWindowCpu))} vs ${f2(med(local, deciderWindowCpu))}. Start-up is paid ${WORKERS} times: ${f3(med(queued, startupCpu))} vs ${f3(med(local, startupCpu))} ms per call at ${int(med(queued, (x) => x.requests.length))} calls. The submitter adds ${f2(med(queued, submitterCpu))} and nats-server ${f2(med(queued, natsCpu))} ms per call.${
      profRows.length
        ? ` Where a worker's main thread goes, against the local batch's, per call (\`--cpu-prof\`, ${PROFILE_CHUNKS} chunks): see the profile table; the largest extra is ${profRows[0]![0]} (≈ +${profRows[0]![5]} ms per call).`
        : ''
    }${
      hasOne
        ? ` One worker deciding the whole batch at \`--concurrency ${LOCAL_CONCURRENCY}\` (64 in flight in one process, as the local batch) used ${f2(med(oneWorker, deciderCpu))} ms per call, ${f2(med(oneWorker, deciderCpu) / med(local, deciderCpu))}× local (${f2(med(oneWorker, deciderWindowCpu) / med(local, deciderWindowCpu))}× between first and last request). That is what the queue itself costs a decider (NATS client, result messages, the event bus, less the run log it no longer writes); the rest of the ${WORKERS} workers' extra, ${f2(med(queued, deciderCpu) - med(oneWorker, deciderCpu))} ms per call, comes from splitting the same work over ${WORKERS} processes: each pays start-up, warms its own JIT, and has ${WORKER_CONCURRENCY * PORTS} calls in flight instead of 64, so the fixed costs of each event-loop turn are shared by fewer calls.`
        : ''
    }${
      lowLocal
        ? ` A control without any queue: a local batch at \`--concurrency ${WORKER_CONCURRENCY}\` (${WORKER_CONCURRENCY * PORTS} calls in flight, one worker's share) used ${f2(deciderWindowCpu(lowLocal))} ms per call between first and last request, ${f2(deciderWindowCpu(lowLocal) / med(local, deciderWindowCpu))}× the local batch at ${LOCAL_CONCURRENCY} (one run; it varied between 1.2× and 1.5× over the bench runs made while writing it).`
        : ''
    }`,
  );
  if (pacing) {
    findings.push(
      `Pacing: ${verdict(paceMet && limitedMet)}. ${PACING_WORKERS} workers each told \`--rpm ${LIMIT_RPM}\` (the whole account's limit) sent ${int(pacing.total)} requests; ${int(pacing.limited)} were answered 429 (${pct(limitedShare)}). Over the steady part they got ${f2(pacing.steadyRate)} calls/s answered of the ${f0(LIMIT_PER_S)} the account allows. ${
        limitedMet === false
          ? `Each worker paces only itself here, so together they ask up to ${PACING_WORKERS}× the limit, and the server refuses what is over it: the pace must be shared between the workers (src/queue/sharedPacer.ts, being wired into \`quorum worker\`).`
          : `The workers together kept within the limit. ${
              r.sharedPacer
                ? 'The binary measured has the shared pacer (a KV pace bucket in dist/).'
                : "The binary measured has no shared pacer yet (no KV pace bucket in dist/): each worker's limiter paces at the full `--rpm`, but also learns from the server's answers, and a `X-RateLimit-Remaining: 0` with its reset ahead pauses it until the reset; the server's count is the account's, so it holds all three workers back at once."
            }`
      }`,
    );
  }

  const setup = [
    `The real binary (\`node ${binName}\`) runs as child processes against the sandbox server in the bench process: eight simulated models, \`latencyMs: ${LATENCY_MS}\`, \`tokenDelayMs: 0\`, answers that share three facts (every chunk reaches consensus). Each queued run gets a fresh nats-server with JetStream (its own store; nats-server ${natsVersion()}) on loopback.`,
    `Input: ${int(CHUNKS)} generated Markdown sections, one chunk each at \`--chunk-tokens ${CHUNK_TOKENS}\`; \`--rounds 1 --grace=-1\`, so a chunk is 8 calls and ${int(CHUNKS * PORTS)} calls a run. **Local**: \`batch . --concurrency ${LOCAL_CONCURRENCY}\` (64 calls in flight). **Queued**: ${WORKERS} × \`worker --queue URL --concurrency ${WORKER_CONCURRENCY}\` started first (each waited for until it says it takes tasks), then \`batch . --queue URL\` (the submitter), then SIGTERM to the workers after it exits; ${WORKERS} × ${WORKER_CONCURRENCY} × 8 = 64 calls in flight. Both folders are checked to hold one run line per chunk.`,
    `Rates come from the sandbox's request log: (calls − 1) / (first → last request). CPU is each child's \`process.cpuUsage()\` at exit, through the probe preload of bench/batchChild.ts (user + system, all threads, start-up included), with samples every ${MEM_SAMPLE_MS} ms for the first → last request figures; nats-server's from /proc. Local and queued runs alternate (the order flips every round), ${REPS} round${REPS === 1 ? '' : 's'}; figures are median (min–max).${overrides.length ? ` Settings for this run: ${overrides.join(', ')}.` : ''}`,
  ].join(' ');

  const markdown = [
    'Measured by `npm run bench -- --only queue` (`bench/queue.ts`); this block is rewritten by that script.',
    '',
    setup,
    '',
    '**Goals** (issue 14):',
    '',
    mdTable(['#', 'goal', 'measured', 'target', 'verdict'], goalRows),
    '',
    `**1. Throughput at ${LATENCY_MS} ms latency**, 64 calls in flight, ${int(CHUNKS * PORTS)} calls a run:`,
    '',
    mdTable(tpHeader, tpRows),
    '',
    '**2. CPU per call** in the same runs:',
    '',
    mdTable(cpuHeader, cpuRows),
    '',
    ...(profRows.length
      ? [
          `**Where the main thread goes**: \`node --cpu-prof\` of worker 1 of ${WORKERS} in a queued run and of a local batch, ${PROFILE_CHUNKS} chunks each. Each sample goes to the innermost frame on its stack that is quorum's own module or a package (bundle frames mapped by esbuild's \`// src/…\` markers), else to its leaf's kind; module loading (start-up) and idle time are left out, and the rest is shown as shares. The profiler slows the process it samples, so its own per-call figures are not comparable (busy ${profiledBusy ? `${f2(profiledBusy.worker)} ms per call in the profiled worker, ${f2(profiledBusy.local)} in the profiled batch` : '–'}); *≈ ms per call* applies each share to the unprofiled runs' CPU per call between the first and the last request (table 2). Largest extra first:`,
          '',
          mdTable(['group', 'worker: share', 'local: share', 'worker ≈ ms per call', 'local ≈ ms per call', 'extra ≈ ms per call'], profRows),
          '',
        ]
      : []),
    ...(pacing
      ? [
          `**3. Pacing**: the sandbox limits the account to R = ${LIMIT.requests} requests per ${int(LIMIT.windowMs)} ms (${f0(LIMIT_PER_S)} calls/s; a fixed window that starts with the first request after the last one ran out), ${LATENCY_MS} ms latency. ${PACING_WORKERS} workers, the same key, each \`--rpm ${LIMIT_RPM}\` (= R per minute), \`--concurrency ${WORKER_CONCURRENCY}\`. The steady part leaves out the first window (the workers start before they have learned anything) and the last (the batch's tail). Quorum retries 429s, so *requests* counts them too:`,
          '',
          mdTable(['case', 'requests', 'answered 200', '429', '429 share', 'answered calls/s, steady part (from–to)', 'steady ÷ R', 'answered calls/s, whole run', 'answered per window (max / median)', 'run lines / chunks failed'], pacingRows),
          '',
        ]
      : []),
    ...findings.map((f) => `- ${f}`),
    `- Machine load: the 1-min load average was ${m0.load1.toFixed(1)} at the start and at most ${maxLoad.toFixed(1)} during the runs (${m0.nproc} CPU(s))${maxLoad > m0.nproc ? ': **the machine was busy**, other work competed for the CPUs, so rates are lower and noisier than on an idle machine; both sides ran alternately to meet the same load' : ''}.`,
    `- ${machineLine(m0, endLoad)} Whole benchmark ${totalS.toFixed(0)} s. The binary ${r.build.sharedPacerAtStart ? 'had' : 'did not have'} the shared pacer (src/queue/sharedPacer.ts) when the bench started.${r.build.headAtStart ? ` Commit ${r.build.headAtStart}.` : ''}${r.build.rebuilt ? ' **dist/ was rebuilt by another process during the run**, so the children may not all have run the same build.' : ''}`,
  ].join('\n');

  const table = [
    textTable(['goal', '', 'measured', 'target', 'verdict'], goalRows.map((row) => row.map(plain))),
    '',
    textTable(['throughput', 'runs', 'calls', 'calls/s', 'calls/s wall', 'chunk ms', 'slots busy', 'idle/chunk', 'lines ok', 'per worker'], tpRows.map((row) => row.map(plain))),
    '',
    textTable(['CPU', 'ms/call', 'user / sys', 'window', 'start-up'], cpuRows.map((row) => row.map(plain))),
    '',
    ...(profRows.length ? [textTable(['profile', 'worker %', 'local %', 'worker ≈ms/call', 'local ≈ms/call', 'extra'], profRows.map((row) => row.map(plain))), ''] : []),
    ...(pacing ? [textTable(['pacing', 'requests', '200', '429', '429 share', 'steady', '/R', 'whole', 'per window', 'lines/failed'], pacingRows.map((row) => row.map(plain))), ''] : []),
    ...findings.map(plain),
    machineLine(m0, endLoad),
  ].join('\n');

  return { id: 'queue', heading: 'queue: scale-out over NATS (batch --queue + quorum worker)', markdown, table };
}

/** The newest modification time under dist/bin/: a rebuild by another process shows as a change. */
let sharedPacerInBinaryAtStart = false;
function distStamp(): number {
  const dir = join(repoRoot, 'dist', 'bin');
  try {
    return Math.max(0, ...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
  } catch {
    return 0;
  }
}

/** Whether the built binary contains the shared pacer's KV bucket (src/queue/sharedPacer.ts, PACE_BUCKET). */
function sharedPacerInBinary(): boolean {
  const dir = join(repoRoot, 'dist', 'bin');
  try {
    return readdirSync(dir).some((f) => f.endsWith('.js') && readFileSync(join(dir, f), 'utf8').includes('quorum_pace'));
  } catch {
    return false;
  }
}

function natsVersion(): string {
  const probe = spawnSync(natsServerBinary, ['--version'], { encoding: 'utf8' });
  return (probe.stdout || probe.stderr || '').trim().replace(/^nats-server:\s*/, '') || 'unknown';
}

function gitHead(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' (src/ modified)' : ''}`;
  } catch {
    return undefined;
  }
}

// Alone: `npx tsx bench/queue.ts` prints the tables; `--write` also rewrites the section, and
// `--markdown FILE` saves the section's markdown to FILE (to review before BENCHMARKS.md takes it).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run({ repoRoot, log: (l) => console.log(l) }).then((rep) => {
    console.log(`\n${rep.table}`);
    const mdAt = process.argv.indexOf('--markdown');
    if (mdAt >= 0 && process.argv[mdAt + 1]) writeFileSync(process.argv[mdAt + 1]!, `${rep.markdown}\n`);
    if (process.argv.includes('--write')) {
      writeSection(rep);
      console.log('\nBENCHMARKS.md: section "queue" rewritten.');
    }
  });
}
