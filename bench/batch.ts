/**
 * `quorum batch` performance through the REAL CLI binary (`node dist/bin/cli.js batch …`, the
 * bundle package.json's `bin` names) as a child process, against the sandbox server running in this (the bench) process. The goals (the run
 * log's issue), each paired against a bare loop run in the same bench, alternating sides:
 *
 * 1. Throughput at 0 ms latency: 2,000 chunks × 8 ports (16,000 calls), `--rounds 1`, 32 calls in
 *    flight at most (`--concurrency 4` × 8 ports), against a bare fetch loop (plain `fetch`
 *    streaming the same chat completions with the same bodies, 32 in flight, nothing else).
 *    Goal: quorum's calls/s ≥ 0.5 × the fetch loop's. An `openai` SDK loop (quorum's client)
 *    is a second reference row.
 * 2. Throughput at 200 ms latency (`latencyMs: 200` on every model), `--concurrency 8` (64 in
 *    flight) against the fetch loop at 64 in flight, 4,000 calls each. Goals: ≥ 0.9 × its first →
 *    last request rate and ≥ 0.8 × its spawn → exit rate.
 * 3. CPU per call (the child's user + system time ÷ calls) in the runs of 1. Goal: ≤ 1.0 ms.
 * 4. Start-up: spawn → first request (the batch runs of 1. and 2.) ≤ 0.3 s; `--version` wall time
 *    ≤ 0.2 s (median of 10), for the bin and for the unbundled dist/cli.js, alternating with
 *    `node -e 0`.
 * 5. Disk: files and bytes per chunk (du of the artifacts folder ÷ chunks, and the sum of file
 *    sizes ÷ chunks) without `--run-files`. Goal: 0 files per chunk, ≤ 40 % of 0.1's 62.3 KB per
 *    chunk. A `--run-files` batch (and a plain one of the same size, just before it) for comparison.
 * 6. Memory: peak RSS (`process.resourceUsage().maxRSS` at exit, via a preload) at 1,000 and
 *    10,000 chunks. Goal: ≤ 200 MB, and flat (10,000 within 10 % of 1,000).
 * 7. Where the time goes: a CPU profile (`--cpu-prof`) of a smaller batch split into shares, and a
 *    what-if run with the artifacts on tmpfs (src is unchanged).
 * Kept from before: pacing against a rate-limited sandbox (≥ 0.9 R with ≤ 2 % of calls 429).
 *
 * Run by `npm run bench` (bench/run.ts; `-- --only batch` for this one); `npx tsx bench/batch.ts`
 * runs it alone and prints the tables without writing BENCHMARKS.md (`--write` writes its
 * section too). Environment (defaults are the goals' sizes):
 *   QUORUM_BENCH_BATCH_CHUNKS          chunks of the 0 ms throughput runs (default 2000)
 *   QUORUM_BENCH_BATCH_REPS            rounds of quorum / bare-loop runs, alternately (default 3)
 *   QUORUM_BENCH_BATCH_SDK_LOOP=0      skips the openai SDK loop rows
 *   QUORUM_BENCH_BATCH_LATENCY_CALLS   calls of each 200 ms run (default 4000; 0 skips them)
 *   QUORUM_BENCH_BATCH_VERSION_REPS    `--version` samples (default 10)
 *   QUORUM_BENCH_BATCH_RUNFILES        chunks of the `--run-files` comparison (default 500; 0 skips)
 *   QUORUM_BENCH_BATCH_MEM             memory batch sizes in chunks (default 1000,10000)
 *   QUORUM_BENCH_BATCH_MEM_BUDGET_S    a memory run predicted to take longer (from the previous
 *                                      one's rate) is shrunk to 5000 or 2500 chunks, and the report
 *                                      says so and extrapolates (default 270)
 *   QUORUM_BENCH_BATCH_PACING          chunks of each pacing run (default 60; 0 skips pacing)
 *   QUORUM_BENCH_BATCH_WHATIF=0        skips the what-if runs (tmpfs, heap cap)
 *   QUORUM_BENCH_BATCH_WHATIF_CHUNKS   chunks of the what-if run and its baseline (default 250)
 *   QUORUM_BENCH_BATCH_PROFILE         chunks of the profiled run (default 200)
 */
import { execFileSync, spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { RateLimiter } from '../src/ratelimit/rateLimiter.js';
import type { Scenario } from '../src/sandbox/scenario.js';
import { type SandboxRequestLog, type SandboxServer, startSandboxServer } from '../src/sandbox/server.js';
import { bareFetchSource, bareSdkSource, type Probe, probeArg } from './batchChild.js';
import { type ProfileSummary, summariseProfile } from './batchProfile.js';
import {
  type BenchContext,
  type BenchReport,
  binPath,
  cliPath,
  machineInfo,
  machineLine,
  mdTable,
  median,
  repoRoot,
  spread,
  textTable,
  writeSection,
} from './harness.js';

const binName = relative(repoRoot, binPath);
const envNum = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const THROUGHPUT_CHUNKS = envNum('QUORUM_BENCH_BATCH_CHUNKS', 2000);
const REPS = envNum('QUORUM_BENCH_BATCH_REPS', 3);
const SDK_LOOP = process.env.QUORUM_BENCH_BATCH_SDK_LOOP !== '0';
const LATENCY_CALLS = envNum('QUORUM_BENCH_BATCH_LATENCY_CALLS', 4000);
const VERSION_REPS = envNum('QUORUM_BENCH_BATCH_VERSION_REPS', 10);
const RUNFILES_CHUNKS = envNum('QUORUM_BENCH_BATCH_RUNFILES', 500);
const MEMORY_SIZES = (process.env.QUORUM_BENCH_BATCH_MEM ?? '1000,10000').split(',').map(Number).filter((n) => n > 0);
/** A memory run predicted (from the previous run's rate) to take longer than this is shrunk to a size that fits. */
const MEMORY_BUDGET_S = envNum('QUORUM_BENCH_BATCH_MEM_BUDGET_S', 270);
const MEMORY_FALLBACKS = [5000, 2500];
const PACING_CHUNKS = envNum('QUORUM_BENCH_BATCH_PACING', 60);
const WHAT_IFS = process.env.QUORUM_BENCH_BATCH_WHATIF !== '0';
const PROFILE_CHUNKS = envNum('QUORUM_BENCH_BATCH_PROFILE', 200);
const WHATIF_CHUNKS = envNum('QUORUM_BENCH_BATCH_WHATIF_CHUNKS', 250);
const PORTS = 8;
/** Run 1: 4 chunks × 8 ports = 32 calls in flight at most. */
const CONCURRENCY = 4;
/** Run 2: every model answers after this long; 8 chunks × 8 ports = 64 calls in flight at most. */
const LATENCY_MS = 200;
const LATENCY_CONCURRENCY = 8;
const LATENCY_CHUNKS = Math.max(1, Math.round(LATENCY_CALLS / PORTS));
const CHUNK_TOKENS = 50;
/** Sections per generated file. */
const SECTIONS_PER_FILE = 500;
/** The server's limit for the pacing runs: R = 40 per 2 s = 20 calls/s (1,200 a minute). */
const LIMIT = { requests: 40, windowMs: 2000 };
const LIMIT_RPM = (LIMIT.requests * 60_000) / LIMIT.windowMs;
/** The limiter's default headroom (src/ratelimit/rateLimiter.ts), its spacing at that limit, and the lateness a grant may catch up. */
const HEADROOM = 0.95;
const SPACING_MS = LIMIT.windowMs / (LIMIT.requests * HEADROOM);
const CATCH_UP_MS = SPACING_MS * (1 - HEADROOM);
const MEM_SAMPLE_MS = 250;
/** The memory what-if's cap on V8's old space. */
const HEAP_CAP_FLAG = '--max-old-space-size=128';
const MB = 1024 * 1024;
/** Disk figures are in decimal kB, as 0.1's 623 MB / 10,000 chunks = 62.3 KB. */
const KB = 1000;
const QUERY = 'What state does the protocol keep?';
/** 0.1 at `--rounds 1`: 100,005 files and 623 MB for 10,000 chunks. */
const V01 = { chunks: 10_000, files: 100_005, bytes: 623e6 };
const V01_KB_PER_CHUNK = V01.bytes / V01.chunks / KB;
const GOALS = {
  ratio: 0.5,
  latencyRatio: 0.9,
  latencyWallRatio: 0.8,
  cpuMsPerCall: 1.0,
  firstRequestMs: 300,
  versionMs: 200,
  diskShare: 0.4,
  rssMB: 200,
  flat: 0.1,
  pace: 0.9,
  limited: 0.02,
};
const DISK_GOAL_KB = GOALS.diskShare * V01_KB_PER_CHUNK;

// ---------------------------------------------------------------- inputs, scenario, panel

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];

/**
 * `chunks` Markdown sections of about 31 estimated tokens each, each under its own heading and
 * each text unique (equal texts would share a chunk id), in files of 500: with
 * `--chunk-tokens 50` two sections never fit one chunk, so every section is exactly one chunk.
 */
function writeInput(dir: string, chunks: number): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let start = 0, f = 0; start < chunks; start += SECTIONS_PER_FILE, f++) {
    const parts: string[] = [];
    for (let i = start; i < Math.min(chunks, start + SECTIONS_PER_FILE); i++) {
      parts.push(`## Section ${i}\n\nSection ${i} says that the protocol keeps ${WORDS[i % 12]} and ${WORDS[(i * 7) % 12]} state for part ${i}, in order, as the reference says.`);
    }
    const path = join(dir, `part-${String(f).padStart(3, '0')}.md`);
    writeFileSync(path, `${parts.join('\n\n')}\n`);
    files.push(path);
  }
  return files;
}

const FACTS = ['The protocol keeps per-connection state.', 'Every message carries a sequence number.', 'Connections close after 30 seconds of silence.'];

/** Eight models answering after `latencyMs`, streamed at full speed, sharing three facts (so every chunk reaches consensus). */
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

function writePanelFile(dir: string, baseURL: string, scenario: Scenario): string {
  const path = join(dir, `panel-${baseURL.replace(/\D+/g, '')}.json`);
  writeFileSync(path, JSON.stringify({ baseURL, timeoutMs: 30_000, members: scenario.models.map((m, port) => ({ port, model: m.model, family: m.family })) }));
  return path;
}

/** A tmpfs folder for the what-if and memory runs' artifacts, if the machine has one. */
function tmpfsDir(): string | undefined {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8');
    return /^\S+ \/dev\/shm tmpfs /m.test(mounts) ? '/dev/shm' : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- what was measured

/** HEAD's short hash, and whether src/ differs from it; undefined outside a git checkout. */
function gitState(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' (src/ modified)' : ''}`;
  } catch {
    return undefined;
  }
}

/** The newest modification time under dist/: a rebuild by another process shows as a change. */
function distStamp(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  try {
    walk(join(repoRoot, 'dist'));
  } catch {
    // No dist/: the first child run fails and says so.
  }
  return newest;
}

/**
 * The limiter in isolation (src/ratelimit/rateLimiter.ts, in this process): configured as \`--rpm\`
 * = the server's limit per minute, it learns from ONE successful answer that says
 * \`X-RateLimit-Limit: 40\` with its reset this far away; the rate it allows afterwards, per minute.
 */
const PROBE_RESETS_MS = [1990, 500, 5, 0, -5];
function limiterProbe(): { resetInMs: number; perMinute: number }[] {
  return PROBE_RESETS_MS.map((resetInMs) => {
    const limiter = new RateLimiter({ account: { requests: LIMIT_RPM, windowMs: 60_000 } });
    const now = limiter.now();
    limiter.learn('m', { status: 200, limit: LIMIT.requests, remaining: 10, resetAtMs: now + resetInMs, sentAt: now });
    return { resetInMs, perMinute: limiter.stats().ratePerMinute ?? Number.NaN };
  });
}

// ---------------------------------------------------------------- artifacts on disk

interface Disk {
  /** Regular files and folders under the artifacts folder (the folder itself not counted). */
  files: number;
  dirs: number;
  /** Σ file sizes, bytes. */
  sizeBytes: number;
  /** `du -sk` of the folder (blocks of files and folders), bytes. */
  duBytes: number;
  /** Size of each file at the top of the folder (the logs), bytes. */
  top: Record<string, number>;
}

function diskOf(dir: string): Disk {
  const disk: Disk = { files: 0, dirs: 0, sizeBytes: 0, duBytes: Number.NaN, top: {} };
  const walk = (d: string, top: boolean) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) {
        disk.dirs++;
        walk(path, false);
      } else if (entry.isFile()) {
        const size = statSync(path).size;
        disk.files++;
        disk.sizeBytes += size;
        if (top) disk.top[entry.name] = size;
      }
    }
  };
  walk(dir, true);
  try {
    disk.duBytes = Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split(/\s/)[0]) * 1024;
  } catch {
    // No du: the sum of sizes stands alone.
  }
  return disk;
}

// ---------------------------------------------------------------- one child run

interface ChildRun {
  code: number;
  stdout: string;
  stderr: string;
  /** spawn() → 'close', ms. */
  wallMs: number;
  /** Epoch ms at spawn. */
  spawnedAt: number;
  /** Sent SIGINT (the CLI's Ctrl-C path: it cancels, flushes, writes the summary, exits 130). */
  interrupted: boolean;
}

/** `node <args>`, timed from spawn to close (as harness.timedNode), optionally Ctrl-C'd after a while. */
function nodeChild(args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv; interruptAfterMs?: number }): Promise<ChildRun> {
  return new Promise((resolvePromise, reject) => {
    const spawnedAt = Date.now();
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: opts.cwd ?? repoRoot, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timers: NodeJS.Timeout[] = [];
    if (opts.interruptAfterMs !== undefined) {
      timers.push(
        setTimeout(() => {
          interrupted = true;
          child.kill('SIGINT');
          timers.push(setTimeout(() => child.kill('SIGKILL'), 30_000));
        }, opts.interruptAfterMs),
      );
    }
    // Nothing here should take an hour; a hung child must not hang the bench.
    timers.push(setTimeout(() => child.kill('SIGKILL'), 60 * 60_000));
    child.on('error', (e) => {
      timers.forEach(clearTimeout);
      reject(e);
    });
    child.on('close', (code, signal) => {
      timers.forEach(clearTimeout);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr, wallMs: performance.now() - t0, spawnedAt, interrupted });
    });
  });
}

interface Summary {
  outcome: string;
  chunks: number;
  consensus: number;
  degraded: number;
  quorumLost: number;
  failed: number;
  calls: number;
  wallMs: number;
}

interface Run {
  label: string;
  chunks: number;
  wallMs: number;
  spawnedAt: number;
  probe: Probe;
  /** This run's requests, in arrival order. */
  requests: SandboxRequestLog[];
  /** CPU the bench process (the sandbox server) used during the run, ms. */
  serverCpuMs: number;
  /** Event-loop utilisation of the bench process (the sandbox server) from the first to the last request. */
  serverElu: number;
  /** Chat completions the sandbox finished during the run, Σ their time at the server (request start → response finished), and the first start and last finish (bench clock), ms. */
  served: { count: number; busyMs: number; firstStart: number; lastFinish: number };
  summary?: Summary;
  /** Ctrl-C'd after `interruptAfterMs`: the batch did not finish. */
  interrupted: boolean;
  /** Σ call durations (query_model spans, or the bare loop's own timing), ms. */
  callMsSum?: number;
  /** First call start → last call end (query_model spans, or the bare loop's clock), ms. */
  callSpanMs?: number;
  /** Root span (`scatter_gather_research`) durations, ms. */
  chunkMs?: number[];
  /** Lines of traces.jsonl. */
  spans?: number;
  /** Epoch ms the `batch` span started (after input resolution and the counting pass). */
  batchSpanAt?: number;
  /** The artifacts folder after the run. */
  disk?: Disk;
  /** Lines of runs.jsonl (one per decided chunk). */
  runLines?: number;
  profile?: ProfileSummary;
}

interface QuorumOptions {
  label: string;
  server: SandboxServer;
  panel: string;
  /** Folder holding the input files (the child's cwd; inputs given as `.`). */
  inputDir: string;
  chunks: number;
  outBase: string;
  concurrency?: number;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  memSampleMs?: number;
  cpuProfile?: boolean;
  readTraces?: boolean;
  /** Ctrl-C the batch after this long (a run that would take far too long). */
  interruptAfterMs?: number;
  /** Extra Node flags for the child (what-if rows). */
  nodeArgs?: string[];
}

/**
 * Every chat completion the sandbox serves, timed at the server from the request's start to its
 * response's finish (Node's http diagnostics channels, so src/sandbox is untouched): Σ of those
 * times over the first → last request window is the mean number of calls in flight as the server
 * sees them, the same measure for quorum and the bare loops. One server runs at a time.
 */
const served = { count: 0, busyMs: 0, firstStart: Infinity, lastFinish: -Infinity };
const servedSince = new WeakMap<object, number>();
const onRequestStart = (m: unknown) => {
  const { request } = m as { request: { url?: string } };
  if (!request.url?.endsWith('/chat/completions')) return;
  const now = performance.now();
  servedSince.set(request, now);
  served.firstStart = Math.min(served.firstStart, now);
};
const onResponseFinish = (m: unknown) => {
  const t = servedSince.get((m as { request: object }).request);
  if (t === undefined) return;
  const now = performance.now();
  served.count++;
  served.busyMs += now - t;
  served.lastFinish = now;
};
function watchServed(on: boolean): void {
  if (on) {
    subscribe('http.server.request.start', onRequestStart);
    subscribe('http.server.response.finish', onResponseFinish);
  } else {
    unsubscribe('http.server.request.start', onRequestStart);
    unsubscribe('http.server.response.finish', onResponseFinish);
  }
}

/**
 * The bench process's CPU and event-loop use while a child runs: the sandbox's share of the
 * machine. Event-loop utilisation is sampled every 100 ms, so that it can be read over the
 * first → last request window alone (a busy server there may cap the child's rate).
 */
function serverMeter(): (requests: SandboxRequestLog[]) => { cpuMs: number; elu: number; served: Run['served'] } {
  const cpu0 = process.cpuUsage();
  Object.assign(served, { count: 0, busyMs: 0, firstStart: Infinity, lastFinish: -Infinity });
  type Elu = ReturnType<typeof performance.eventLoopUtilization>;
  const samples: [number, Elu][] = [[Date.now(), performance.eventLoopUtilization()]];
  const timer = setInterval(() => samples.push([Date.now(), performance.eventLoopUtilization()]), 100);
  return (requests) => {
    clearInterval(timer);
    samples.push([Date.now(), performance.eventLoopUtilization()]);
    const cpu = process.cpuUsage(cpu0);
    const from = requests[0]?.at ?? 0;
    const to = requests[requests.length - 1]?.at ?? Infinity;
    const inside = samples.filter(([t]) => t >= from && t <= to);
    const [a, b] = inside.length >= 2 ? [inside[0]!, inside[inside.length - 1]!] : [samples[0]!, samples[samples.length - 1]!];
    return { cpuMs: (cpu.user + cpu.system) / 1000, elu: performance.eventLoopUtilization(b[1], a[1]).utilization, served: { ...served } };
  };
}

/** This run's requests; the server's log is emptied so that it does not grow over the bench. */
function takeRequests(server: SandboxServer, first: number): SandboxRequestLog[] {
  const taken = server.requests.slice(first);
  server.requests.length = 0;
  return taken;
}

async function runQuorum(o: QuorumOptions): Promise<Run> {
  const base = mkdtempSync(join(o.outBase, 'quorum-bench-batch-'));
  const out = join(base, 'out');
  const probePath = join(base, 'probe.json');
  const profDir = join(base, 'prof');
  const first = o.server.requests.length;
  const meter = serverMeter();
  try {
    const run = await nodeChild(
      [
        ...(o.nodeArgs ?? []),
        probeArg(),
        ...(o.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
        binPath,
        'batch',
        '.',
        '--query',
        QUERY,
        '--panel',
        o.panel,
        '--out',
        out,
        '--chunk-tokens',
        String(CHUNK_TOKENS),
        '--rounds',
        '1',
        '--grace=-1',
        '--concurrency',
        String(o.concurrency ?? CONCURRENCY),
        '--json',
        ...(o.args ?? []),
      ],
      {
        cwd: o.inputDir,
        env: {
          PATH: process.env.PATH,
          OPENROUTER_API_KEY: 'sk-bench',
          QUORUM_BENCH_PROBE: probePath,
          QUORUM_BENCH_MEM_MS: String(o.memSampleMs ?? 0),
          ...o.env,
        },
        ...(o.interruptAfterMs !== undefined && { interruptAfterMs: o.interruptAfterMs }),
      },
    );
    const requests = takeRequests(o.server, first);
    const server = meter(requests);
    const expectedCode = run.interrupted ? 130 : 0;
    if (run.code !== expectedCode) throw new Error(`quorum batch (${o.label}) exited ${run.code}: ${run.stderr.slice(-2000)}`);
    const summary = JSON.parse(run.stdout) as Summary;
    if (!run.interrupted && (summary.chunks !== o.chunks || summary.outcome !== 'completed')) {
      throw new Error(`quorum batch (${o.label}): expected ${o.chunks} chunks completed, got ${summary.chunks} (${summary.outcome})`);
    }
    const runsLog = join(out, 'runs.jsonl');
    const runLines = existsSync(runsLog) ? readFileSync(runsLog, 'utf8').split('\n').filter(Boolean).length : 0;
    if (!run.interrupted && runLines !== o.chunks) throw new Error(`quorum batch (${o.label}): runs.jsonl holds ${runLines} lines for ${o.chunks} chunks`);
    const result: Run = {
      label: o.label,
      chunks: o.chunks,
      wallMs: run.wallMs,
      spawnedAt: run.spawnedAt,
      probe: JSON.parse(readFileSync(probePath, 'utf8')) as Probe,
      requests,
      serverCpuMs: server.cpuMs,
      serverElu: server.elu,
      served: server.served,
      summary,
      interrupted: run.interrupted,
      disk: diskOf(out),
      runLines,
    };
    if (o.readTraces) {
      let callMsSum = 0;
      let spans = 0;
      let firstStart = Infinity;
      let lastEnd = -Infinity;
      const chunkMs: number[] = [];
      for (const line of readFileSync(join(out, 'traces.jsonl'), 'utf8').split('\n')) {
        if (!line) continue;
        spans++;
        const span = JSON.parse(line) as { name: string; durationMs: number; startTime: string; endTime: string };
        if (span.name === 'query_model') {
          callMsSum += span.durationMs;
          firstStart = Math.min(firstStart, Date.parse(span.startTime));
          lastEnd = Math.max(lastEnd, Date.parse(span.endTime));
        } else if (span.name === 'scatter_gather_research') chunkMs.push(span.durationMs);
        else if (span.name === 'batch') result.batchSpanAt = Date.parse(span.startTime);
      }
      result.callMsSum = callMsSum;
      result.callSpanMs = lastEnd - firstStart;
      result.chunkMs = chunkMs;
      result.spans = spans;
    }
    if (o.cpuProfile) {
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error('no .cpuprofile written');
      result.profile = summariseProfile(join(profDir, file));
    }
    return result;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

type BareKind = 'fetch' | 'sdk';
const BARE_LABEL: Record<BareKind, string> = { fetch: 'bare fetch loop', sdk: 'openai SDK loop' };

async function runBare(kind: BareKind, server: SandboxServer, scenario: Scenario, input: { dir: string; files: string[] }, calls: number, inFlight: number): Promise<Run> {
  const base = mkdtempSync(join(tmpdir(), 'quorum-bench-bare-'));
  const probePath = join(base, 'probe.json');
  const first = server.requests.length;
  const meter = serverMeter();
  try {
    const run = await nodeChild([probeArg(), '--input-type=module', '-e', kind === 'fetch' ? bareFetchSource(repoRoot) : bareSdkSource(repoRoot)], {
      env: {
        PATH: process.env.PATH,
        QUORUM_BENCH_PROBE: probePath,
        QUORUM_BENCH_MEM_MS: String(MEM_SAMPLE_MS),
        BARE_BASE_URL: server.baseURL,
        BARE_CALLS: String(calls),
        BARE_CONCURRENCY: String(inFlight),
        BARE_FILES: JSON.stringify(input.files),
        BARE_ROOT: input.dir,
        BARE_CHUNK_TOKENS: String(CHUNK_TOKENS),
        BARE_QUERY: QUERY,
        BARE_MODELS: JSON.stringify(scenario.models.map((m) => m.model)),
      },
    });
    const requests = takeRequests(server, first);
    const meterd = meter(requests);
    if (run.code !== 0) throw new Error(`${BARE_LABEL[kind]} exited ${run.code}: ${run.stderr.slice(-2000)}`);
    const out = JSON.parse(run.stdout) as { wallMs: number; calls: number; ok: number; callMsSum: number };
    if (out.ok !== calls) throw new Error(`${BARE_LABEL[kind]}: ${out.ok} of ${calls} calls answered`);
    return {
      label: BARE_LABEL[kind],
      chunks: calls / PORTS,
      wallMs: run.wallMs,
      spawnedAt: run.spawnedAt,
      probe: JSON.parse(readFileSync(probePath, 'utf8')) as Probe,
      requests,
      serverCpuMs: meterd.cpuMs,
      serverElu: meterd.elu,
      served: meterd.served,
      interrupted: false,
      callMsSum: out.callMsSum,
      callSpanMs: out.wallMs,
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/** Whether the bare loops send quorum's request bodies, byte for byte (checked on every bench run). */
interface BodyCheck {
  calls: number;
  fetchSame: boolean;
  sdkSame?: boolean;
  /** Body lengths of the first differing pair, when they differ. */
  example?: string;
}

/**
 * Runs a 2-chunk quorum batch, then the fetch loop and the SDK loop for the same 16 calls, against
 * a tiny server of its own that keeps every request body and answers each with a fixed stream,
 * and compares the bodies (in order of arrival they may differ; as sets they must not).
 */
async function checkBodies(work: string): Promise<BodyCheck> {
  const bodies: Record<'quorum' | BareKind, string[]> = { quorum: [], fetch: [], sdk: [] };
  let side: keyof typeof bodies = 'quorum';
  const requests: SandboxRequestLog[] = [];
  const answer = JSON.stringify({ claims: FACTS });
  const event = (data: object) => `data: ${JSON.stringify(data)}\n\n`;
  const chunk = (delta: object, finish: string | null) => event({ id: 'gen-check', object: 'chat.completion.chunk', created: 0, model: 'check', choices: [{ index: 0, delta, finish_reason: finish }] });
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (!req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      bodies[side].push(body);
      requests.push({ model: String((JSON.parse(body) as { model?: unknown }).model), stream: true, at: Date.now(), status: 200, disconnected: false });
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(`${chunk({ role: 'assistant', content: answer }, null)}${chunk({ content: '' }, 'stop')}${event({ id: 'gen-check', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } })}data: [DONE]\n\n`);
    });
  });
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  try {
    const port = (server.address() as { port: number }).port;
    const fake: SandboxServer = { baseURL: `http://127.0.0.1:${port}/api/v1`, port, requests, close: async () => undefined };
    const scenario = scenarioFor(0);
    const dir = join(work, 'body-check');
    const input = { dir, files: writeInput(dir, 2) };
    const panel = writePanelFile(work, fake.baseURL, scenario);
    await runQuorum({ label: 'body check', server: fake, panel, inputDir: dir, chunks: 2, outBase: tmpdir() });
    side = 'fetch';
    await runBare('fetch', fake, scenario, input, 2 * PORTS, PORTS);
    if (SDK_LOOP) {
      side = 'sdk';
      await runBare('sdk', fake, scenario, input, 2 * PORTS, PORTS);
    }
  } finally {
    await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  }
  const same = (a: string[], b: string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
  const q = [...bodies.quorum].sort();
  const differing = (other: string[]) => {
    const o = [...other].sort();
    const i = q.findIndex((body, k) => body !== o[k]);
    return i < 0 ? undefined : `${q[i]?.length ?? 0} vs ${o[i]?.length ?? 0} bytes`;
  };
  const fetchSame = same(bodies.quorum, bodies.fetch);
  const sdkSame = SDK_LOOP ? same(bodies.quorum, bodies.sdk) : undefined;
  const example = !fetchSame ? differing(bodies.fetch) : sdkSame === false ? differing(bodies.sdk) : undefined;
  return { calls: bodies.quorum.length, fetchSame, ...(sdkSame !== undefined && { sdkSame }), ...(example && { example }) };
}

// ---------------------------------------------------------------- measures

/** First → last request arrival at the server, ms. */
const windowMs = (r: Run) => (r.requests.length > 1 ? r.requests[r.requests.length - 1]!.at - r.requests[0]!.at : Number.NaN);
/** Calls per second while calls were being made: (n − 1) arrivals over the first → last span. */
const callsPerS = (r: Run) => ((r.requests.length - 1) * 1000) / windowMs(r);
/** End to end: every call over spawn → process closed. */
const callsPerSWall = (r: Run) => (r.requests.length * 1000) / r.wallMs;
/** Mean calls in flight as the client sees them: Σ call durations over first call start → last call end. */
const inFlightClient = (r: Run) => (r.callMsSum ?? Number.NaN) / (r.callSpanMs ?? Number.NaN);
/** Mean calls in flight at the server: Σ server times over first request start → last response finish (the same measure for every client). */
const inFlight = (r: Run) => r.served.busyMs / (r.served.lastFinish - r.served.firstStart);
/** A call's mean time at the server, ms. */
const serverMsPerCall = (r: Run) => r.served.busyMs / r.served.count;
/** A call's mean time as the client sees it (query_model spans, or the bare loop's own clock), ms. */
const clientMsPerCall = (r: Run) => (r.callMsSum ?? Number.NaN) / r.requests.length;
const childCpuShare = (r: Run) => r.probe.cpuMs / (r.probe.exitAt - r.probe.readyAt);
/** The child's CPU (user + system, all threads, start-up included) per call, ms. */
const cpuPerCall = (r: Run) => r.probe.cpuMs / r.requests.length;
/** The child's CPU so far at epoch ms `t`, interpolated between the probe's samples; NaN outside them. */
function cpuAt(r: Run, t: number): number {
  const s = r.probe.samples;
  for (let i = 1; i < s.length; i++) {
    const [t0, , , , , c0] = s[i - 1]!;
    const [t1, , , , , c1] = s[i]!;
    if (t >= t0 && t <= t1) return t1 === t0 ? c1 : c0 + ((c1 - c0) * (t - t0)) / (t1 - t0);
  }
  return Number.NaN;
}
/** CPU before the first request (start-up, input resolution, counting pass), ms. */
const cpuBeforeFirst = (r: Run) => cpuAt(r, r.requests[0]!.at);
/** CPU per call from the first to the last request: the steady state, start-up and tail left out. */
const windowCpuPerCall = (r: Run) => (cpuAt(r, r.requests[r.requests.length - 1]!.at) - cpuBeforeFirst(r)) / (r.requests.length - 1);
/** Main-thread ms per call: the window over the calls (a child that runs its one JS thread flat out). */
const msPerCall = (r: Run) => windowMs(r) / r.requests.length;
const rssMB = (r: Run) => (r.probe.maxRssKB * 1024) / MB;
const firstRequestMs = (r: Run) => r.requests[0]!.at - r.spawnedAt;
const duKBPerChunk = (r: Run) => (r.disk ? r.disk.duBytes / KB / r.chunks : Number.NaN);
const sizeKBPerChunk = (r: Run) => (r.disk ? r.disk.sizeBytes / KB / r.chunks : Number.NaN);

interface Pacing {
  label: string;
  /** `--rpm` given, if any. */
  rpm?: number;
  run: Run;
  ok: number;
  limited: number;
  total: number;
  spanMs: number;
  rate: number;
  /** 200s per server window (the sandbox's fixed windows, recomputed from the log): max and median of the full windows. */
  perWindowMax: number;
  perWindowMedian: number;
  /** Gaps between successive request arrivals after the first window (the paced part), ms. */
  gapMedian: number;
  gapMean: number;
  /** Share of those gaps longer than the limiter's spacing plus its catch-up allowance. */
  lateShare: number;
}

function pacingOf(label: string, run: Run, rpm?: number): Pacing {
  const okAt = run.requests.filter((r) => r.status === 200).map((r) => r.at);
  const limited = run.requests.filter((r) => r.status === 429).length;
  const spanMs = okAt.length > 1 ? okAt[okAt.length - 1]! - okAt[0]! : Number.NaN;
  // The sandbox's windows: a new one starts with the first request ≥ windowMs after the last start.
  const counts: number[] = [];
  let start = -Infinity;
  for (const r of run.requests) {
    if (r.at - start >= LIMIT.windowMs) {
      start = r.at;
      counts.push(0);
    }
    if (r.status === 200) counts[counts.length - 1]!++;
  }
  const full = counts.slice(0, -1);
  // After the first window the limiter knows the limit: arrivals should come SPACING_MS apart.
  const paced = run.requests.filter((r) => r.at - run.requests[0]!.at >= LIMIT.windowMs).map((r) => r.at);
  const gaps = paced.slice(1).map((t, i) => t - paced[i]!);
  return {
    label,
    ...(rpm !== undefined && { rpm }),
    gapMedian: median(gaps),
    gapMean: gaps.reduce((a, b) => a + b, 0) / gaps.length,
    lateShare: gaps.filter((g) => g > SPACING_MS + CATCH_UP_MS + 1).length / gaps.length,
    run,
    ok: okAt.length,
    limited,
    total: run.requests.length,
    spanMs,
    rate: ((okAt.length - 1) * 1000) / spanMs,
    perWindowMax: Math.max(...counts),
    perWindowMedian: median(full.length ? full : counts),
  };
}

interface WhatIf {
  label: string;
  /** The same batch, unchanged, run just before. */
  baseline: Run;
  run: Run;
}

interface Memory {
  chunks: number;
  run: Run;
  /**
   * Live heap, estimated per quarter of the run as its lowest \`heapUsed\` sample (right after a
   * GC): second quarter (warmed up) and last quarter, MB, and the chunks done between them.
   */
  liveEarlyMB: number;
  liveLateMB: number;
  /** Growth of that estimate, MB per 1,000 chunks (second quarter → last quarter). */
  heapGrowth: number;
  /** The largest RSS sample and the V8 heap reserved (heapTotal) at that moment, MB. */
  rssPeakSampleMB: number;
  heapTotalAtPeakMB: number;
}

function memoryOf(chunks: number, run: Run): Memory {
  const arrivals = run.requests.map((r) => r.at);
  const t0 = arrivals[0] ?? 0;
  const t1 = arrivals[arrivals.length - 1] ?? 0;
  const quarter = (q: number) => run.probe.samples.filter(([t]) => t >= t0 + ((t1 - t0) * q) / 4 && t < t0 + ((t1 - t0) * (q + 1)) / 4);
  const lowest = (samples: Probe['samples']) => (samples.length ? Math.min(...samples.map((x) => x[2])) / MB : Number.NaN);
  const liveEarlyMB = lowest(quarter(1));
  const liveLateMB = lowest(quarter(3));
  // Quarter midpoints are half the run apart: about half the chunks.
  const heapGrowth = ((liveLateMB - liveEarlyMB) / (chunks / 2)) * 1000;
  const peak = run.probe.samples.length ? maxBy(run.probe.samples, 1) : undefined;
  return { chunks, run, liveEarlyMB, liveLateMB, heapGrowth, rssPeakSampleMB: peak ? peak[1] / MB : Number.NaN, heapTotalAtPeakMB: peak ? peak[3] / MB : Number.NaN };
}

/** The sample with the largest value in column `col`. */
function maxBy(samples: Probe['samples'], col: number): Probe['samples'][number] {
  return samples.reduce((a, b) => (b[col]! > a[col]! ? b : a));
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

interface Startup {
  /** `node <bin> --version` (the bundle). */
  version: number[];
  /** `node dist/cli.js --version` (unbundled), when the bin is another file. */
  versionUnbundled: number[];
  bareNode: number[];
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const m0 = machineInfo();
  const t0 = Date.now();
  const gitAtStart = gitState();
  const distAtStart = distStamp();
  const loads: number[] = [m0.load1];
  const noteLoad = () => loads.push(loadavg()[0] ?? 0);
  const work = mkdtempSync(join(tmpdir(), 'quorum-bench-batch-in-'));
  const shm = tmpfsDir();
  const phase = (name: string) => ctx.log(`  [${((Date.now() - t0) / 1000).toFixed(0)} s] ${name}`);
  const servers: SandboxServer[] = [];
  watchServed(true);
  try {
    const scenario = scenarioFor(0);
    const server = await startSandboxServer({ scenario });
    servers.push(server);
    const panel = writePanelFile(work, server.baseURL, scenario);
    const inputFor = (chunks: number) => {
      const dir = join(work, `in-${chunks}`);
      return { dir, files: existsSync(dir) ? readdirSync(dir).sort().map((f) => join(dir, f)) : writeInput(dir, chunks) };
    };

    // ---- 0. start-up: `--version` against bare Node, alternately
    const unbundled = binPath !== cliPath;
    phase(`start-up: node ${binName} --version${unbundled ? ', node dist/cli.js --version' : ''} and node -e 0, ${VERSION_REPS} each, alternately`);
    const startup: Startup = { version: [], versionUnbundled: [], bareNode: [] };
    const version = async (path: string) => {
      const v = await nodeChild([path, '--version'], { env: { PATH: process.env.PATH } });
      if (v.code !== 0) throw new Error(`node ${path} --version exited ${v.code}: ${v.stderr}`);
      return v.wallMs;
    };
    for (let i = 0; i < VERSION_REPS; i++) {
      startup.version.push(await version(binPath));
      if (unbundled) startup.versionUnbundled.push(await version(cliPath));
      startup.bareNode.push((await nodeChild(['-e', '0'], { env: { PATH: process.env.PATH } })).wallMs);
    }
    ctx.log(`    ${binName} --version ${spread(startup.version)} ms${unbundled ? `, dist/cli.js --version ${spread(startup.versionUnbundled)} ms` : ''}, node -e 0 ${spread(startup.bareNode)} ms`);

    phase('request bodies: quorum, the fetch loop and the SDK loop against a recording server, 2 chunks');
    const bodyCheck = await checkBodies(work);
    ctx.log(`    ${bodyCheck.calls} calls; fetch loop ${bodyCheck.fetchSame ? 'same bodies' : `DIFFERENT bodies (${bodyCheck.example})`}${bodyCheck.sdkSame === undefined ? '' : `, SDK loop ${bodyCheck.sdkSame ? 'same bodies' : 'DIFFERENT bodies'}`}`);

    // What loading modules alone costs in RSS, for the memory notes: bare Node and the CLI's entry.
    const rssAfterImport = async (specifier?: string) => {
      const code = `${specifier ? `await import(${JSON.stringify(specifier)});` : ''}process.stdout.write(String(process.resourceUsage().maxRSS))`;
      const child = await nodeChild(['--input-type=module', '-e', code], { cwd: repoRoot, env: { PATH: process.env.PATH } });
      return (Number(child.stdout) * 1024) / MB;
    };
    const bareNodeRssMB = await rssAfterImport();
    const importRssMB = await rssAfterImport(pathToFileURL(binPath).href);

    // ---- 1. throughput at 0 ms: quorum, the fetch loop and the SDK loop, alternately
    const tp = inputFor(THROUGHPUT_CHUNKS);
    const quorumRuns: Run[] = [];
    const fetchRuns: Run[] = [];
    const sdkRuns: Run[] = [];
    const calls0 = THROUGHPUT_CHUNKS * PORTS;
    for (let rep = 0; rep < REPS; rep++) {
      phase(`0 ms ${rep + 1}/${REPS}: quorum batch, ${THROUGHPUT_CHUNKS} chunks, --concurrency ${CONCURRENCY}`);
      const q = await runQuorum({ label: 'quorum', server, panel, inputDir: tp.dir, chunks: THROUGHPUT_CHUNKS, outBase: tmpdir(), readTraces: true, memSampleMs: MEM_SAMPLE_MS });
      quorumRuns.push(q);
      ctx.log(`    ${f1(callsPerS(q))} calls/s, ${f2(cpuPerCall(q))} CPU ms/call, first request after ${f0(firstRequestMs(q))} ms, peak RSS ${f0(rssMB(q))} MB`);
      phase(`0 ms ${rep + 1}/${REPS}: bare fetch loop, ${calls0} calls, ${CONCURRENCY * PORTS} in flight`);
      const b = await runBare('fetch', server, scenario, tp, calls0, CONCURRENCY * PORTS);
      fetchRuns.push(b);
      ctx.log(`    ${f1(callsPerS(b))} calls/s, ${f2(cpuPerCall(b))} CPU ms/call`);
      if (SDK_LOOP) {
        phase(`0 ms ${rep + 1}/${REPS}: openai SDK loop, ${calls0} calls, ${CONCURRENCY * PORTS} in flight`);
        const s = await runBare('sdk', server, scenario, tp, calls0, CONCURRENCY * PORTS);
        sdkRuns.push(s);
        ctx.log(`    ${f1(callsPerS(s))} calls/s, ${f2(cpuPerCall(s))} CPU ms/call`);
      }
      noteLoad();
    }

    // ---- 2. throughput at 200 ms: quorum and the fetch loop at 64 in flight, alternately
    const latQuorum: Run[] = [];
    const latFetch: Run[] = [];
    if (LATENCY_CALLS > 0) {
      const latScenario = scenarioFor(LATENCY_MS);
      const latServer = await startSandboxServer({ scenario: latScenario });
      servers.push(latServer);
      const latPanel = writePanelFile(work, latServer.baseURL, latScenario);
      const lt = inputFor(LATENCY_CHUNKS);
      const inFlightMax = LATENCY_CONCURRENCY * PORTS;
      for (let rep = 0; rep < REPS; rep++) {
        phase(`${LATENCY_MS} ms ${rep + 1}/${REPS}: quorum batch, ${LATENCY_CHUNKS} chunks, --concurrency ${LATENCY_CONCURRENCY}`);
        const q = await runQuorum({ label: 'quorum 200 ms', server: latServer, panel: latPanel, inputDir: lt.dir, chunks: LATENCY_CHUNKS, outBase: tmpdir(), concurrency: LATENCY_CONCURRENCY, readTraces: true, memSampleMs: MEM_SAMPLE_MS });
        latQuorum.push(q);
        ctx.log(`    ${f1(callsPerS(q))} calls/s (spawn → exit ${f1(callsPerSWall(q))}), first request after ${f0(firstRequestMs(q))} ms`);
        phase(`${LATENCY_MS} ms ${rep + 1}/${REPS}: bare fetch loop, ${LATENCY_CHUNKS * PORTS} calls, ${inFlightMax} in flight`);
        const b = await runBare('fetch', latServer, latScenario, lt, LATENCY_CHUNKS * PORTS, inFlightMax);
        latFetch.push(b);
        ctx.log(`    ${f1(callsPerS(b))} calls/s (spawn → exit ${f1(callsPerSWall(b))})`);
      }
      await latServer.close();
      noteLoad();
    }

    // ---- 3. --run-files, against a plain batch of the same size just before it
    let runFiles: { plain: Run; withFiles: Run } | undefined;
    if (RUNFILES_CHUNKS > 0) {
      const rf = inputFor(RUNFILES_CHUNKS);
      phase(`--run-files: plain batch, then with --run-files, ${RUNFILES_CHUNKS} chunks each`);
      const plainRun = await runQuorum({ label: 'plain', server, panel, inputDir: rf.dir, chunks: RUNFILES_CHUNKS, outBase: tmpdir() });
      const withFiles = await runQuorum({ label: '--run-files', server, panel, inputDir: rf.dir, chunks: RUNFILES_CHUNKS, outBase: tmpdir(), args: ['--run-files'] });
      runFiles = { plain: plainRun, withFiles };
      ctx.log(`    ${f1(callsPerS(plainRun))} → ${f1(callsPerS(withFiles))} calls/s; ${int(withFiles.disk!.files)} files, ${f1(duKBPerChunk(withFiles))} KB/chunk`);
      noteLoad();
    }

    // ---- 4. where the time goes: a CPU profile, then what-ifs
    phase(`CPU profile: quorum batch, ${PROFILE_CHUNKS} chunks, --cpu-prof`);
    const pf = inputFor(PROFILE_CHUNKS);
    const profiled = await runQuorum({ label: 'profiled', server, panel, inputDir: pf.dir, chunks: PROFILE_CHUNKS, outBase: tmpdir(), cpuProfile: true });
    const profile = profiled.profile!;
    noteLoad();
    // Each what-if runs right after a baseline of its own (same size, same moment), so a change
    // in the machine's load between them matters less than between separate phases.
    const whatIfs: WhatIf[] = [];
    if (WHAT_IFS && shm) {
      const wf = inputFor(WHATIF_CHUNKS);
      const label = '`--out` on tmpfs (/dev/shm), nothing patched';
      phase(`what-if: ${plain(label)}, ${WHATIF_CHUNKS} chunks, after its baseline`);
      const baseline = await runQuorum({ label: 'baseline', server, panel, inputDir: wf.dir, chunks: WHATIF_CHUNKS, outBase: tmpdir() });
      const changed = await runQuorum({ label, server, panel, inputDir: wf.dir, chunks: WHATIF_CHUNKS, outBase: shm });
      whatIfs.push({ label, baseline, run: changed });
      ctx.log(`    ${f1(callsPerS(baseline))} → ${f1(callsPerS(changed))} calls/s`);
      noteLoad();
    }

    // ---- 5. pacing, each case on a fresh server so its windows start with the run
    const pacing: Pacing[] = [];
    if (PACING_CHUNKS > 0) {
      const pc = inputFor(PACING_CHUNKS);
      const R = LIMIT.requests / (LIMIT.windowMs / 1000);
      for (const c of [
        { label: '`--rpm` unset (learned from headers and 429s)', args: [] as string[], rpm: undefined },
        { label: `\`--rpm ${LIMIT_RPM}\` (the limit, per minute)`, args: ['--rpm', String(LIMIT_RPM)], rpm: LIMIT_RPM },
      ]) {
        phase(`pacing: ${plain(c.label)}, ${PACING_CHUNKS} chunks under ${LIMIT.requests} per ${LIMIT.windowMs} ms`);
        const limitedScenario = scenarioFor(0, LIMIT);
        const limitedServer = await startSandboxServer({ scenario: limitedScenario });
        servers.push(limitedServer);
        const limitedPanel = writePanelFile(work, limitedServer.baseURL, limitedScenario);
        // At 0.95 R the run takes calls / 0.95 R; one that has not finished in 1.5 times that (+5 s) is Ctrl-C'd.
        const expectedMs = ((PACING_CHUNKS * PORTS) / (0.95 * R)) * 1000;
        const r = await runQuorum({ label: c.label, server: limitedServer, panel: limitedPanel, inputDir: pc.dir, chunks: PACING_CHUNKS, outBase: tmpdir(), args: c.args, interruptAfterMs: Math.round(1.5 * expectedMs + 5000) });
        const p = pacingOf(c.label, r, c.rpm);
        pacing.push(p);
        ctx.log(`    ${f2(p.rate)} calls/s of ${R}, ${p.limited} × 429 of ${p.total}${r.interrupted ? `; interrupted after ${f0(r.wallMs / 1000)} s` : ''}`);
        await limitedServer.close();
        noteLoad();
      }
    }

    // ---- 6. memory
    const memOut = shm ?? tmpdir();
    const memory: Memory[] = [];
    const memoryNotes: string[] = [];
    let lastRate = Number.NaN;
    for (const wanted of MEMORY_SIZES) {
      // Predict from the last memory run's pace (start-up and tail included); shrink if over budget.
      const predictS = (n: number) => (Number.isFinite(lastRate) ? (n * PORTS) / lastRate + 5 : 0);
      const chunks = [wanted, ...MEMORY_FALLBACKS.filter((n) => n < wanted)].find((n) => predictS(n) <= MEMORY_BUDGET_S);
      if (chunks === undefined) {
        memoryNotes.push(`${int(wanted)} chunks skipped: predicted ${f0(predictS(wanted))} s at the last run's pace, over the ${MEMORY_BUDGET_S} s budget`);
        continue;
      }
      if (chunks !== wanted) memoryNotes.push(`${int(wanted)} chunks would take about ${f0(predictS(wanted))} s at the last run's pace (${f0(lastRate)} calls/s), over the ${MEMORY_BUDGET_S} s budget (\`QUORUM_BENCH_BATCH_MEM_BUDGET_S\`), so ${int(chunks)} were run instead`);
      phase(`memory: quorum batch, ${chunks} chunks (artifacts in ${memOut})`);
      const input = inputFor(chunks);
      const r = await runQuorum({ label: `memory ${chunks}`, server, panel, inputDir: input.dir, chunks, outBase: memOut, memSampleMs: MEM_SAMPLE_MS });
      memory.push(memoryOf(chunks, r));
      lastRate = (r.requests.length * 1000) / r.wallMs;
      ctx.log(`    peak RSS ${f0(rssMB(r))} MB, ${f1(callsPerS(r))} calls/s`);
      noteLoad();
    }
    // What-if: the smallest memory run again with V8's old space capped (a Node flag; src unchanged).
    const heapCapped: Memory[] = [];
    const smallest = memory.length ? memory.reduce((a, b) => (b.chunks < a.chunks ? b : a)) : undefined;
    if (WHAT_IFS && smallest) {
      phase(`memory what-if: ${smallest.chunks} chunks, node ${HEAP_CAP_FLAG}`);
      const input = inputFor(smallest.chunks);
      const r = await runQuorum({ label: 'heap cap', server, panel, inputDir: input.dir, chunks: smallest.chunks, outBase: memOut, memSampleMs: MEM_SAMPLE_MS, nodeArgs: [HEAP_CAP_FLAG] });
      heapCapped.push(memoryOf(smallest.chunks, r));
      ctx.log(`    peak RSS ${f0(rssMB(r))} MB, ${f1(callsPerS(r))} calls/s`);
    }
    phase('done');
    const build = { gitAtStart, gitAtEnd: gitState(), rebuilt: distStamp() !== distAtStart };
    const probe = limiterProbe();

    return report({
      m0,
      t0,
      loads,
      shm,
      startup,
      quorumRuns,
      fetchRuns,
      sdkRuns,
      latQuorum,
      latFetch,
      runFiles,
      profiled,
      profile,
      whatIfs,
      pacing,
      memory,
      memOut,
      memoryNotes,
      importRssMB,
      bareNodeRssMB,
      bodyCheck,
      heapCapped,
      build,
      probe,
    });
  } finally {
    watchServed(false);
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

interface Results {
  m0: ReturnType<typeof machineInfo>;
  t0: number;
  loads: number[];
  shm: string | undefined;
  startup: Startup;
  quorumRuns: Run[];
  fetchRuns: Run[];
  sdkRuns: Run[];
  latQuorum: Run[];
  latFetch: Run[];
  runFiles: { plain: Run; withFiles: Run } | undefined;
  profiled: Run;
  profile: ProfileSummary;
  whatIfs: WhatIf[];
  pacing: Pacing[];
  memory: Memory[];
  memOut: string;
  memoryNotes: string[];
  /** Peak RSS of a bare `node` that only imports the bin, MB. */
  importRssMB: number;
  /** Peak RSS of `node -e 0`, MB. */
  bareNodeRssMB: number;
  bodyCheck: BodyCheck;
  /** Memory runs again with HEAP_CAP_FLAG. */
  heapCapped: Memory[];
  build: { gitAtStart: string | undefined; gitAtEnd: string | undefined; rebuilt: boolean };
  /** {@link limiterProbe}. */
  probe: { resetInMs: number; perMinute: number }[];
}

function report(r: Results): BenchReport {
  const { m0, quorumRuns, fetchRuns, sdkRuns, latQuorum, latFetch, profile, profiled, whatIfs, pacing, memory } = r;
  const totalS = (Date.now() - r.t0) / 1000;
  const endLoad = loadavg()[0] ?? 0;
  const maxLoad = Math.max(endLoad, ...r.loads);
  const med = (runs: Run[], pick: (x: Run) => number) => median(runs.map(pick));
  const pairs = (a: Run[], b: Run[], pick: (x: Run) => number) => a.slice(0, b.length).map((x, i) => pick(x) / pick(b[i]!));

  // ---- settings that differ from the defaults
  const overrides = Object.entries(process.env)
    .filter(([k]) => k.startsWith('QUORUM_BENCH_BATCH_'))
    .map(([k, v]) => `\`${k}=${v}\``);

  // ---- 1. throughput at 0 ms
  const ratio = med(quorumRuns, callsPerS) / med(fetchRuns, callsPerS);
  const ratioWall = med(quorumRuns, callsPerSWall) / med(fetchRuns, callsPerSWall);
  const pairRatios = pairs(quorumRuns, fetchRuns, callsPerS);
  const ratioMet = ratio >= GOALS.ratio;
  const sdkRatio = sdkRuns.length ? med(quorumRuns, callsPerS) / med(sdkRuns, callsPerS) : Number.NaN;
  const qMsPerCall = med(quorumRuns, msPerCall);
  const bMsPerCall = med(fetchRuns, msPerCall);

  const tpHeader = [
    '',
    'runs',
    'calls',
    'calls/s (first → last request)',
    'calls/s (spawn → exit)',
    'CPU ms per call (user + sys ÷ calls) / first → last request only',
    'thread ms per call (first → last ÷ calls)',
    'mean calls in flight: at the server / as the client sees them',
    'event-loop utilisation',
    'child CPU (share of one core)',
    'sandbox (bench process): CPU ms per call / event-loop utilisation, first → last request',
    'peak RSS MB',
  ];
  const tpRow = (name: string, runs: Run[]) => [
    name,
    String(runs.length),
    int(med(runs, (x) => x.requests.length)),
    spread(runs.map(callsPerS), 1),
    spread(runs.map(callsPerSWall), 1),
    `${spread(runs.map(cpuPerCall), 2)} / ${f2(med(runs, windowCpuPerCall))}`,
    spread(runs.map(msPerCall), 2),
    `${f1(med(runs, inFlight))} / ${f1(med(runs, inFlightClient))}`,
    pct(med(runs, (x) => x.probe.elu), 0),
    pct(med(runs, childCpuShare), 0),
    `${f2(med(runs, (x) => x.serverCpuMs / x.requests.length))} / ${pct(med(runs, (x) => x.serverElu), 0)}`,
    spread(runs.map(rssMB)),
  ];
  const ratioRow = (name: string, a: Run[], b: Run[]) => [
    name,
    '',
    '',
    `**${f2(med(a, callsPerS) / med(b, callsPerS))}** (pairs: ${pairs(a, b, callsPerS).map(f2).join(', ')})`,
    `${f2(med(a, callsPerSWall) / med(b, callsPerSWall))} (pairs: ${pairs(a, b, callsPerSWall).map(f2).join(', ')})`,
    `${f2(med(a, cpuPerCall) / med(b, cpuPerCall))}×`,
    `${f2(med(a, msPerCall) / med(b, msPerCall))}×`,
    '',
    '',
    '',
    '',
    '',
  ];
  const tpRows = [
    tpRow(`**quorum batch** (${int(THROUGHPUT_CHUNKS)} chunks × ${PORTS}, \`--concurrency ${CONCURRENCY}\`)`, quorumRuns),
    tpRow(`bare fetch loop (${int(THROUGHPUT_CHUNKS * PORTS)} calls, ${CONCURRENCY * PORTS} in flight)`, fetchRuns),
    ...(sdkRuns.length ? [tpRow(`openai SDK loop (the same, through quorum's client)`, sdkRuns)] : []),
    ratioRow('**quorum / bare fetch loop**', quorumRuns, fetchRuns),
    ...(sdkRuns.length ? [ratioRow('quorum / openai SDK loop', quorumRuns, sdkRuns), ratioRow('openai SDK loop / bare fetch loop', sdkRuns, fetchRuns)] : []),
  ];

  // ---- 2. throughput at 200 ms
  const hasLatency = latQuorum.length > 0 && latFetch.length > 0;
  const latRatio = med(latQuorum, callsPerS) / med(latFetch, callsPerS);
  const latRatioWall = med(latQuorum, callsPerSWall) / med(latFetch, callsPerSWall);
  const latMet = hasLatency ? latRatio >= GOALS.latencyRatio : undefined;
  const latWallMet = hasLatency ? latRatioWall >= GOALS.latencyWallRatio : undefined;
  const latRows = hasLatency
    ? [
        tpRow(`**quorum batch** (${int(LATENCY_CHUNKS)} chunks × ${PORTS}, \`--concurrency ${LATENCY_CONCURRENCY}\`)`, latQuorum),
        tpRow(`bare fetch loop (${int(LATENCY_CHUNKS * PORTS)} calls, ${LATENCY_CONCURRENCY * PORTS} in flight)`, latFetch),
        ratioRow('**quorum / bare fetch loop**', latQuorum, latFetch),
      ]
    : [];
  const idealLatRate = ((LATENCY_CONCURRENCY * PORTS) / LATENCY_MS) * 1000;

  // ---- 3. CPU per call
  const qCpu = med(quorumRuns, cpuPerCall);
  const bCpu = med(fetchRuns, cpuPerCall);
  const cpuMet = qCpu <= GOALS.cpuMsPerCall;

  // ---- 4. start-up
  const versionMs = median(r.startup.version);
  const versionMet = versionMs <= GOALS.versionMs;
  const unbundledMs = median(r.startup.versionUnbundled);
  const hasUnbundled = r.startup.versionUnbundled.length > 0;
  const versionText = `\`node ${binName} --version\` ${spread(r.startup.version)} ms${hasUnbundled ? `, \`node dist/cli.js --version\` (unbundled) ${spread(r.startup.versionUnbundled)} ms` : ''}, \`node -e 0\` ${spread(r.startup.bareNode)} ms (${r.startup.version.length} each, alternately)`;
  const first0 = med(quorumRuns, firstRequestMs);
  const firstLat = med(latQuorum, firstRequestMs);
  const firstMet = Math.max(first0, hasLatency ? firstLat : -Infinity) <= GOALS.firstRequestMs;
  const startupRow = (name: string, runs: Run[]) => [
    name,
    String(runs.length),
    spread(runs.map((x) => x.probe.readyAt - x.spawnedAt)),
    runs.some((x) => x.batchSpanAt === undefined) ? '–' : spread(runs.map((x) => x.batchSpanAt! - x.spawnedAt)),
    `**${spread(runs.map(firstRequestMs))}**`,
    spread(runs.map((x) => x.spawnedAt + x.wallMs - x.requests[x.requests.length - 1]!.at)),
  ];
  const startupRows = [
    startupRow(`quorum batch, 0 ms (${int(THROUGHPUT_CHUNKS)} chunks)`, quorumRuns),
    ...(hasLatency ? [startupRow(`quorum batch, ${LATENCY_MS} ms (${int(LATENCY_CHUNKS)} chunks)`, latQuorum)] : []),
    startupRow('bare fetch loop, 0 ms', fetchRuns),
  ];

  // ---- 5. disk
  const diskRuns = [
    { label: `without \`--run-files\`, 0 ms (${int(THROUGHPUT_CHUNKS)} chunks)`, runs: quorumRuns },
    ...(hasLatency ? [{ label: `without \`--run-files\`, ${LATENCY_MS} ms (${int(LATENCY_CHUNKS)} chunks)`, runs: latQuorum }] : []),
    ...(r.runFiles ? [{ label: `without \`--run-files\` (${int(RUNFILES_CHUNKS)} chunks, paired with the next row)`, runs: [r.runFiles.plain] }, { label: `**with \`--run-files\`** (${int(RUNFILES_CHUNKS)} chunks)`, runs: [r.runFiles.withFiles] }] : []),
    ...memory.map((m) => ({ label: `without \`--run-files\`, memory run (${int(m.chunks)} chunks, on ${r.memOut})`, runs: [m.run] })),
  ];
  const plainDisk = [...quorumRuns, ...latQuorum, ...(r.runFiles ? [r.runFiles.plain] : []), ...memory.map((m) => m.run)].filter((x) => x.disk);
  const bySize = new Map<number, Run>();
  for (const x of plainDisk) bySize.set(x.chunks, x);
  const sizes = [...bySize.keys()].sort((a, b) => a - b);
  // Files per chunk: the growth of the file count between the smallest and the largest plain batch.
  const filesPerChunk =
    sizes.length > 1
      ? (bySize.get(sizes[sizes.length - 1]!)!.disk!.files - bySize.get(sizes[0]!)!.disk!.files) / (sizes[sizes.length - 1]! - sizes[0]!)
      : med(quorumRuns, (x) => x.disk!.files / x.chunks);
  const filesMet = sizes.length > 1 ? filesPerChunk <= 0 : filesPerChunk < 0.01;
  const duKB = med(quorumRuns, duKBPerChunk);
  const sizeKB = med(quorumRuns, sizeKBPerChunk);
  const diskMet = Math.max(duKB, sizeKB) <= DISK_GOAL_KB;
  const diskRows = [
    ...diskRuns.map((d) => [
      d.label,
      spread(d.runs.map((x) => x.disk!.files)),
      f3(med(d.runs, (x) => x.disk!.files / x.chunks)),
      f1(med(d.runs, (x) => x.disk!.duBytes / 1e6)),
      `**${spread(d.runs.map(duKBPerChunk), 1)}**`,
      spread(d.runs.map(sizeKBPerChunk), 1),
      pct(med(d.runs, duKBPerChunk) / V01_KB_PER_CHUNK, 0),
    ]),
    ['0.1, `--rounds 1` (reference)', int(V01.files), f1(V01.files / V01.chunks), f0(V01.bytes / 1e6), f1(V01_KB_PER_CHUNK), '–', '100 %'],
  ];
  const logNames = Object.keys(quorumRuns[0]?.disk?.top ?? {}).sort((a, b) => (quorumRuns[0]!.disk!.top[b] ?? 0) - (quorumRuns[0]!.disk!.top[a] ?? 0));
  const logBreakdown = logNames.map((name) => `${name} ${f2(med(quorumRuns, (x) => (x.disk!.top[name] ?? 0) / KB / x.chunks))}`).join(', ');

  // ---- 6. memory
  const memPoints: { chunks: number; rss: number; run: Run; mem?: Memory; out: string }[] = [
    ...quorumRuns.map((q) => ({ chunks: q.chunks, rss: rssMB(q), run: q, out: tmpdir() })),
    ...memory.map((m) => ({ chunks: m.chunks, rss: rssMB(m.run), run: m.run, mem: m, out: r.memOut })),
  ];
  const memBySize = new Map<number, typeof memPoints>();
  for (const p of memPoints) memBySize.set(p.chunks, [...(memBySize.get(p.chunks) ?? []), p]);
  const memRows = [...memBySize.keys()]
    .sort((a, b) => a - b)
    .map((n) => {
      const ps = memBySize.get(n)!;
      const m = ps.find((p) => p.mem)?.mem;
      return [
        int(n),
        int(n * PORTS),
        [...new Set(ps.map((p) => p.out))].join(', '),
        `**${spread(ps.map((p) => p.rss))}**`,
        m ? f0(m.heapTotalAtPeakMB) : '–',
        m ? `${f0(m.liveEarlyMB)} → ${f0(m.liveLateMB)}` : '–',
        m ? f1(m.heapGrowth) : '–',
        f1(median(ps.map((p) => callsPerS(p.run)))),
        f0(median(ps.map((p) => p.run.wallMs / 1000))),
      ];
    });
  for (const m of r.heapCapped) {
    memRows.push([
      `${int(m.chunks)}, what-if: \`node ${HEAP_CAP_FLAG}\``,
      int(m.chunks * PORTS),
      r.memOut,
      `**${f0(rssMB(m.run))}**`,
      f0(m.heapTotalAtPeakMB),
      `${f0(m.liveEarlyMB)} → ${f0(m.liveLateMB)}`,
      f1(m.heapGrowth),
      f1(callsPerS(m.run)),
      f0(m.run.wallMs / 1000),
    ]);
  }
  const largest = memory.length ? memory.reduce((a, b) => (b.chunks > a.chunks ? b : a)) : undefined;
  // Flatness is read from 1,000 chunks (or the smallest memory run, when 1,000 was not run) to the largest.
  const memBase = memory.find((m) => m.chunks === 1000) ?? (memory.length ? memory.reduce((a, b) => (b.chunks < a.chunks ? b : a)) : undefined);
  const largestRss = largest ? rssMB(largest.run) : Number.NaN;
  const measured10k = largest?.chunks === 10_000;
  const growth = largest?.heapGrowth ?? Number.NaN;
  const extrapolated = measured10k || !largest ? largestRss : largestRss + Math.max(0, growth) * ((10_000 - largest.chunks) / 1000);
  const flat = memBase && largest && largest !== memBase ? largestRss <= rssMB(memBase.run) * (1 + GOALS.flat) : undefined;
  const rssMet = largest ? Math.max(extrapolated, ...memory.map((m) => rssMB(m.run))) <= GOALS.rssMB : undefined;

  // ---- pacing
  const R = LIMIT.requests / (LIMIT.windowMs / 1000);
  const pacingMetOf = (p: Pacing) => p.rate >= GOALS.pace * R && p.limited / p.total <= GOALS.limited;
  const pacingRows = pacing.map((p) => [
    p.label,
    p.run.interrupted ? `${p.run.summary!.chunks} of ${PACING_CHUNKS} / ${p.run.summary!.consensus} (Ctrl-C after ${f0(p.run.wallMs / 1000)} s)` : `${p.run.summary!.chunks} / ${p.run.summary!.consensus}`,
    String(p.total),
    String(p.ok),
    `${p.limited} (${pct(p.limited / p.total)})`,
    f2(p.rate),
    `**${f2(p.rate / R)}**`,
    `${p.perWindowMax} / ${f0(p.perWindowMedian)}`,
    `${f1(p.gapMedian)} / ${f1(p.gapMean)}`,
    pct(p.lateShare, 0),
    `${f1(p.run.probe.loopDelayMs.p99)} / ${f0(p.run.probe.loopDelayMs.max)}`,
    verdict(pacingMetOf(p)),
  ]);
  const pacingMet = pacing.length ? pacing.every(pacingMetOf) : undefined;

  // ---- the goals at a glance
  const goalRows = [
    ['1', `calls/s at 0 ms, ${CONCURRENCY * PORTS} in flight, quorum / bare fetch loop (first → last request)`, `**${f2(ratio)}** (pairs ${pairRatios.map(f2).join(', ')}; spawn → exit ${f2(ratioWall)})`, `≥ ${GOALS.ratio}`, verdict(ratioMet)],
    ['2', `calls/s at ${LATENCY_MS} ms, ${LATENCY_CONCURRENCY * PORTS} in flight, quorum / bare fetch loop, first → last request`, hasLatency ? `**${f2(latRatio)}**` : 'not run', `≥ ${GOALS.latencyRatio}`, verdict(latMet)],
    ['2', '… the same, spawn → exit', hasLatency ? `**${f2(latRatioWall)}**` : 'not run', `≥ ${GOALS.latencyWallRatio}`, verdict(latWallMet)],
    ['3', 'CPU per call, quorum (user + sys ÷ calls, runs of 1)', `**${f2(qCpu)} ms** (bare fetch loop ${f2(bCpu)} ms)`, `≤ ${f1(GOALS.cpuMsPerCall)} ms`, verdict(cpuMet)],
    ['4', 'spawn → first request (runs of 1 / of 2)', `**${f0(first0)} / ${hasLatency ? f0(firstLat) : '–'} ms**`, `≤ ${GOALS.firstRequestMs} ms`, verdict(firstMet)],
    ['4', `\`node ${binName} --version\` wall time, the \`quorum\` bin${binPath !== cliPath ? ' (bundled)' : ''} (median of ${r.startup.version.length})`, `**${f0(versionMs)} ms** (\`node -e 0\`: ${f0(median(r.startup.bareNode))} ms)`, `≤ ${GOALS.versionMs} ms`, verdict(versionMet)],
    ...(hasUnbundled ? [['4', `\`node dist/cli.js --version\` wall time, tsc's output, unbundled (median of ${r.startup.versionUnbundled.length})`, `**${f0(unbundledMs)} ms**`, `≤ ${GOALS.versionMs} ms`, verdict(unbundledMs <= GOALS.versionMs)]] : []),
    ['5', 'files per chunk without `--run-files`', `**${f3(filesPerChunk)}** (${sizes.map((n) => `${int(bySize.get(n)!.disk!.files)} files at ${int(n)} chunks`).join(', ')})`, '0', verdict(filesMet)],
    ['5', 'bytes on disk per chunk without `--run-files` (du ÷ chunks / Σ sizes ÷ chunks)', `**${f1(duKB)} / ${f1(sizeKB)} KB** (${pct(Math.max(duKB, sizeKB) / V01_KB_PER_CHUNK, 0)} of 0.1)`, `≤ ${f1(DISK_GOAL_KB)} KB (${pct(GOALS.diskShare, 0)} of ${f1(V01_KB_PER_CHUNK)})`, verdict(diskMet)],
    ['6', `peak RSS at 10,000 chunks${measured10k ? '' : ' (extrapolated)'}`, largest ? `**${f0(extrapolated)} MB**${measured10k ? '' : ` (measured ${f0(largestRss)} MB at ${int(largest.chunks)})`}` : 'not run', `≤ ${GOALS.rssMB} MB`, verdict(rssMet)],
    ['6', `flat: peak RSS ${memBase ? int(memBase.chunks) : '1,000'} → ${largest ? int(largest.chunks) : '10,000'} chunks`, memBase && largest && largest !== memBase ? `**${f0(rssMB(memBase.run))} → ${f0(largestRss)} MB** (${largestRss >= rssMB(memBase.run) ? '+' : ''}${pct(largestRss / rssMB(memBase.run) - 1, 0)})` : 'not run', `within ${pct(GOALS.flat, 0)}`, verdict(flat)],
    ...(pacing.length ? [['–', `pacing under ${LIMIT.requests} per ${LIMIT.windowMs} ms (kept from before)`, pacing.map((p) => `${f2(p.rate / R)} R`).join(' / '), `≥ ${GOALS.pace} R, ≤ ${pct(GOALS.limited, 0)} 429`, verdict(pacingMet)]] : []),
  ];

  // ---- quorum's runs, per phase
  const q0 = quorumRuns;
  const io = (x: Run) => x.probe.io;
  const phaseRows = [
    ["one chunk's run (root span `scatter_gather_research`, median over chunks), ms", spread(q0.map((x) => median(x.chunkMs ?? [])))],
    [`thread time per chunk (first → last request ÷ chunks; ${CONCURRENCY} chunks overlap), ms`, spread(q0.map((x) => windowMs(x) / x.chunks), 1)],
    ['run-log appends per chunk (`fs.write` on the pool)', f2(med(q0, (x) => io(x).write[0] / x.chunks))],
    ['run-log fdatasyncs per chunk (on the pool; mean call → callback, ms)', `${f2(med(q0, (x) => io(x).fdatasync[0] / x.chunks))} (${f1(med(q0, (x) => io(x).fdatasync[1] / Math.max(1, io(x).fdatasync[0])))})`],
    ['runs.jsonl lines per fdatasync (chunks ÷ fdatasyncs: runs decided per group commit)', f1(med(q0, (x) => x.chunks / Math.max(1, io(x).fdatasync[0])))],
    ['sync writes and syncs on the event loop (`writeSync`, `fsyncSync`, `fdatasyncSync`), whole run', `${f0(med(q0, (x) => io(x).writeSync[0] + io(x).fsyncSync[0] + io(x).fdatasyncSync[0]))} (${f1(med(q0, (x) => io(x).writeSync[1] + io(x).fsyncSync[1] + io(x).fdatasyncSync[1]))} ms)`],
    ['spans per chunk (traces.jsonl lines)', f1(med(q0, (x) => (x.spans ?? Number.NaN) / x.chunks))],
    ['event-loop delay p50 / p99 / max, ms', `${f1(med(q0, (x) => x.probe.loopDelayMs.p50))} / ${f1(med(q0, (x) => x.probe.loopDelayMs.p99))} / ${f0(med(q0, (x) => x.probe.loopDelayMs.max))}`],
    ['child CPU: user / system, ms per call', `${f2(med(q0, (x) => x.probe.userMs / x.requests.length))} / ${f2(med(q0, (x) => x.probe.systemMs / x.requests.length))}`],
  ];

  // ---- profile
  const profCalls = profiled.requests.length;
  const profRows: string[][] = [];
  for (const sh of profile.shares) {
    if (sh.ms < 0.0005 * profile.totalMs) continue;
    profRows.push([sh.label, f0(sh.ms), pct(sh.share), f2(sh.ms / profCalls)]);
    for (const part of sh.parts) profRows.push([`  … of which ${part.label}`, f0(part.ms), pct(part.share), f2(part.ms / profCalls)]);
  }
  const share = (id: string) => profile.shares.find((x) => x.id === id) ?? { id, label: id, ms: 0, share: 0, parts: [] };
  const perCall = (id: string) => share(id).ms / profCalls;
  const topSelf = profile.topSelf.map((t) => `\`${t.name}\` ${pct(t.share)}`).join(', ');

  // ---- what-ifs (each against the baseline run just before it)
  const whatIfRows = whatIfs.map((w) => [
    w.label,
    f1(callsPerS(w.baseline)),
    f1(callsPerS(w.run)),
    `×${f2(callsPerS(w.run) / callsPerS(w.baseline))}`,
    f2((ratio * callsPerS(w.run)) / callsPerS(w.baseline)),
    `${f2(cpuPerCall(w.baseline))} → ${f2(cpuPerCall(w.run))}`,
  ]);
  const tmpfs = whatIfs.find((w) => w.label.includes('tmpfs'));
  const gain = (w: WhatIf) => callsPerS(w.run) / callsPerS(w.baseline);

  // ---- findings
  const busy = maxLoad > m0.nproc;
  const budget = bMsPerCall / GOALS.ratio;
  const fetchServerElu = med(fetchRuns, (x) => x.serverElu);
  const findings: string[] = [
    `Throughput at 0 ms (goal ≥ ${GOALS.ratio}): ${verdict(ratioMet)}. Quorum made ${f1(med(quorumRuns, callsPerS))} calls/s, the bare fetch loop ${f1(med(fetchRuns, callsPerS))}${sdkRuns.length ? `, the openai SDK loop ${f1(med(sdkRuns, callsPerS))} (quorum / SDK loop ${f2(sdkRatio)})` : ''}: ratio ${f2(ratio)}. Both children are bound by their one JS thread: event-loop utilisation ${pct(med(quorumRuns, (x) => x.probe.elu), 0)} for quorum and ${pct(med(fetchRuns, (x) => x.probe.elu), 0)} for the fetch loop. So the ratio is thread time per call: the fetch loop spends ${f2(bMsPerCall)} ms of its thread per call, quorum ${f2(qMsPerCall)} ms; ${GOALS.ratio} allows ${f2(budget)} ms. As the clients see them, quorum keeps ${f1(med(quorumRuns, inFlightClient))} of its ${CONCURRENCY * PORTS} possible calls in flight on average, the fetch loop ${f1(med(fetchRuns, inFlightClient))}; at the server a call at 0 ms latency takes ${f2(med(quorumRuns, serverMsPerCall))} ms, so the calls wait in the clients, for their thread.${fetchServerElu > 0.85 ? ` **The sandbox may cap the fetch loop**: the bench process, which serves every call, had its event loop busy ${pct(fetchServerElu, 0)} of the time between the fetch loop's first and last requests (${pct(med(quorumRuns, (x) => x.serverElu), 0)} in quorum's runs), and the machine has ${m0.nproc} CPU(s) for the server and the child. A server-bound fetch loop makes the ratio look better than it is.` : ` The sandbox's event loop was busy ${pct(fetchServerElu, 0)} of the time between the fetch loop's first and last requests, so the server is not what limits it.`}`,
    hasLatency
      ? `Throughput at ${LATENCY_MS} ms (goals ≥ ${GOALS.latencyRatio} first → last, ≥ ${GOALS.latencyWallRatio} spawn → exit): ${verdict(latMet)} / ${verdict(latWallMet)}. Runs of ${int(LATENCY_CHUNKS * PORTS)} calls (not 16,000, to keep the run short: at ${LATENCY_CONCURRENCY * PORTS} in flight and ${LATENCY_MS} ms a call, at most ${f0(idealLatRate)} calls/s). Quorum ${f1(med(latQuorum, callsPerS))} calls/s (spawn → exit ${f1(med(latQuorum, callsPerSWall))}), the fetch loop ${f1(med(latFetch, callsPerS))} (spawn → exit ${f1(med(latFetch, callsPerSWall))}). The rate is calls in flight ÷ a call's time. At the server, quorum has ${f1(med(latQuorum, inFlight))} of ${LATENCY_CONCURRENCY * PORTS} calls in flight on average, the fetch loop ${f1(med(latFetch, inFlight))}; a call spends ${f0(med(latQuorum, serverMsPerCall))} ms at the server for quorum and ${f0(med(latFetch, serverMsPerCall))} ms for the fetch loop (the ${LATENCY_MS} ms latency, then the stream until the client has read it). As the client sees it, a call takes ${f0(med(latQuorum, clientMsPerCall))} ms in quorum (\`query_model\` span) and ${f0(med(latFetch, clientMsPerCall))} ms in the fetch loop. A chunk's run takes ${f0(med(latQuorum, (x) => median(x.chunkMs ?? [])))} ms (median) for one ${LATENCY_MS} ms round of calls: with \`--grace=-1\` a chunk waits for its slowest call, then gathers, and its slot starts the next chunk only after that, while each fetch worker starts its next call at once. Spawn → first request is ${f0(firstLat)} ms for quorum and ${f0(med(latFetch, firstRequestMs))} ms for the fetch loop, in a run of ${f1(med(latFetch, (x) => x.wallMs / 1000))} s.`
      : `Throughput at ${LATENCY_MS} ms: not run (\`QUORUM_BENCH_BATCH_LATENCY_CALLS=0\`).`,
    `CPU per call (goal ≤ ${f1(GOALS.cpuMsPerCall)} ms): ${verdict(cpuMet)}. Quorum's child used ${f2(qCpu)} ms of CPU per call (user ${f2(med(quorumRuns, (x) => x.probe.userMs / x.requests.length))}, system ${f2(med(quorumRuns, (x) => x.probe.systemMs / x.requests.length))}), the fetch loop ${f2(bCpu)} ms${sdkRuns.length ? `, the SDK loop ${f2(med(sdkRuns, cpuPerCall))} ms` : ''}. This is the whole process over its whole life (every thread: GC and libuv's pool add to the JS thread's), start-up included, divided by ${int(calls(quorumRuns))} calls. Of quorum's, ≈ ${f0(med(quorumRuns, cpuBeforeFirst))} ms went before the first request (start-up, inputs, counting pass; the fetch loop ${f0(med(fetchRuns, cpuBeforeFirst))} ms), so between the first and the last request it used ≈ ${f2(med(quorumRuns, windowCpuPerCall))} ms per call, the fetch loop ≈ ${f2(med(fetchRuns, windowCpuPerCall))} (interpolated from CPU samples every ${MEM_SAMPLE_MS} ms).${med(fetchRuns, windowCpuPerCall) > GOALS.cpuMsPerCall ? ` On this machine, at this load, the bare fetch loop alone needs more than ${f1(GOALS.cpuMsPerCall)} ms per call: Node's fetch and the SSE parsing leave quorum nothing of the goal here.` : ''} Process CPU per second of life: quorum ${pct(med(quorumRuns, childCpuShare), 0)} of a core, the fetch loop ${pct(med(fetchRuns, childCpuShare), 0)}.`,
    `Start-up (goals: first request ≤ ${GOALS.firstRequestMs} ms, \`--version\` ≤ ${GOALS.versionMs} ms): ${verdict(firstMet)} / ${verdict(versionMet)}. ${versionText}. In the 0 ms batch runs Node is ready ${f0(med(quorumRuns, (x) => x.probe.readyAt - x.spawnedAt))} ms after spawn, the \`batch\` span starts at ${f0(med(quorumRuns, (x) => (x.batchSpanAt ?? Number.NaN) - x.spawnedAt))} ms (the command's modules loaded, inputs resolved, the folder checked, the ${int(THROUGHPUT_CHUNKS)}-chunk counting pass done), and the first request arrives at ${f0(first0)} ms. In the profiled run, module loading took ${f0(share('modules').ms)} ms of the main thread. A \`node\` that only imports ${binName} peaks at ${f0(r.importRssMB)} MB RSS, bare Node at ${f0(r.bareNodeRssMB)} MB.`,
    `Disk (goals: 0 files per chunk, ≤ ${f1(DISK_GOAL_KB)} KB per chunk): ${verdict(filesMet)} / ${verdict(diskMet)}. Without \`--run-files\` a batch writes a fixed set of logs (${logNames.map((n) => `\`${n}\``).join(', ')}) and no file per chunk: ${sizes.map((n) => `${int(bySize.get(n)!.disk!.files)} files at ${int(n)} chunks`).join(', ')}. Per chunk: ${f1(duKB)} KB on disk (du), ${f1(sizeKB)} KB of file contents, ${pct(Math.max(duKB, sizeKB) / V01_KB_PER_CHUNK, 0)} of 0.1's ${f1(V01_KB_PER_CHUNK)} KB, ${f1(Math.abs(DISK_GOAL_KB - Math.max(duKB, sizeKB)))} KB ${diskMet ? 'under' : 'over'} the goal. The logs grow with each chunk's lines, so this does not change with the batch's size (see the rows above). By log, KB per chunk: ${logBreakdown}.${r.runFiles ? ` With \`--run-files\` (${int(RUNFILES_CHUNKS)} chunks): ${int(r.runFiles.withFiles.disk!.files)} files (${f1(r.runFiles.withFiles.disk!.files / RUNFILES_CHUNKS)} per chunk) and ${int(r.runFiles.withFiles.disk!.dirs)} folders, ${f1(duKBPerChunk(r.runFiles.withFiles))} KB per chunk on disk (${f1(sizeKBPerChunk(r.runFiles.withFiles))} KB of contents); it ran at ${f1(callsPerS(r.runFiles.withFiles))} calls/s and ${f2(cpuPerCall(r.runFiles.withFiles))} CPU ms per call, against ${f1(callsPerS(r.runFiles.plain))} calls/s and ${f2(cpuPerCall(r.runFiles.plain))} ms for the plain batch of the same size just before it.` : ''}`,
    `Where quorum's main thread goes (profile below): HTTP client (openai SDK, undici, SSE) ${f2(perCall('http'))} ms per call; run-log writer ${f2(perCall('runlog'))} ms; span export ${f2(perCall('spans'))} ms; OpenTelemetry bookkeeping ${f2(perCall('otel'))} ms; events ${f2(perCall('events'))} ms; claims ${f2(perCall('claims'))} ms; recorder ${f2(perCall('recorder'))} ms; GC ${f2(perCall('gc'))} ms; module loading ${f2(perCall('modules'))} ms; the rest (RxJS, pipeline, Node internals) ${f2(perCall('rest'))} ms. The profile covers the whole process, start-up included, so its per-call figures sit a little above the window's. Top self time: ${topSelf}.${tmpfs ? ` With the artifacts on tmpfs (nothing patched), quorum ran ×${f2(gain(tmpfs))} against its baseline (ratio ≈ ${f2(ratio * gain(tmpfs))}): ${Math.abs(gain(tmpfs) - 1) < 0.05 ? 'within 5 %, so the disk does not limit throughput' : 'the disk still moves throughput, or the load changed between the two runs'}.` : ''}`,
  ];

  const unset = pacing.find((p) => p.rpm === undefined);
  const withRpm = pacing.find((p) => p.rpm !== undefined);
  const pacingFindings = pacing.map((p) => `${plain(p.label)}: ${f2(p.rate)} calls/s against R = ${f0(R)} (${f2(p.rate / R)} R), ${p.limited} of ${p.total} requests answered 429 (${pct(p.limited / p.total)}), at most ${p.perWindowMax} answered calls in one server window (limit ${LIMIT.requests}).`);
  if (unset && unset.rate < HEADROOM * R) {
    pacingFindings.push(
      `Why it stays below 0.95 R (the limiter's target, \`headroom\` 0.95): the limiter spaces grants ${f1(SPACING_MS)} ms apart, and \`Bucket.grant\` (src/ratelimit/rateLimiter.ts) keeps the schedule only when a grant is at most ${f1(CATCH_UP_MS)} ms late (interval × (1 − headroom)). A later one restarts the schedule from now, so its lateness is lost for good. The median gap between arrivals was ${f1(unset.gapMedian)} ms${Math.abs(unset.gapMedian - SPACING_MS) <= 1.5 ? ', on schedule' : ''}, but the mean was ${f1(unset.gapMean)} ms: ${pct(unset.lateShare, 0)} of the gaps were longer than ${f1(SPACING_MS + CATCH_UP_MS)} ms. The child's event loop ran due timers up to ${f0(unset.run.probe.loopDelayMs.max)} ms late (p99 ${f1(unset.run.probe.loopDelayMs.p99)} ms). Suggested fix: a GCRA burst tolerance. Let the schedule lag by up to (1 − headroom) × windowMs in total, not per spacing: no window can then hold more than \`ceiling\` grants, and timer lag is made up instead of lost.`,
    );
  }
  // The limiter probe: which resets make one answer collapse a configured --rpm.
  const expected = LIMIT_RPM * HEADROOM;
  const collapsed = r.probe.filter((p) => p.perMinute < 0.5 * expected);
  const probeText = `Limiter probe (src/ratelimit/rateLimiter.ts in the bench process): \`new RateLimiter({ account: { requests: ${LIMIT_RPM}, windowMs: 60000 } })\` learns from one answer with \`X-RateLimit-Limit: ${LIMIT.requests}\`, and then allows ${r.probe.map((p) => `${f0(p.perMinute)}/min when the reset was ${p.resetInMs} ms away`).join(', ')} (expected ${f0(expected)}).`;
  if (withRpm && withRpm.rate < GOALS.pace * R) {
    const allCollapse = collapsed.length === r.probe.length;
    const boundaryOnly = collapsed.length > 0 && collapsed.every((p) => p.resetInMs <= 0);
    pacingFindings.push(
      `**Cause of the \`--rpm ${LIMIT_RPM}\` result** (src/ratelimit/rateLimiter.ts). ${probeText} ${
        allCollapse
          ? `Every answer collapses it: \`RateLimiter.learn\` adopts the server's ${LIMIT.requests} as calls per the configured 60 s window (\`Bucket.adopt\`), and \`Bucket.observeReset\` ignores the server's window once a window is configured, so the ceiling becomes ${LIMIT.requests} a minute (${f2((LIMIT.requests * HEADROOM) / 60)} calls/s). Suggested fix: compare rates, not counts; scale the server's limit by the configured window over the server's window (the longest time-to-reset seen) before adopting it.`
          : boundaryOnly
            ? `Only an answer whose reset has already passed when it is read collapses it. That is an answer to a call the server counted at the very end of its window: the reset header names that window's end, and a few ms later, when the client reads it, the time to reset is ≤ 0. \`Bucket.inOwnWindow\` then returns the raw limit (its \`resetInMs > 0\` test fails), \`Bucket.adopt\` takes ${LIMIT.requests} as calls per the configured minute, and the ceiling never rises again. In the run: ${withRpm.perWindowMax} calls in the busiest server window, then ${f0(withRpm.perWindowMedian)} a window (gaps: median ${f1(withRpm.gapMedian)} ms, mean ${f1(withRpm.gapMean)} ms). Whether and when an answer lands on a window's edge depends on timing, so a run may pass or fail. Suggested fix: never adopt a limit whose window is unknown. When the reset has passed, skip the limit, or scale it by the longest time-to-reset seen (\`observeReset\` already tracks it when no window is configured).`
            : collapsed.length
              ? `Some answers collapse it (resets ${collapsed.map((p) => `${p.resetInMs} ms`).join(', ')}); see \`RateLimiter.learn\` and \`Bucket.inOwnWindow\`.`
              : `No single answer collapses it here, so the slowdown comes from the sequence of answers in the run (gaps: median ${f1(withRpm.gapMedian)} ms, mean ${f1(withRpm.gapMean)} ms; busiest window ${withRpm.perWindowMax} calls).`
      }`,
    );
  } else if (collapsed.length) {
    pacingFindings.push(`The \`--rpm ${LIMIT_RPM}\` case met the goal in this run, but the limiter still has an edge case, and a run that hits it fails. ${probeText} An answer read after its window's reset (time to reset ≤ 0) makes \`Bucket.inOwnWindow\` return the raw limit, adopted as ${LIMIT.requests} a minute for good.`);
  }

  const memFindings = [
    largest
      ? `Peak RSS ${f0(largestRss)} MB at ${int(largest.chunks)} chunks${memBase && largest !== memBase ? `, against ${f0(rssMB(memBase.run))} MB at ${int(memBase.chunks)}` : ''}. ${measured10k ? 'Measured at 10,000 chunks (80,000 calls), not extrapolated.' : `10,000 chunks were not measured in this run${r.memoryNotes.length ? ` (${r.memoryNotes.join('; ')})` : ''}. Extrapolated: the largest run's peak RSS plus its live-heap growth (${f1(growth)} MB per 1,000 chunks, counted only if positive) over the missing chunks gives ≈ ${f0(extrapolated)} MB at 10,000. That assumes V8 sizes its heap the same way in a longer run; only a 10,000-chunk run shows it (raise \`QUORUM_BENCH_BATCH_MEM_BUDGET_S\`).`}`
      : 'No memory run.',
    `Flat: ${flat === undefined ? 'not judged (needs two memory runs of different sizes)' : flat ? 'yes' : '**no**'} (the criterion: peak RSS at the largest size within ${pct(GOALS.flat, 0)} of the ${memBase ? int(memBase.chunks) : '1,000'}-chunk figure).${memBase && largest && largest !== memBase ? ` The V8 heap reserved at the peak went from ${f0(memBase.heapTotalAtPeakMB)} to ${f0(largest.heapTotalAtPeakMB)} MB, the live heap ${growth <= 1 ? 'not at all' : `by ${f1(growth)} MB per 1,000 chunks`} (${f0(largest.liveEarlyMB)} → ${f0(largest.liveLateMB)} MB in the ${int(largest.chunks)}-chunk run).` : ''} Peak RSS also varies between runs of the same size: ${spread(quorumRuns.map(rssMB))} MB over the ${quorumRuns.length} runs of ${int(THROUGHPUT_CHUNKS)} chunks. The live heap is the lowest \`heapUsed\` sample (every ${MEM_SAMPLE_MS} ms) in the second and in the last quarter of the run: the level right after a GC.`,
    ...(largest
      ? [
          `What the peak is made of (largest run, highest RSS sample): the V8 heap had reserved ${f0(largest.heapTotalAtPeakMB)} MB, of which ${f0(largest.liveLateMB)} MB is live after a GC; the rest of RSS, ${f0(largest.rssPeakSampleMB - largest.heapTotalAtPeakMB)} MB, is Node itself, code and native memory. ${growth <= 1 ? `The live heap does not grow with the chunks: what grows is V8 letting its heap expand under a high allocation rate while its limit (sized from the machine's memory) is far away.` : `The live heap grows by ${f1(growth)} MB per 1,000 chunks: something is kept per chunk, or the run is too short to tell.`}${r.heapCapped.length ? ` With V8's old space capped (\`node ${HEAP_CAP_FLAG}\`, a what-if): ${r.heapCapped.map((c) => { const plainRun = memory.find((m) => m.chunks === c.chunks); return `${int(c.chunks)} chunks peak at ${f0(rssMB(c.run))} MB instead of ${plainRun ? f0(rssMB(plainRun.run)) : '–'} MB (${f1(callsPerS(c.run))} calls/s instead of ${plainRun ? f1(callsPerS(plainRun.run)) : '–'})`; }).join(', ')}.` : ''}`,
        ]
      : []),
  ];

  const setup = [
    `The real binary, \`node ${binName} batch . --query "…" --panel FILE --out TMP --chunk-tokens ${CHUNK_TOKENS} --rounds 1 --grace=-1 --concurrency N --json\`, runs as a child process${binPath !== cliPath ? ` (${binName} is the esbuild bundle that package.json's \`bin\` names)` : ''}. It talks to the sandbox server (\`startSandboxServer\`), which runs in the bench process. The server has eight simulated models with \`tokenDelayMs: 0\` and \`latencyMs\` ${LATENCY_MS} for goal 2 and 0 for everything else; their answers are streamed and share three facts, so every chunk reaches consensus.`,
    `The input is generated Markdown: a heading and a ~31-token paragraph per section. With \`--chunk-tokens ${CHUNK_TOKENS}\` every section is exactly one chunk; the bench checks this against the batch's own count and the lines of runs.jsonl. \`--rounds 1\` makes a chunk 8 calls. \`--grace=-1\` waits for all 8, so no call is cut.`,
    `The **bare fetch loop** is a child \`node\` that streams the same chat completions with plain \`fetch\`, N at a time, and does nothing else: it reads the SSE stream and joins the content deltas. It sends quorum's request bodies: the same models in turn, prompts built by quorum's own \`buildMessages\` from the same chunks, the same JSON. ${r.bodyCheck.fetchSame && r.bodyCheck.sdkSame !== false ? `Checked on this run: a 2-chunk batch and both loops against a recording server sent the same ${r.bodyCheck.calls} bodies, byte for byte.` : `**Checked on this run, and they differ**: a 2-chunk batch and the loops against a recording server sent different bodies (${r.bodyCheck.example ?? 'see the log'}); the comparison is not like for like until bench/batchChild.ts is brought in line.`} The **openai SDK loop** is the same loop through the \`openai\` SDK with quorum's client options: what the SDK itself costs.`,
    `Rates come from the sandbox's request log: (calls − 1) / (first → last request arrival), so process start-up is not in them; spawn → exit rates are shown too. CPU per call is the child's user + system time (all threads, start-up included) ÷ calls. A tiny \`--import\` preload observes each child: peak RSS (\`process.resourceUsage().maxRSS\` at exit), memory samples, CPU, event-loop utilisation and delay, synchronous writes and syncs on the event loop, and the run-log writer's appends and fdatasyncs on libuv's pool; it changes nothing. Quorum and the bare loops run alternately, ${REPS} round${REPS === 1 ? '' : 's'}; figures are median (min–max).${overrides.length ? ` Settings for this run: ${overrides.join(', ')}.` : ''}`,
  ].join(' ');

  const markdown = [
    'Measured by `npm run bench` (`bench/batch.ts`, helpers `bench/batchChild.ts`, `bench/batchProfile.ts`); this block is rewritten by that script.',
    '',
    setup,
    '',
    '**Goals** (the run log\'s issue):',
    '',
    mdTable(['#', 'goal', 'measured', 'target', 'verdict'], goalRows),
    '',
    `**1. Throughput at 0 ms latency**, ${CONCURRENCY * PORTS} calls in flight at most (\`--concurrency ${CONCURRENCY}\` × ${PORTS} ports), ${int(THROUGHPUT_CHUNKS * PORTS)} calls a run:`,
    '',
    mdTable(tpHeader, tpRows),
    '',
    ...(hasLatency
      ? [`**2. Throughput at ${LATENCY_MS} ms latency** (\`latencyMs: ${LATENCY_MS}\` on every model), ${LATENCY_CONCURRENCY * PORTS} calls in flight at most (\`--concurrency ${LATENCY_CONCURRENCY}\`), ${int(LATENCY_CHUNKS * PORTS)} calls a run (fewer than run 1, to keep the run time sane):`, '', mdTable(tpHeader, latRows), '']
      : []),
    `**4. Start-up**, ms after spawn (Node ready: the preload runs; \`batch\` span: runBatch starts the batch after resolving the inputs and counting the chunks):`,
    '',
    mdTable(['', 'runs', 'Node ready', '`batch` span starts', 'first request arrives', 'last request → process closed'], startupRows),
    '',
    `${versionText}.`,
    '',
    `**Quorum's runs of 1, per phase:**`,
    '',
    mdTable(['', 'median (min–max)'], phaseRows),
    '',
    `**5. Files and bytes on disk per chunk**: the artifacts folder after the run (\`du -sk\`, and the sum of file sizes), ÷ chunks; KB = 1,000 bytes, as in 0.1's 623 MB / 10,000 chunks:`,
    '',
    mdTable(['batch', 'files', 'files per chunk', 'du MB', 'du KB per chunk', 'Σ sizes KB per chunk', 'du per chunk vs 0.1'], diskRows),
    '',
    `**6. Memory** (peak RSS is \`maxRSS\` of the whole child process). The ${int(THROUGHPUT_CHUNKS)}-chunk row is the runs of 1. The memory runs put their artifacts on ${r.memOut}${r.memOut === '/dev/shm' ? ' (tmpfs; a file written there is no more in the process\'s RSS than a file on disk)' : ''}:`,
    '',
    mdTable(['chunks', 'calls', 'artifacts on', 'peak RSS MB', 'V8 heap reserved at the peak, MB', 'live heap MB (2nd → 4th quarter)', 'live-heap growth, MB / 1,000 chunks', 'calls/s', 'wall s'], memRows),
    '',
    `**7. Where the CLI's main thread goes**: \`node --cpu-prof\` of one ${PROFILE_CHUNKS}-chunk batch (${int(profCalls)} calls, 0 ms, \`--concurrency ${CONCURRENCY}\`, artifacts on ${tmpdir()}; ${f1(callsPerS(profiled))} calls/s while profiled), ${f0(profile.totalMs)} ms of profile from start to exit. Frames in the bundle are mapped to their source module by esbuild's \`// src/…\` markers. Each sample goes to the first row, top down, that has a frame on its stack ("this code and all it calls"), so the rows add up to 100 %. *Per call* divides by the run's calls:`,
    '',
    mdTable(['', 'ms', 'share', 'ms per call'], profRows),
    '',
    ...(whatIfs.length
      ? [
          `**What-if** (a diagnostic, not a goal; src unchanged): a ${int(WHATIF_CHUNKS)}-chunk batch run right after an unchanged baseline of the same size, so the speed-up is read against that baseline. *Ratio ≈* applies the speed-up to the measured ratio of run 1:`,
          '',
          mdTable(['quorum batch', 'baseline calls/s', 'what-if calls/s', 'speed-up', 'ratio to bare fetch loop ≈', 'CPU ms per call'], whatIfRows),
          '',
        ]
      : []),
    ...(pacing.length
      ? [
          `**Pacing** (kept from before; goal: achieved ≥ ${GOALS.pace} R with ≤ ${pct(GOALS.limited, 0)} of calls answered 429): ${verdict(pacingMet)}. The sandbox limits the whole account to R = ${LIMIT.requests} requests per ${int(LIMIT.windowMs)} ms, ${f0(R)} calls/s. Its window is fixed and starts with the first request after the last window ran out. Every answer carries \`X-RateLimit-Limit/Remaining/Reset\`, and a 429 carries \`Retry-After\`. Each run is ${PACING_CHUNKS} chunks (${PACING_CHUNKS * PORTS} calls), 0 ms, \`--concurrency ${CONCURRENCY}\`. *Achieved* is (answered calls − 1) / (first → last answered arrival). Quorum retries 429s, so *requests* counts them too. *Gaps* are between successive arrivals after the first window; the limiter aims at ${f1(SPACING_MS)} ms:`,
          '',
          mdTable(['case', 'chunks / consensus', 'requests', 'answered 200', '429', 'achieved calls/s', 'achieved / R', 'answered per window (max / median)', 'gap median / mean, ms', `gaps > ${f1(SPACING_MS + CATCH_UP_MS)} ms`, 'event-loop delay p99 / max, ms', 'goal'], pacingRows),
          '',
        ]
      : []),
    ...(busy
      ? [
          `- **The machine was busy**: the 1-min load average was ${m0.load1.toFixed(1)} at the start and up to ${maxLoad.toFixed(1)} during the runs, above its ${m0.nproc} CPU(s). Other work competed for the CPUs and the disk, so rates are lower and noisier than on an idle machine. Quorum and the bare loops ran alternately so that both met the same load, but the load was not constant.`,
        ]
      : [`- Machine load: the 1-min load average was ${m0.load1.toFixed(1)} at the start and at most ${maxLoad.toFixed(1)} during the runs (${m0.nproc} CPU(s)).`]),
    ...findings.map((f) => `- ${f}`),
    `- Memory (goals ≤ ${GOALS.rssMB} MB at 10,000 chunks, flat within ${pct(GOALS.flat, 0)}): ${largest ? (measured10k ? verdict(rssMet) : `${verdict(rssMet)} by extrapolation, not measured`) : 'not run'} / ${verdict(flat)}. ${memFindings.join(' ')}`,
    ...(pacing.length ? [`- Pacing (kept from before): ${verdict(pacingMet)}. ${pacingFindings.join(' ')}`] : []),
    `- ${machineLine(m0, endLoad)} Whole benchmark ${totalS.toFixed(0)} s.${r.build.gitAtStart ? ` Commit ${r.build.gitAtStart}${r.build.gitAtEnd !== r.build.gitAtStart ? ` at the start, ${r.build.gitAtEnd} at the end` : ''}.` : ''}${r.build.rebuilt ? ' **dist/ was rebuilt by another process during the run**, so the children may not all have run the same build.' : ''}`,
  ].join('\n');

  const table = [
    textTable(['goal', '', 'measured', 'target', 'verdict'], goalRows.map((row) => row.map(plain))),
    '',
    textTable(['0 ms', 'runs', 'calls', 'calls/s', 'calls/s wall', 'CPU ms/call', 'thread ms/call', 'in flight', 'ELU', 'child CPU', 'sandbox', 'RSS MB'], tpRows.map((row) => row.map(plain))),
    '',
    ...(hasLatency ? [textTable([`${LATENCY_MS} ms`, 'runs', 'calls', 'calls/s', 'calls/s wall', 'CPU ms/call', 'thread ms/call', 'in flight', 'ELU', 'child CPU', 'sandbox', 'RSS MB'], latRows.map((row) => row.map(plain))), ''] : []),
    textTable(['start-up', 'runs', 'node ready', 'batch span', 'first request', 'tail'], startupRows.map((row) => row.map(plain))),
    plain(versionText),
    '',
    textTable(['quorum phase', ''], phaseRows.map((row) => row.map(plain))),
    '',
    textTable(['disk', 'files', 'files/chunk', 'du MB', 'du KB/chunk', 'size KB/chunk', 'vs 0.1'], diskRows.map((row) => row.map(plain))),
    `KB per chunk by log: ${logBreakdown}`,
    '',
    textTable(['chunks', 'calls', 'out', 'peak RSS MB', 'heap reserved', 'live heap', 'growth', 'calls/s', 'wall s'], memRows.map((row) => row.map(plain))),
    '',
    textTable(['profile', 'ms', 'share', 'ms/call'], profRows.map((row) => row.map(plain))),
    '',
    ...(whatIfs.length ? [textTable(['what-if', 'baseline', 'what-if', 'speed-up', 'ratio ≈', 'CPU ms/call'], whatIfRows.map((row) => row.map(plain))), ''] : []),
    ...(pacing.length ? [textTable(['pacing', 'chunks/consensus', 'requests', '200', '429', 'calls/s', '/R', 'per window', 'gaps', 'late', 'loop delay', 'goal'], pacingRows.map((row) => row.map(plain))), ''] : []),
    machineLine(m0, endLoad),
  ].join('\n');

  return { id: 'batch', heading: 'batch: throughput, pacing, memory', markdown, table };
}

/** Calls per run, median over the runs. */
function calls(runs: Run[]): number {
  return median(runs.map((x) => x.requests.length));
}

// Alone: `npx tsx bench/batch.ts` prints the tables; `--write` also rewrites the section.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run({ repoRoot, log: (l) => console.log(l) }).then((rep) => {
    console.log(`\n${rep.table}`);
    if (process.argv.includes('--write')) {
      writeSection(rep);
      console.log('\nBENCHMARKS.md: section "batch" rewritten.');
    }
  });
}
