/**
 * Code that `bench/batch.ts` runs inside its child processes, as source text (so the child is
 * plain `node`, as the CLI is, with no TypeScript loader):
 *
 * - {@link probeArg}: a preload (`node --import data:…`) that only observes the CLI and writes
 *   what it saw to `$QUORUM_BENCH_PROBE` at exit: peak RSS (`process.resourceUsage().maxRSS`),
 *   memory samples over time, CPU time, event-loop utilisation and delay, and every `fsyncSync`
 *   (count and time spent on the event loop). Two what-if switches, for diagnostic rows only:
 *   `QUORUM_BENCH_NO_FSYNC=1` makes `fsyncSync` a no-op, `QUORUM_BENCH_NO_CE_VALIDATION=1`
 *   replaces the cloudevents SDK's `CloudEvent` class (which `makeEvent` constructs only to
 *   validate) by an empty one.
 * - {@link bareLoopSource}: the "bare loop": the same streamed chat completions as quorum's
 *   calls (same `openai` SDK and client options, same prompts built by quorum's own
 *   `buildMessages` from the same chunks, same models in turn), `concurrency` at a time, with
 *   nothing else around them.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const PROBE_SOURCE = `
import fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
const readyAt = performance.timeOrigin + performance.now();
const env = process.env;
const fsyncSync = fs.fsyncSync;
const noFsync = env.QUORUM_BENCH_NO_FSYNC === '1';
let fsyncs = 0, fsyncMs = 0;
fs.fsyncSync = function (fd) {
  const t = performance.now();
  try { return noFsync ? undefined : fsyncSync.call(this, fd); } finally { fsyncs++; fsyncMs += performance.now() - t; }
};
syncBuiltinESMExports();
if (env.QUORUM_BENCH_NO_CE_VALIDATION === '1') {
  // makeEvent builds a CloudEvent only to validate the plain object it writes; an empty class
  // keeps the code path and drops the validation.
  const req = createRequire(env.QUORUM_BENCH_REPO + '/package.json');
  req('cloudevents/dist/event/cloudevent.js').CloudEvent = class CloudEvent { constructor() {} };
}
// How late timers and I/O callbacks run: what a rate limiter's timer suffers.
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const samples = [];
const every = Number(env.QUORUM_BENCH_MEM_MS || 0);
const sample = () => { const m = process.memoryUsage(); samples.push([Date.now(), m.rss, m.heapUsed, m.heapTotal, m.external + m.arrayBuffers]); };
if (every > 0) setInterval(sample, every).unref();
process.on('exit', () => {
  if (every > 0) sample();
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  fs.writeFileSync(env.QUORUM_BENCH_PROBE, JSON.stringify({
    timeOrigin: performance.timeOrigin, readyAt, exitAt: performance.timeOrigin + performance.now(),
    cpuMs: (cpu.user + cpu.system) / 1000, fsyncs, fsyncMs,
    maxRssKB: process.resourceUsage().maxRSS, elu: elu.utilization, samples,
    loopDelayMs: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6, mean: delay.mean / 1e6 },
  }));
});
`;

/** The `--import` argument that loads the probe. */
export function probeArg(): string {
  return `--import=data:text/javascript,${encodeURIComponent(PROBE_SOURCE)}`;
}

/** What the probe writes at exit. Times are epoch ms. */
export interface Probe {
  timeOrigin: number;
  readyAt: number;
  exitAt: number;
  cpuMs: number;
  fsyncs: number;
  fsyncMs: number;
  /** Peak resident set size, KiB (`process.resourceUsage().maxRSS`). */
  maxRssKB: number;
  /** Event-loop utilisation over the whole process life, 0..1. */
  elu: number;
  /** `[epochMs, rss, heapUsed, heapTotal, external + arrayBuffers]`, bytes, every QUORUM_BENCH_MEM_MS. */
  samples: [number, number, number, number, number][];
  /** Event-loop delay (`monitorEventLoopDelay`, 10 ms resolution): how late a due timer runs, ms. */
  loopDelayMs: { p50: number; p99: number; max: number; mean: number };
}

/**
 * The bare loop, for `node --input-type=module -e`. Environment: BARE_BASE_URL, BARE_CALLS,
 * BARE_CONCURRENCY, BARE_FILES (JSON list of input files), BARE_CHUNK_TOKENS, BARE_QUERY,
 * BARE_MODELS (JSON list). Chunks are read before the clock starts. Prints one JSON line:
 * `{ wallMs, calls, ok, callMsSum }`.
 */
export function bareLoopSource(repoRoot: string): string {
  const dist = (p: string) => JSON.stringify(pathToFileURL(resolve(repoRoot, 'dist', p)).href);
  const openai = JSON.stringify(pathToFileURL(resolve(repoRoot, 'node_modules', 'openai', 'index.mjs')).href);
  return `
import OpenAI from ${openai};
import { chunkFile } from ${dist('batch/chunker.js')};
import { buildMessages } from ${dist('models/prompt.js')};
const env = process.env;
const models = JSON.parse(env.BARE_MODELS);
const chunks = [];
for (const file of JSON.parse(env.BARE_FILES)) {
  for await (const c of chunkFile(file, { source: file, maxTokens: Number(env.BARE_CHUNK_TOKENS) })) chunks.push(c);
}
// As createOpenAICall builds it: no SDK retries, the SDK timeout out of the way, quorum's header.
const client = new OpenAI({ baseURL: env.BARE_BASE_URL, apiKey: 'sk-bench', maxRetries: 0, timeout: 86400000, defaultHeaders: { 'X-Title': 'quorum' }, logLevel: 'off' });
const total = Number(env.BARE_CALLS);
let next = 0, ok = 0, callMsSum = 0;
async function worker() {
  for (;;) {
    const i = next++;
    if (i >= total) return;
    const chunk = chunks[Math.floor(i / models.length) % chunks.length];
    const t = performance.now();
    const controller = new AbortController();
    const pending = client.chat.completions.create(
      { model: models[i % models.length], messages: buildMessages({ query: env.BARE_QUERY, context: { source: chunk.source, text: chunk.text } }), stream: true, stream_options: { include_usage: true } },
      { signal: controller.signal },
    );
    await pending.asResponse();
    let text = '';
    for await (const c of await pending) for (const choice of c.choices ?? []) text += choice.delta?.content ?? '';
    callMsSum += performance.now() - t;
    if (text.trim()) ok++;
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: Number(env.BARE_CONCURRENCY) }, worker));
process.stdout.write(JSON.stringify({ wallMs: performance.now() - t0, calls: total, ok, callMsSum }));
`;
}
