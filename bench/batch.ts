/**
 * `quorum batch` performance through the REAL CLI binary (`node dist/cli.js batch …`) as a child
 * process, against the sandbox server running in this (the bench) process:
 *
 * 1. Throughput: 500 chunks × 8 ports, `--rounds 1`, against a zero-latency server (latencyMs 0,
 *    tokenDelayMs 0), 4 chunks at once (≤ 32 calls in flight), next to a bare loop of the same
 *    streamed chat completions through the same `openai` SDK with 32 in flight, in a child
 *    `node` as well. Goal: quorum's calls/s ≥ 0.7 × the bare loop's.
 * 2. Pacing: the sandbox limits the account to R requests per window (40 per 2,000 ms, a fixed
 *    window); batches run with `--rpm` unset (learned from X-RateLimit headers and 429s) and with
 *    the matching `--rpm`. Goal: achieved rate ≥ 0.9 R with ≤ 2 % of calls answered 429.
 * 3. Memory: peak RSS (`process.resourceUsage().maxRSS` at exit, via a preload) for growing
 *    batches. Goal: ≤ 250 MB at 10,000 chunks, and flat from 1,000 to 10,000.
 * 4. Where the time goes: a CPU profile (`--cpu-prof`) of a smaller batch split into shares,
 *    and what-if runs that remove one overhead each (src is unchanged; a preload patches the
 *    child).
 *
 * Run by `npm run bench` (bench/run.ts; `-- --only batch` for this one); `npx tsx bench/batch.ts`
 * runs it alone and prints the tables without writing BENCHMARKS.md (`--write` writes its
 * section too). Environment:
 *   QUORUM_BENCH_BATCH_CHUNKS    chunks of the throughput runs (default 500)
 *   QUORUM_BENCH_BATCH_REPS      quorum / bare-loop pairs, run alternately (default 3)
 *   QUORUM_BENCH_BATCH_MEM       memory batch sizes in chunks (default 1000,10000)
 *   QUORUM_BENCH_BATCH_MEM_BUDGET_S  a memory run predicted to take longer (from the previous
 *                                one's rate) is shrunk to 5000 or 2500 chunks, and the report says
 *                                so and extrapolates (default 270)
 *   QUORUM_BENCH_BATCH_PACING    chunks of each pacing run (default 60)
 *   QUORUM_BENCH_BATCH_WHATIF=0  skips the what-if runs
 *   QUORUM_BENCH_BATCH_WHATIF_CHUNKS  chunks of each what-if run and its baseline (default 250)
 *   QUORUM_BENCH_BATCH_PROFILE   chunks of the profiled run (default 200)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { RateLimiter } from '../src/batch/rateLimiter.js';
import type { Scenario } from '../src/sandbox/scenario.js';
import { type SandboxRequestLog, type SandboxServer, startSandboxServer } from '../src/sandbox/server.js';
import { bareLoopSource, type Probe, probeArg } from './batchChild.js';
import { type ProfileSummary, summariseProfile } from './batchProfile.js';
import {
  type BenchContext,
  type BenchReport,
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

const envNum = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const THROUGHPUT_CHUNKS = envNum('QUORUM_BENCH_BATCH_CHUNKS', 500);
const REPS = envNum('QUORUM_BENCH_BATCH_REPS', 3);
const MEMORY_SIZES = (process.env.QUORUM_BENCH_BATCH_MEM ?? '1000,10000').split(',').map(Number).filter((n) => n > 0);
/** A memory run predicted (from the previous run's rate) to take longer than this is shrunk to a size that fits. */
const MEMORY_BUDGET_S = envNum('QUORUM_BENCH_BATCH_MEM_BUDGET_S', 270);
const MEMORY_FALLBACKS = [5000, 2500];
const PACING_CHUNKS = envNum('QUORUM_BENCH_BATCH_PACING', 60);
const WHAT_IFS = process.env.QUORUM_BENCH_BATCH_WHATIF !== '0';
const PROFILE_CHUNKS = envNum('QUORUM_BENCH_BATCH_PROFILE', 200);
const WHATIF_CHUNKS = envNum('QUORUM_BENCH_BATCH_WHATIF_CHUNKS', 250);
/** Chunks at once: 4 chunks × 8 ports = 32 calls in flight at most. */
const CONCURRENCY = 4;
const PORTS = 8;
const CHUNK_TOKENS = 50;
/** Sections per generated file. */
const SECTIONS_PER_FILE = 500;
/** The server's limit for the pacing runs: R = 40 per 2 s = 20 calls/s (1,200 a minute). */
const LIMIT = { requests: 40, windowMs: 2000 };
const LIMIT_RPM = (LIMIT.requests * 60_000) / LIMIT.windowMs;
/** The limiter's default headroom (src/batch/rateLimiter.ts), its spacing at that limit, and the lateness a grant may catch up. */
const HEADROOM = 0.95;
const SPACING_MS = LIMIT.windowMs / (LIMIT.requests * HEADROOM);
const CATCH_UP_MS = SPACING_MS * (1 - HEADROOM);
const MEM_SAMPLE_MS = 250;
/** The memory what-if's cap on V8's old space. */
const HEAP_CAP_FLAG = '--max-old-space-size=128';
const MB = 1024 * 1024;
const QUERY = 'What state does the protocol keep?';
const GOALS = { ratio: 0.7, pace: 0.9, limited: 0.02, rssMB: 250 };

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

/** Eight zero-latency models, streamed at full speed, sharing three facts (so every chunk reaches consensus). */
function scenarioFor(rateLimit?: typeof LIMIT): Scenario {
  return {
    models: Array.from({ length: PORTS }, (_, port) => ({
      model: `family${port}/model-${port}`,
      family: `family${port}`,
      latencyMs: 0,
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
 * The limiter in isolation (src/batch/rateLimiter.ts, in this process): configured as \`--rpm\`
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

async function runQuorum(o: QuorumOptions): Promise<Run> {
  const base = mkdtempSync(join(o.outBase, 'quorum-bench-batch-'));
  const out = join(base, 'out');
  const probePath = join(base, 'probe.json');
  const profDir = join(base, 'prof');
  const first = o.server.requests.length;
  const cpu0 = process.cpuUsage();
  try {
    const run = await nodeChild(
      [
        ...(o.nodeArgs ?? []),
        probeArg(),
        ...(o.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
        cliPath,
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
        String(CONCURRENCY),
        '--json',
        ...(o.args ?? []),
      ],
      {
        cwd: o.inputDir,
        env: {
          PATH: process.env.PATH,
          OPENROUTER_API_KEY: 'sk-bench',
          QUORUM_BENCH_PROBE: probePath,
          QUORUM_BENCH_REPO: repoRoot,
          QUORUM_BENCH_MEM_MS: String(o.memSampleMs ?? 0),
          ...o.env,
        },
        ...(o.interruptAfterMs !== undefined && { interruptAfterMs: o.interruptAfterMs }),
      },
    );
    const cpu = process.cpuUsage(cpu0);
    const expectedCode = run.interrupted ? 130 : 0;
    if (run.code !== expectedCode) throw new Error(`quorum batch (${o.label}) exited ${run.code}: ${run.stderr.slice(-2000)}`);
    const summary = JSON.parse(run.stdout) as Summary;
    if (!run.interrupted && (summary.chunks !== o.chunks || summary.outcome !== 'completed')) {
      throw new Error(`quorum batch (${o.label}): expected ${o.chunks} chunks completed, got ${summary.chunks} (${summary.outcome})`);
    }
    const result: Run = {
      label: o.label,
      chunks: o.chunks,
      wallMs: run.wallMs,
      spawnedAt: run.spawnedAt,
      probe: JSON.parse(readFileSync(probePath, 'utf8')) as Probe,
      requests: o.server.requests.slice(first),
      serverCpuMs: (cpu.user + cpu.system) / 1000,
      summary,
      interrupted: run.interrupted,
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

async function runBare(server: SandboxServer, scenario: Scenario, files: string[], calls: number): Promise<Run> {
  const base = mkdtempSync(join(tmpdir(), 'quorum-bench-bare-'));
  const probePath = join(base, 'probe.json');
  const first = server.requests.length;
  const cpu0 = process.cpuUsage();
  try {
    const run = await nodeChild([probeArg(), '--input-type=module', '-e', bareLoopSource(repoRoot)], {
      env: {
        PATH: process.env.PATH,
        QUORUM_BENCH_PROBE: probePath,
        QUORUM_BENCH_REPO: repoRoot,
        BARE_BASE_URL: server.baseURL,
        BARE_CALLS: String(calls),
        BARE_CONCURRENCY: String(CONCURRENCY * PORTS),
        BARE_FILES: JSON.stringify(files),
        BARE_CHUNK_TOKENS: String(CHUNK_TOKENS),
        BARE_QUERY: QUERY,
        BARE_MODELS: JSON.stringify(scenario.models.map((m) => m.model)),
      },
    });
    const cpu = process.cpuUsage(cpu0);
    if (run.code !== 0) throw new Error(`bare loop exited ${run.code}: ${run.stderr.slice(-2000)}`);
    const out = JSON.parse(run.stdout) as { wallMs: number; calls: number; ok: number; callMsSum: number };
    if (out.ok !== calls) throw new Error(`bare loop: ${out.ok} of ${calls} calls answered`);
    return {
      label: 'bare loop',
      chunks: calls / PORTS,
      wallMs: run.wallMs,
      spawnedAt: run.spawnedAt,
      probe: JSON.parse(readFileSync(probePath, 'utf8')) as Probe,
      requests: server.requests.slice(first),
      serverCpuMs: (cpu.user + cpu.system) / 1000,
      interrupted: false,
      callMsSum: out.callMsSum,
      callSpanMs: out.wallMs,
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- measures

/** First → last request arrival at the server, ms. */
const windowMs = (r: Run) => (r.requests.length > 1 ? r.requests[r.requests.length - 1]!.at - r.requests[0]!.at : Number.NaN);
/** Calls per second while calls were being made: (n − 1) arrivals over the first → last span. */
const callsPerS = (r: Run) => ((r.requests.length - 1) * 1000) / windowMs(r);
/** End to end: every call over spawn → process closed. */
const callsPerSWall = (r: Run) => (r.requests.length * 1000) / r.wallMs;
/** Mean calls in flight: Σ call durations over first call start → last call end. */
const inFlight = (r: Run) => (r.callMsSum ?? Number.NaN) / (r.callSpanMs ?? Number.NaN);
const childCpuShare = (r: Run) => r.probe.cpuMs / (r.probe.exitAt - r.probe.readyAt);
const rssMB = (r: Run) => (r.probe.maxRssKB * 1024) / MB;

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
const pct = (v: number, digits = 1) => (Number.isFinite(v) ? `${(v * 100).toFixed(digits)} %` : '–');
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const plain = (cell: string) => cell.replace(/\*\*|`/g, '');
const verdict = (met: boolean) => (met ? 'met' : '**missed**');

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
  try {
    const scenario = scenarioFor();
    const server = await startSandboxServer({ scenario });
    servers.push(server);
    const panel = writePanelFile(work, server.baseURL, scenario);
    const inputFor = (chunks: number) => {
      const dir = join(work, `in-${chunks}`);
      return { dir, files: existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : writeInput(dir, chunks) };
    };

    // What loading modules alone costs in RSS, for the memory notes: bare Node, the CLI's module
    // graph, and DuckDB's native library (which the CLI imports for \`sql\` and \`report\`).
    const rssAfterImport = async (specifier?: string) => {
      const code = `${specifier ? `await import(${JSON.stringify(specifier)});` : ''}process.stdout.write(String(process.resourceUsage().maxRSS))`;
      const child = await nodeChild(['--input-type=module', '-e', code], { cwd: repoRoot, env: { PATH: process.env.PATH } });
      return (Number(child.stdout) * 1024) / MB;
    };
    const bareNodeRssMB = await rssAfterImport();
    const importRssMB = await rssAfterImport(pathToFileURL(cliPath).href);
    const batchOnlyRssMB = await rssAfterImport(pathToFileURL(join(repoRoot, 'dist', 'handlers', 'batch.js')).href);
    const duckdbRssMB = (await rssAfterImport(pathToFileURL(join(repoRoot, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js')).href).catch(() => Number.NaN)) - bareNodeRssMB;

    // ---- 1. throughput: quorum and the bare loop, alternately
    const tp = inputFor(THROUGHPUT_CHUNKS);
    const quorumRuns: Run[] = [];
    const bareRuns: Run[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      phase(`throughput ${rep + 1}/${REPS}: quorum batch, ${THROUGHPUT_CHUNKS} chunks`);
      const q = await runQuorum({ label: 'quorum', server, panel, inputDir: tp.dir, chunks: THROUGHPUT_CHUNKS, outBase: tmpdir(), readTraces: true, memSampleMs: MEM_SAMPLE_MS });
      quorumRuns.push(q);
      ctx.log(`    ${f1(callsPerS(q))} calls/s, peak RSS ${f0(rssMB(q))} MB`);
      phase(`throughput ${rep + 1}/${REPS}: bare loop, ${THROUGHPUT_CHUNKS * PORTS} calls`);
      const b = await runBare(server, scenario, tp.files, THROUGHPUT_CHUNKS * PORTS);
      bareRuns.push(b);
      ctx.log(`    ${f1(callsPerS(b))} calls/s`);
      noteLoad();
    }

    // ---- 2. where the time goes: a CPU profile, then what-ifs
    phase(`CPU profile: quorum batch, ${PROFILE_CHUNKS} chunks, --cpu-prof`);
    const pf = inputFor(PROFILE_CHUNKS);
    const profiled = await runQuorum({ label: 'profiled', server, panel, inputDir: pf.dir, chunks: PROFILE_CHUNKS, outBase: tmpdir(), cpuProfile: true });
    const profile = profiled.profile!;
    noteLoad();
    // Each what-if runs right after a baseline of its own (same size, same moment), so a change
    // in the machine's load between them matters less than between separate phases.
    const whatIfs: WhatIf[] = [];
    if (WHAT_IFS) {
      const wf = inputFor(WHATIF_CHUNKS);
      const cases: { label: string; outBase?: string; env?: NodeJS.ProcessEnv }[] = [
        { label: '`fsyncSync` a no-op (preload)', env: { QUORUM_BENCH_NO_FSYNC: '1' } },
        ...(shm ? [{ label: '`--out` on tmpfs (/dev/shm), nothing patched', outBase: shm }] : []),
        { label: 'CloudEvent validation skipped (preload)', env: { QUORUM_BENCH_NO_CE_VALIDATION: '1' } },
      ];
      for (const c of cases) {
        phase(`what-if: ${plain(c.label)}, ${WHATIF_CHUNKS} chunks, after its baseline`);
        const baseline = await runQuorum({ label: 'baseline', server, panel, inputDir: wf.dir, chunks: WHATIF_CHUNKS, outBase: tmpdir() });
        const changed = await runQuorum({ label: c.label, server, panel, inputDir: wf.dir, chunks: WHATIF_CHUNKS, outBase: c.outBase ?? tmpdir(), env: c.env ?? {} });
        whatIfs.push({ label: c.label, baseline, run: changed });
        ctx.log(`    ${f1(callsPerS(baseline))} → ${f1(callsPerS(changed))} calls/s`);
      }
      noteLoad();
    }

    // ---- 3. pacing, each case on a fresh server so its windows start with the run
    const pacing: Pacing[] = [];
    const pc = inputFor(PACING_CHUNKS);
    const R = LIMIT.requests / (LIMIT.windowMs / 1000);
    for (const c of [
      { label: '`--rpm` unset (learned from headers and 429s)', args: [] as string[], rpm: undefined },
      { label: `\`--rpm ${LIMIT_RPM}\` (the limit, per minute)`, args: ['--rpm', String(LIMIT_RPM)], rpm: LIMIT_RPM },
    ]) {
      phase(`pacing: ${plain(c.label)}, ${PACING_CHUNKS} chunks under ${LIMIT.requests} per ${LIMIT.windowMs} ms`);
      const limitedScenario = scenarioFor(LIMIT);
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

    // ---- 4. memory
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
      // The sandbox keeps a log line per request; this run's are no longer needed.
      server.requests.length = 0;
      noteLoad();
    }
    // What-if: the memory runs again with V8's old space capped (a Node flag; src unchanged).
    const heapCapped: Memory[] = [];
    if (WHAT_IFS) {
      for (const m of memory) {
        const predicted = (m.run.wallMs / 1000) * 1.1;
        if (m.chunks !== 1000 && predicted > MEMORY_BUDGET_S) continue;
        phase(`memory what-if: ${m.chunks} chunks, node ${HEAP_CAP_FLAG}`);
        const input = inputFor(m.chunks);
        const r = await runQuorum({ label: 'heap cap', server, panel, inputDir: input.dir, chunks: m.chunks, outBase: memOut, memSampleMs: MEM_SAMPLE_MS, nodeArgs: [HEAP_CAP_FLAG] });
        heapCapped.push(memoryOf(m.chunks, r));
        ctx.log(`    peak RSS ${f0(rssMB(r))} MB, ${f1(callsPerS(r))} calls/s`);
        server.requests.length = 0;
      }
    }
    phase('done');
    const build = { gitAtStart, gitAtEnd: gitState(), rebuilt: distStamp() !== distAtStart };
    const probe = limiterProbe();

    return report({ m0, t0, loads, shm, quorumRuns, bareRuns, profiled, profile, whatIfs, pacing, memory, memOut, memoryNotes, importRssMB, batchOnlyRssMB, bareNodeRssMB, duckdbRssMB, heapCapped, build, probe });
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
  shm: string | undefined;
  quorumRuns: Run[];
  bareRuns: Run[];
  profiled: Run;
  profile: ProfileSummary;
  whatIfs: WhatIf[];
  pacing: Pacing[];
  memory: Memory[];
  memOut: string;
  memoryNotes: string[];
  /** Peak RSS of a bare `node` that only imports dist/cli.js, MB. */
  importRssMB: number;
  /** Peak RSS of `node -e 0`, MB. */
  bareNodeRssMB: number;
  /** Peak RSS of a node that imports only dist/handlers/batch.js (what `batch` itself needs), MB. */
  batchOnlyRssMB: number;
  /** What importing @duckdb/node-api adds to a bare node's peak RSS, MB. */
  duckdbRssMB: number;
  /** Memory runs again with HEAP_CAP_FLAG. */
  heapCapped: Memory[];
  build: { gitAtStart: string | undefined; gitAtEnd: string | undefined; rebuilt: boolean };
  /** {@link limiterProbe}. */
  probe: { resetInMs: number; perMinute: number }[];
}

function report(r: Results): BenchReport {
  const { m0, quorumRuns, bareRuns, profile, profiled, whatIfs, pacing, memory } = r;
  const totalS = (Date.now() - r.t0) / 1000;
  const endLoad = loadavg()[0] ?? 0;
  const maxLoad = Math.max(endLoad, ...r.loads);
  const med = (runs: Run[], pick: (x: Run) => number) => median(runs.map(pick));
  const qRate = med(quorumRuns, callsPerS);
  const bRate = med(bareRuns, callsPerS);
  const ratio = qRate / bRate;
  const pairRatios = quorumRuns.map((q, i) => callsPerS(q) / callsPerS(bareRuns[i]!));
  const tpMet = ratio >= GOALS.ratio;
  /** Main-thread ms per call: the window over the calls (both children run one JS thread flat out). */
  const msPerCall = (x: Run) => windowMs(x) / x.requests.length;
  const qMsPerCall = med(quorumRuns, msPerCall);
  const bMsPerCall = med(bareRuns, msPerCall);

  // ---- settings that differ from the defaults
  const overrides = Object.entries(process.env)
    .filter(([k]) => k.startsWith('QUORUM_BENCH_BATCH_'))
    .map(([k, v]) => `\`${k}=${v}\``);

  // ---- throughput
  const tpHeader = ['', 'runs', 'calls', 'calls/s (first → last request)', 'calls/s (spawn → exit)', 'thread ms per call', 'mean calls in flight', 'event-loop utilisation', 'child CPU (share of one core)', 'sandbox CPU ms (bench process)', 'peak RSS MB'];
  const tpRow = (name: string, runs: Run[]) => [
    name,
    String(runs.length),
    int(med(runs, (x) => x.requests.length)),
    spread(runs.map(callsPerS), 1),
    spread(runs.map(callsPerSWall), 1),
    spread(runs.map(msPerCall), 2),
    spread(runs.map(inFlight), 1),
    pct(med(runs, (x) => x.probe.elu), 0),
    pct(med(runs, childCpuShare), 0),
    f0(med(runs, (x) => x.serverCpuMs)),
    spread(runs.map(rssMB)),
  ];
  const tpRows = [
    tpRow(`**quorum batch** (${int(THROUGHPUT_CHUNKS)} chunks × ${PORTS}, \`--concurrency ${CONCURRENCY}\`)`, quorumRuns),
    tpRow(`bare loop (${int(THROUGHPUT_CHUNKS * PORTS)} calls, ${CONCURRENCY * PORTS} at a time)`, bareRuns),
    ['**quorum / bare**', '', '', `**${f2(ratio)}** (pairs: ${pairRatios.map(f2).join(', ')})`, f2(med(quorumRuns, callsPerSWall) / med(bareRuns, callsPerSWall)), '', '', '', '', '', ''],
  ];

  // ---- the quorum runs, per phase
  const q0 = quorumRuns;
  const timelineRows = [
    ['spawn → first request (start-up, input resolution, counting pass), ms', spread(q0.map((x) => x.requests[0]!.at - x.spawnedAt))],
    ['first → last request, ms', spread(q0.map(windowMs))],
    ['last request → process closed (last chunk, sinks flushed, exit), ms', spread(q0.map((x) => x.spawnedAt + x.wallMs - x.requests[x.requests.length - 1]!.at))],
    ["one chunk's run (root span `scatter_gather_research`, median over chunks), ms", spread(q0.map((x) => median(x.chunkMs ?? [])))],
    [`thread time per chunk (first → last request ÷ chunks; ${CONCURRENCY} chunks overlap), ms`, spread(q0.map((x) => windowMs(x) / x.chunks), 1)],
    ['sync fsyncs per chunk: count / ms on the event loop', `${f1(med(q0, (x) => x.probe.fsyncs / x.chunks))} / ${f1(med(q0, (x) => x.probe.fsyncMs / x.chunks))}`],
    ['share of first → last request spent in sync fsyncs', pct(med(q0, (x) => x.probe.fsyncMs / windowMs(x)))],
    ['spans per chunk (traces.jsonl lines)', f1(med(q0, (x) => (x.spans ?? Number.NaN) / x.chunks))],
    ['event-loop delay p50 / p99 / max, ms', `${f1(med(q0, (x) => x.probe.loopDelayMs.p50))} / ${f1(med(q0, (x) => x.probe.loopDelayMs.p99))} / ${f0(med(q0, (x) => x.probe.loopDelayMs.max))}`],
  ];

  // ---- profile
  const profCalls = profiled.requests.length;
  const profRows: string[][] = [];
  for (const sh of profile.shares) {
    if (sh.ms < 0.0005 * profile.totalMs) continue;
    profRows.push([sh.label, f0(sh.ms), pct(sh.share), f2(sh.ms / profCalls)]);
    for (const part of sh.parts) profRows.push([`  … of which ${part.label}`, f0(part.ms), pct(part.share), f2(part.ms / profCalls)]);
  }
  const share = (id: string) => profile.shares.find((x) => x.id === id)!;
  const topSelf = profile.topSelf.map((t) => `\`${t.name}\` ${pct(t.share)}`).join(', ');

  // ---- what-ifs (each against the baseline run just before it)
  /** Thread ms per call outside sync fsyncs: what a change to CPU work shows, with the disk's noise taken out. */
  const nonFsyncMsPerCall = (x: Run) => (windowMs(x) - x.probe.fsyncMs) / x.requests.length;
  const whatIfRows = whatIfs.map((w) => [
    w.label,
    f1(callsPerS(w.baseline)),
    f1(callsPerS(w.run)),
    `×${f2(callsPerS(w.run) / callsPerS(w.baseline))}`,
    f2((ratio * callsPerS(w.run)) / callsPerS(w.baseline)),
    `${f0(w.baseline.probe.fsyncMs)} → ${f0(w.run.probe.fsyncMs)}`,
    `${f2(nonFsyncMsPerCall(w.baseline))} → ${f2(nonFsyncMsPerCall(w.run))}`,
  ]);
  const wi = (needle: string) => whatIfs.find((w) => w.label.includes(needle));
  const gain = (w: WhatIf) => callsPerS(w.run) / callsPerS(w.baseline);

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
  const pacingMet = pacing.every(pacingMetOf);

  // ---- memory
  const points: { chunks: number; rss: number; run: Run; mem?: Memory }[] = [
    ...quorumRuns.map((q) => ({ chunks: q.chunks, rss: rssMB(q), run: q })),
    ...memory.map((m) => ({ chunks: m.chunks, rss: rssMB(m.run), run: m.run, mem: m })),
  ];
  const bySize = new Map<number, typeof points>();
  for (const p of points) bySize.set(p.chunks, [...(bySize.get(p.chunks) ?? []), p]);
  const sizes = [...bySize.keys()].sort((a, b) => a - b);
  const memRows = sizes.map((n) => {
    const ps = bySize.get(n)!;
    const m = ps.find((p) => p.mem)?.mem;
    return [
      int(n),
      int(n * PORTS),
      m ? r.memOut : tmpdir(),
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
  const at1000 = memory.find((m) => m.chunks === 1000);
  const largestRss = largest ? rssMB(largest.run) : Number.NaN;
  const measured10k = largest?.chunks === 10_000;
  const growth = largest?.heapGrowth ?? Number.NaN;
  const extrapolated = measured10k || !largest ? largestRss : largestRss + Math.max(0, growth) * ((10_000 - largest.chunks) / 1000);
  const flat = at1000 && largest && largest !== at1000 ? largestRss <= rssMB(at1000.run) * 1.1 && growth <= 1 : undefined;
  const rssMet = extrapolated <= GOALS.rssMB;

  // ---- findings
  const busy = maxLoad > m0.nproc;
  const atomic = share('atomic');
  const noFsync = wi('fsyncSync');
  const noCe = wi('CloudEvent');
  const tmpfs = wi('tmpfs');
  const fsyncsPerChunk = med(quorumRuns, (x) => x.probe.fsyncs / x.chunks);
  const fsyncMsPerCall = med(quorumRuns, (x) => x.probe.fsyncMs / x.requests.length);
  const budget = bMsPerCall / GOALS.ratio;
  const perCall = (id: string) => share(id).ms / profCalls;
  const findings: string[] = [
    `Both children are bound by their one JS thread, not by the server: event-loop utilisation ${pct(med(quorumRuns, (x) => x.probe.elu), 0)} for quorum and ${pct(med(bareRuns, (x) => x.probe.elu), 0)} for the bare loop; the profile's idle share is ${pct(share('idle').share)}. (The sandbox in the bench process serves at least the bare loop's ${f0(bRate)} calls/s.) So the ratio is thread time per call: the bare loop spends ${f2(bMsPerCall)} ms of its thread per call, quorum ${f2(qMsPerCall)} ms. The goal (0.7) allows ${f2(budget)} ms. ${med(quorumRuns, childCpuShare) < 0.8 ? `Quorum's thread is busy ${pct(med(quorumRuns, (x) => x.probe.elu), 0)} of the time but the process uses only ${pct(med(quorumRuns, childCpuShare), 0)} of a core (the bare loop ${pct(med(bareRuns, childCpuShare), 0)}): the difference is the thread blocked in synchronous syscalls. ` : `(Process CPU, all threads: quorum ${pct(med(quorumRuns, childCpuShare), 0)} of a core, the bare loop ${pct(med(bareRuns, childCpuShare), 0)}; GC and libuv threads add to the JS thread's.) `}It keeps ${f1(med(quorumRuns, inFlight))} of its ${CONCURRENCY * PORTS} possible calls in flight on average (the bare loop ${f1(med(bareRuns, inFlight))}).`,
    `**The recorder's synchronous file writes are quorum's largest own cost.** For every chunk, \`RunRecorder\` (src/run/recorder.ts) writes each answering port's \`responses/port_N.json\` (\`portFinished\`), then consensus.json and consensus.md (\`complete\`), each with \`writeJsonAtomicSync\` / \`writeFileAtomicSync\` (src/sinks/writeJsonAtomic.ts) on the event loop: 10 files a chunk, each a \`mkdirSync\`, a temp file (\`openSync\`, \`writeSync\`, \`closeSync\`) and a \`renameSync\`, ${fsyncsPerChunk > 8 ? 'each also with an fsync of the file and one of the folder' : 'and an fsync of the file and of the folder for the two consensus files only (the per-port records are renamed into place without fsync; consensus.json is the durable commit point)'}. Measured: ${f1(fsyncsPerChunk)} fsyncs a chunk, ${f2(fsyncMsPerCall)} ms per call on the event loop (${pct(med(quorumRuns, (x) => x.probe.fsyncMs / windowMs(x)))} of the window). In the profile the atomic writes take ${pct(atomic.share)} of the main thread, ${f2(perCall('atomic'))} ms per call: ${atomic.parts.map((p) => `${p.label} ${pct(p.share)}`).join(', ')}.${noFsync ? ` With \`fsyncSync\` a no-op, quorum ran ×${f2(gain(noFsync))} against its baseline (ratio ≈ ${f2(ratio * gain(noFsync))}).` : ''}${tmpfs ? ` With the artifacts on tmpfs (nothing patched; every one of those syscalls is cheap there): ×${f2(gain(tmpfs))} (ratio ≈ ${f2(ratio * gain(tmpfs))}).` : ''} ${(atomic.parts.find((p) => p.label.startsWith('`openSync`'))?.share ?? 0) > (atomic.parts.find((p) => p.label === 'fsync of the file')?.share ?? 0) ? 'Creating each fresh temp file (`openSync(tmp, \'wx\')`) now costs more than the fsyncs. ' : ''}Suggested fix: take these writes off the JS thread (the async \`writeFileAtomic\` in the same file runs them on libuv's pool), and make fewer files: one record per run holding the ports' answers, written with the consensus, instead of a file per port.${fsyncsPerChunk > 8 ? ' And fsync once per run, not per file.' : ''}`,
    `What is left is per-call and per-chunk JS work: quorum spends ${f2(qMsPerCall)} ms of thread per call, the bare loop ${f2(bMsPerCall)} ms, and 0.7 allows ${f2(budget)} ms. Per call over the whole profiled process (start-up included, so a little above the window's figure): HTTP client (openai SDK, fetch/undici, SSE) ${f2(perCall('http'))} ms, about the bare loop's whole cost; atomic writes ${f2(perCall('atomic'))} ms; GC ${f2(perCall('gc'))} ms; claims ${f2(perCall('claims'))} ms; span export ${f2(perCall('spans'))} ms; OpenTelemetry bookkeeping ${f2(perCall('otel'))} ms; JSONL appends ${f2(perCall('jsonl'))} ms; the rest (RxJS, recorder, pipeline) ${f2(perCall('rest'))} ms. No single item closes the gap: the file writes first, then spans (a buffered span writer flushed per chunk instead of one \`write(2)\` per span) and the RxJS/recorder plumbing.`,
    `CloudEvent validation (\`makeEvent\` in src/events.ts builds a \`new CloudEvent(…)\` for every event only to validate it; ${PORTS + 3} events a chunk with one round) is ${pct(share('cloudevents').share)} of the profile, ${f2(perCall('cloudevents'))} ms per call.${noCe ? ` Skipped, the what-if run went ×${f2(gain(noCe))} against its baseline${Math.abs(gain(noCe) - 1 / (1 - share('cloudevents').share)) > 0.1 ? `, far from the ×${f2(1 / (1 - share('cloudevents').share))} the profile predicts: the machine's load changed between the two runs (the what-if baselines ranged ${f0(Math.min(...whatIfs.map((w) => callsPerS(w.baseline))))}–${f0(Math.max(...whatIfs.map((w) => callsPerS(w.baseline))))} calls/s), so read the profile's share, not this row` : ''}.` : ''} Small; not the place to start. Span export: a \`SimpleSpanProcessor\` writes every span to traces.jsonl as it ends, one synchronous \`write(2)\` each (${f1(med(quorumRuns, (x) => (x.spans ?? Number.NaN) / x.chunks))} spans a chunk): ${pct(share('spans').share)}. JSONL appends of events and ledger lines (\`JsonlSink.write\`, synchronous by design) ${pct(share('jsonl').share)}.`,
    `Counting pre-pass: the chunker (both passes) is ${pct(share('chunker').share)} of the profile. Spawn → first request takes ${spread(q0.map((x) => x.requests[0]!.at - x.spawnedAt))} ms at ${int(THROUGHPUT_CHUNKS)} chunks${largest ? ` and ${f0(largest.run.requests[0]!.at - largest.run.spawnedAt)} ms at ${int(largest.chunks)}` : ''}, mostly process start-up (module loading is ${pct(share('modules').share)} of the profile; bench/ask.ts measures start-up alone). Not a throughput cost. Top self time in the profile: ${topSelf}.`,
  ];

  const unset = pacing.find((p) => p.rpm === undefined);
  const withRpm = pacing.find((p) => p.rpm !== undefined);
  const pacingFindings = pacing.map((p) => `${plain(p.label)}: ${f2(p.rate)} calls/s against R = ${f0(R)} (${f2(p.rate / R)} R), ${p.limited} of ${p.total} requests answered 429 (${pct(p.limited / p.total)}), at most ${p.perWindowMax} answered calls in one server window (limit ${LIMIT.requests}).`);
  if (unset && unset.rate < HEADROOM * R) {
    pacingFindings.push(
      `Why it stays below 0.95 R (the limiter's target, \`headroom\` 0.95): the limiter spaces grants ${f1(SPACING_MS)} ms apart, and \`Bucket.grant\` (src/batch/rateLimiter.ts) keeps the schedule only when a grant is at most ${f1(CATCH_UP_MS)} ms late (interval × (1 − headroom)). A later one restarts the schedule from now, so its lateness is lost for good. The median gap between arrivals was ${f1(unset.gapMedian)} ms${Math.abs(unset.gapMedian - SPACING_MS) <= 1.5 ? ', on schedule' : ''}, but the mean was ${f1(unset.gapMean)} ms: ${pct(unset.lateShare, 0)} of the gaps were longer than ${f1(SPACING_MS + CATCH_UP_MS)} ms. The child's event loop ran due timers up to ${f0(unset.run.probe.loopDelayMs.max)} ms late (p99 ${f1(unset.run.probe.loopDelayMs.p99)} ms): the loop is blocked during the recorder's synchronous writes and each chunk's gather, and the machine was shared. Suggested fix: a GCRA burst tolerance. Let the schedule lag by up to (1 − headroom) × windowMs in total, not per spacing: no window can then hold more than \`ceiling\` grants, and timer lag is made up instead of lost. Taking the file writes off the event loop also cuts the lag.`,
    );
  }
  // The limiter probe: which resets make one answer collapse a configured --rpm.
  const expected = LIMIT_RPM * HEADROOM;
  const collapsed = r.probe.filter((p) => p.perMinute < 0.5 * expected);
  const probeText = `Limiter probe (src/batch/rateLimiter.ts in the bench process): \`new RateLimiter({ account: { requests: ${LIMIT_RPM}, windowMs: 60000 } })\` learns from one answer with \`X-RateLimit-Limit: ${LIMIT.requests}\`, and then allows ${r.probe.map((p) => `${f0(p.perMinute)}/min when the reset was ${p.resetInMs} ms away`).join(', ')} (expected ${f0(expected)}).`;
  if (withRpm && withRpm.rate < GOALS.pace * R) {
    const allCollapse = collapsed.length === r.probe.length;
    const boundaryOnly = collapsed.length > 0 && collapsed.every((p) => p.resetInMs <= 0);
    pacingFindings.push(
      `**Cause of the \`--rpm ${LIMIT_RPM}\` result** (src/batch/rateLimiter.ts). ${probeText} ${
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
      ? `Peak RSS ${f0(largestRss)} MB at ${int(largest.chunks)} chunks${at1000 && largest !== at1000 ? `, against ${f0(rssMB(at1000.run))} MB at 1,000` : ''}. ${measured10k ? 'Measured at 10,000 chunks (80,000 calls), not extrapolated.' : `10,000 chunks were not measured in this run${r.memoryNotes.length ? ` (${r.memoryNotes.join('; ')})` : ''}. Extrapolated: the largest run's peak RSS plus its live-heap growth (${f1(growth)} MB per 1,000 chunks, counted only if positive) over the missing chunks gives ≈ ${f0(extrapolated)} MB at 10,000. That assumes V8 sizes its heap the same way in a longer run; only a 10,000-chunk run shows it (\`QUORUM_BENCH_BATCH_MEM_BUDGET_S=900\`).`}`
      : 'No memory run.',
    `Flat: ${flat === undefined ? 'not judged (needs a 1,000-chunk run and a larger one)' : flat ? 'yes' : '**no**'}. The criterion: peak RSS at the largest size within 10 % of the 1,000-chunk figure, and the live heap growing ≤ 1 MB per 1,000 chunks.${at1000 && largest && largest !== at1000 ? ` Peak RSS went from ${f0(rssMB(at1000.run))} to ${f0(largestRss)} MB (${pct(largestRss / rssMB(at1000.run) - 1, 0)}), the V8 heap reserved at the peak from ${f0(at1000.heapTotalAtPeakMB)} to ${f0(largest.heapTotalAtPeakMB)} MB, the live heap ${growth <= 1 ? 'not at all' : `by ${f1(growth)} MB per 1,000 chunks`} (${f0(largest.liveEarlyMB)} → ${f0(largest.liveLateMB)} MB in the ${int(largest.chunks)}-chunk run). Peak RSS also varies between runs of the same size: ${spread(quorumRuns.map(rssMB))} MB over the ${quorumRuns.length} throughput runs.` : ''} The live heap is the lowest \`heapUsed\` sample (every ${MEM_SAMPLE_MS} ms) in the second and in the last quarter of the run: the level right after a GC. \`pullMerge\` holds only ${CONCURRENCY} chunks; per chunk the batch keeps a 16-hex id in the ledger's done set.`,
    ...(largest
      ? [
          `What the peak is made of (largest run, highest RSS sample): the V8 heap had reserved ${f0(largest.heapTotalAtPeakMB)} MB, of which ${f0(largest.liveLateMB)} MB is live after a GC. The rest of RSS, ${f0(largest.rssPeakSampleMB - largest.heapTotalAtPeakMB)} MB, is Node itself, code and native memory. A \`node\` that only imports dist/cli.js peaks at ${f0(r.importRssMB)} MB; one that imports only the batch command's implementation (dist/handlers/batch.js) at ${f0(r.batchOnlyRssMB)} MB; bare Node at ${f0(r.bareNodeRssMB)} MB. So ${f0(r.importRssMB - r.batchOnlyRssMB)} MB of every batch's RSS is modules of other commands.${r.importRssMB - r.batchOnlyRssMB > Math.max(10, 0.6 * r.duckdbRssMB) && Number.isFinite(r.duckdbRssMB) ? ` DuckDB's native library is ${f0(r.duckdbRssMB)} MB of it (what importing \`@duckdb/node-api\` adds to bare Node): src/cli.ts imports \`sqlCommand\` and \`reportCommand\` (src/commands/sql.ts, src/commands/report.ts → src/report/generate.ts), which import \`ArtifactsDb\` (src/sql/artifactsDb.ts) statically. Suggested fix: load each command's module in its handler (\`await import(…)\`), or at least \`ArtifactsDb\`. That gives about ${f0(r.importRssMB - r.batchOnlyRssMB)} MB of the ${GOALS.rssMB} MB back, and start-up time too.` : ''} ${growth <= 1 ? `The live heap does not grow with the chunks. The peak is V8 letting its heap grow under a high allocation rate while the heap limit (sized from the machine's memory) is far away, not data kept per chunk.${r.heapCapped.length ? ` With V8's old space capped (\`node ${HEAP_CAP_FLAG}\`): ${r.heapCapped.map((c) => { const plainRun = memory.find((m) => m.chunks === c.chunks); return `${int(c.chunks)} chunks peak at ${f0(rssMB(c.run))} MB instead of ${plainRun ? f0(rssMB(plainRun.run)) : '–'} MB (${f1(callsPerS(c.run))} calls/s instead of ${plainRun ? f1(callsPerS(plainRun.run)) : '–'})`; }).join(', ')}. Suggested fix: run the CLI with a modest old-space cap (a launcher that passes \`${HEAP_CAP_FLAG}\`, or \`NODE_OPTIONS\`), sized well above what the largest allowed context (2 MB) times \`--concurrency\` needs.` : ''}` : `The live heap grows by ${f1(growth)} MB per 1,000 chunks: something is kept per chunk, or the run is too short to tell.`}`,
        ]
      : []),
  ];

  const setup = [
    `The real binary, \`node dist/cli.js batch . --query "…" --panel FILE --out TMP --chunk-tokens ${CHUNK_TOKENS} --rounds 1 --grace=-1 --concurrency ${CONCURRENCY} --json\`, runs as a child process. It talks to the sandbox server (\`startSandboxServer\`), which runs in the bench process. The server has eight simulated models at \`latencyMs: 0\` and \`tokenDelayMs: 0\`; their answers are streamed and share three facts, so every chunk reaches consensus.`,
    `The input is generated Markdown: a heading and a ~31-token paragraph per section. With \`--chunk-tokens ${CHUNK_TOKENS}\` every section is exactly one chunk; the bench checks this against the batch's own count. \`--rounds 1\` makes a chunk 8 calls; the default, two rounds, would make 16. \`--grace=-1\` waits for all 8, so no call is cut.`,
    `The bare loop is a child \`node\` that makes the same streamed chat completions, ${CONCURRENCY * PORTS} at a time (${CONCURRENCY} chunks × ${PORTS} ports), and nothing else. It uses the same \`openai\` SDK client options, and builds its prompts from the same chunks with quorum's own \`buildMessages\`.`,
    `Both rates come from the sandbox's request log: (calls − 1) / (first → last request arrival), so process start-up is not in them; spawn → exit rates are shown too. A tiny \`--import\` preload observes each child. It records peak RSS (\`process.resourceUsage().maxRSS\` at exit), memory samples, CPU, event-loop utilisation and delay, and \`fsyncSync\` calls; in the what-if rows only, it also patches one thing out. Quorum and the bare loop run alternately, ${REPS} pair${REPS === 1 ? '' : 's'}; figures are median (min–max).${overrides.length ? ` Settings for this run: ${overrides.join(', ')}.` : ''}`,
  ].join(' ');

  const markdown = [
    'Measured by `npm run bench` (`bench/batch.ts`, helpers `bench/batchChild.ts`, `bench/batchProfile.ts`); this block is rewritten by that script.',
    '',
    setup,
    '',
    `**Throughput** (goal: quorum ≥ ${GOALS.ratio} × the bare loop's calls/s): ${verdict(tpMet)}, ratio ${f2(ratio)}.`,
    '',
    mdTable(tpHeader, tpRows),
    '',
    '**Quorum runs, per phase:**',
    '',
    mdTable(['', 'median (min–max)'], timelineRows),
    '',
    `**Where the CLI's main thread goes**: \`node --cpu-prof\` of one ${PROFILE_CHUNKS}-chunk batch (${int(profCalls)} calls, same settings, artifacts on ${tmpdir()}; ${f1(callsPerS(profiled))} calls/s while profiled), ${f0(profile.totalMs)} ms of profile from start to exit. Each sample goes to the first row, top down, that has a frame on its stack ("this code and all it calls"), so the rows add up to 100 %. *Per call* divides by the run's calls:`,
    '',
    mdTable(['', 'ms', 'share', 'ms per call'], profRows),
    '',
    ...(whatIfs.length
      ? [
          `**What-if runs** (diagnostics, not goals; src unchanged). Each is a ${int(WHATIF_CHUNKS)}-chunk batch run right after an unchanged baseline of the same size, so the speed-up is read against that baseline. *Ratio ≈* applies the speed-up to the measured ratio. A fsync's cost swings with the machine's other disk traffic, so the last column leaves the sync fsync time out: it shows a change in CPU work on its own:`,
          '',
          mdTable(['quorum batch', 'baseline calls/s', 'what-if calls/s', 'speed-up', 'ratio to bare loop ≈', 'sync fsync ms, whole run', 'thread ms per call outside sync fsyncs'], whatIfRows),
          '',
        ]
      : []),
    `**Pacing** (goal: achieved ≥ ${GOALS.pace} R with ≤ ${pct(GOALS.limited, 0)} of calls answered 429): ${verdict(pacingMet)}. The sandbox limits the whole account to R = ${LIMIT.requests} requests per ${int(LIMIT.windowMs)} ms, ${f0(R)} calls/s. Its window is fixed and starts with the first request after the last window ran out. Every answer carries \`X-RateLimit-Limit/Remaining/Reset\`, and a 429 carries \`Retry-After\`. Each run is ${PACING_CHUNKS} chunks (${PACING_CHUNKS * PORTS} calls), otherwise as above. *Achieved* is (answered calls − 1) / (first → last answered arrival). Quorum retries 429s, so *requests* counts them too. *Gaps* are between successive arrivals after the first window; the limiter aims at ${f1(SPACING_MS)} ms:`,
    '',
    mdTable(['case', 'chunks / consensus', 'requests', 'answered 200', '429', 'achieved calls/s', 'achieved / R', 'answered per window (max / median)', 'gap median / mean, ms', `gaps > ${f1(SPACING_MS + CATCH_UP_MS)} ms`, 'event-loop delay p99 / max, ms', 'goal'], pacingRows),
    '',
    `**Memory** (goal: peak RSS ≤ ${GOALS.rssMB} MB at 10,000 chunks, flat from 1,000 to 10,000). Peak RSS is \`maxRSS\` of the whole child process. The ${int(THROUGHPUT_CHUNKS)}-chunk row is the throughput runs. The memory runs put their artifacts on ${r.memOut}${r.memOut === '/dev/shm' ? ' (tmpfs) to run faster; a file written there is no more in the process\'s RSS than a file on disk' : ''}:`,
    '',
    mdTable(['chunks', 'calls', 'artifacts on', 'peak RSS MB', 'V8 heap reserved at the peak, MB', 'live heap MB (2nd → 4th quarter)', 'live-heap growth, MB / 1,000 chunks', 'calls/s', 'wall s'], memRows),
    '',
    ...(busy
      ? [
          `- **The machine was busy**: the 1-min load average was ${m0.load1.toFixed(1)} at the start and up to ${maxLoad.toFixed(1)} during the runs, above its ${m0.nproc} CPU(s). Other work competed for the CPUs and the disk, so rates are lower and noisier than on an idle machine, and a fsync's cost depends on the other disk traffic. Quorum and the bare loop ran alternately so that both met the same load, but the load was not constant.`,
        ]
      : []),
    `- Throughput goal (≥ ${GOALS.ratio}): ${verdict(tpMet)}. Quorum made ${f1(qRate)} calls/s, the bare loop ${f1(bRate)} calls/s: ratio ${f2(ratio)}.`,
    ...findings.map((f) => `- ${f}`),
    `- Pacing goal: ${verdict(pacingMet)}. ${pacingFindings.join(' ')}`,
    `- Memory goal (≤ ${GOALS.rssMB} MB at 10,000 chunks): ${measured10k ? verdict(rssMet) : `${verdict(rssMet)} by extrapolation, not measured`}. ${memFindings.join(' ')}`,
    `- ${machineLine(m0, endLoad)} Whole benchmark ${totalS.toFixed(0)} s.${r.build.gitAtStart ? ` Commit ${r.build.gitAtStart}${r.build.gitAtEnd !== r.build.gitAtStart ? ` at the start, ${r.build.gitAtEnd} at the end` : ''}.` : ''}${r.build.rebuilt ? ' **dist/ was rebuilt by another process during the run**, so the children may not all have run the same build.' : ''}`,
  ].join('\n');

  const table = [
    textTable(['throughput', 'runs', 'calls', 'calls/s', 'calls/s wall', 'ms/call', 'in flight', 'ELU', 'child CPU', 'sandbox CPU ms', 'RSS MB'], tpRows.map((row) => row.map(plain))),
    '',
    textTable(['quorum phase', ''], timelineRows.map((row) => row.map(plain))),
    '',
    textTable(['profile', 'ms', 'share', 'ms/call'], profRows.map((row) => row.map(plain))),
    '',
    ...(whatIfs.length ? [textTable(['what-if', 'baseline', 'what-if', 'speed-up', 'ratio ≈', 'fsync ms', 'non-fsync ms/call'], whatIfRows.map((row) => row.map(plain))), ''] : []),
    textTable(['pacing', 'chunks/consensus', 'requests', '200', '429', 'calls/s', '/R', 'per window', 'gaps', 'late', 'loop delay', 'goal'], pacingRows.map((row) => row.map(plain))),
    '',
    textTable(['chunks', 'calls', 'out', 'peak RSS MB', 'heap reserved', 'live heap', 'growth', 'calls/s', 'wall s'], memRows.map((row) => row.map(plain))),
    '',
    `throughput ratio ${f2(ratio)} (goal ≥ ${GOALS.ratio}): ${plain(verdict(tpMet))}; pacing: ${plain(verdict(pacingMet))}; memory: ${plain(verdict(rssMet))}${measured10k ? '' : ' (extrapolated)'}${flat === false ? ', not flat' : ''}`,
    machineLine(m0, endLoad),
  ].join('\n');

  return { id: 'batch', heading: 'batch: throughput, pacing, memory', markdown, table };
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
