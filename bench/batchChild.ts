/**
 * Code that `bench/batch.ts` runs inside its child processes, as source text (so the child is
 * plain `node`, as the CLI is, with no TypeScript loader):
 *
 * - {@link probeArg}: a preload (`node --import data:…`) that only observes the CLI and writes
 *   what it saw to `$QUORUM_BENCH_PROBE` at exit: peak RSS (`process.resourceUsage().maxRSS`),
 *   memory and CPU samples over time, CPU time (user + system, all threads), event-loop
 *   utilisation and delay, synchronous writes and syncs made on the event loop (`writeSync`,
 *   `fsyncSync`, `fdatasyncSync`: count and time), and the asynchronous appends and syncs the
 *   run-log writer hands to libuv's pool (`fs.write`, `fs.fdatasync`: count, and for fdatasync
 *   the time from call to callback). It wraps those functions to count them and changes nothing.
 * - {@link bareFetchSource}: the "bare fetch loop": plain `fetch` streaming the same chat
 *   completions as quorum's calls (same request bodies: same models in turn, same prompts built
 *   by quorum's own `buildMessages` from the same chunks), `concurrency` at a time, reading the
 *   SSE stream and joining the content deltas, with nothing else around them.
 * - {@link bareSdkSource}: the same loop through the `openai` SDK with quorum's client options
 *   (a second reference: what the SDK itself costs).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const PROBE_SOURCE = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
const readyAt = performance.timeOrigin + performance.now();
const env = process.env;
const io = { writeSync: [0, 0], fsyncSync: [0, 0], fdatasyncSync: [0, 0], write: [0, 0], fdatasync: [0, 0] };
// Own symbol properties (util.promisify's custom result names for fs.write) go to the wrapper too.
const wrap = (name, make) => {
  const original = fs[name];
  const wrapper = make(original, io[name]);
  for (const s of Object.getOwnPropertySymbols(original)) wrapper[s] = original[s];
  fs[name] = wrapper;
};
for (const name of ['writeSync', 'fsyncSync', 'fdatasyncSync']) {
  wrap(name, (original, count) => function (...args) {
    const t = performance.now();
    try { return original.apply(this, args); } finally { count[0]++; count[1] += performance.now() - t; }
  });
}
wrap('write', (original, count) => function (...args) { count[0]++; return original.apply(this, args); });
wrap('fdatasync', (original, count) => function (fd, callback) {
  const t = performance.now();
  count[0]++;
  return original.call(this, fd, (...results) => { count[1] += performance.now() - t; callback(...results); });
});
syncBuiltinESMExports();
// How late timers and I/O callbacks run: what a rate limiter's timer suffers.
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const samples = [];
const every = Number(env.QUORUM_BENCH_MEM_MS || 0);
const sample = () => {
  const m = process.memoryUsage();
  const c = process.cpuUsage();
  samples.push([Date.now(), m.rss, m.heapUsed, m.heapTotal, m.external + m.arrayBuffers, (c.user + c.system) / 1000]);
};
if (every > 0) {
  sample();
  setInterval(sample, every).unref();
}
process.on('exit', () => {
  if (every > 0) sample();
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const counts = JSON.stringify(io);
  fs.writeFileSync(env.QUORUM_BENCH_PROBE, JSON.stringify({
    timeOrigin: performance.timeOrigin, readyAt, exitAt: performance.timeOrigin + performance.now(),
    cpuMs: (cpu.user + cpu.system) / 1000, userMs: cpu.user / 1000, systemMs: cpu.system / 1000, io: JSON.parse(counts),
    maxRssKB: process.resourceUsage().maxRSS, elu: elu.utilization, samples,
    loopDelayMs: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6, mean: delay.mean / 1e6 },
  }));
});
`;

/** The `--import` argument that loads the probe. */
export function probeArg(): string {
  return `--import=data:text/javascript,${encodeURIComponent(PROBE_SOURCE)}`;
}

/** `[count, ms]`: for the sync calls, time on the event loop; for `fdatasync`, call → callback; for `write`, no time. */
type IoCount = [number, number];

/** What the probe writes at exit. Times are epoch ms. */
export interface Probe {
  timeOrigin: number;
  readyAt: number;
  exitAt: number;
  /** CPU time of the whole process (user + system, every thread), ms. */
  cpuMs: number;
  userMs: number;
  systemMs: number;
  io: { writeSync: IoCount; fsyncSync: IoCount; fdatasyncSync: IoCount; write: IoCount; fdatasync: IoCount };
  /** Peak resident set size, KiB (`process.resourceUsage().maxRSS`). */
  maxRssKB: number;
  /** Event-loop utilisation over the whole process life, 0..1. */
  elu: number;
  /** `[epochMs, rss, heapUsed, heapTotal, external + arrayBuffers, cpuMs]` (bytes; CPU so far, ms), at start and every QUORUM_BENCH_MEM_MS. */
  samples: [number, number, number, number, number, number][];
  /** Event-loop delay (`monitorEventLoopDelay`, 10 ms resolution): how late a due timer runs, ms. */
  loopDelayMs: { p50: number; p99: number; max: number; mean: number };
}

/**
 * Shared by both loops: the chunks, read before the clock starts, exactly as `quorum batch`
 * makes them (`chunkFile` with the same options; the source is the file's path relative to the
 * input folder, with the chunk's heading as runBatch adds it), and each call's request params.
 */
function prelude(repoRoot: string): string {
  const dist = (p: string) => JSON.stringify(pathToFileURL(resolve(repoRoot, 'dist', p)).href);
  return `
import { relative, sep } from 'node:path';
import { chunkFile } from ${dist('batch/chunker.js')};
import { buildMessages } from ${dist('models/prompt.js')};
const env = process.env;
const models = JSON.parse(env.BARE_MODELS);
const chunks = [];
for (const file of JSON.parse(env.BARE_FILES)) {
  const source = relative(env.BARE_ROOT, file).split(sep).join('/');
  for await (const c of chunkFile(file, { source, maxTokens: Number(env.BARE_CHUNK_TOKENS), overlapTokens: 0 })) {
    chunks.push({ source: c.heading ? c.source + ' (' + c.heading + ')' : c.source, text: c.text });
  }
}
const total = Number(env.BARE_CALLS);
// Call i: chunk i / 8, port i % 8, as a batch asks every port about each chunk.
const paramsFor = (i) => ({ model: models[i % models.length], messages: buildMessages({ query: env.BARE_QUERY, context: chunks[Math.floor(i / models.length) % chunks.length] }) });
let next = 0, ok = 0, callMsSum = 0;
async function run(call) {
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t = performance.now();
      const text = await call(i);
      callMsSum += performance.now() - t;
      if (text.trim()) ok++;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Number(env.BARE_CONCURRENCY) }, worker));
  process.stdout.write(JSON.stringify({ wallMs: performance.now() - t0, calls: total, ok, callMsSum }));
}
`;
}

/**
 * The bare fetch loop, for `node --input-type=module -e`. Environment: BARE_BASE_URL, BARE_CALLS,
 * BARE_CONCURRENCY, BARE_FILES (JSON list of input files), BARE_ROOT (the input folder),
 * BARE_CHUNK_TOKENS, BARE_QUERY, BARE_MODELS (JSON list). Prints one JSON line:
 * `{ wallMs, calls, ok, callMsSum }`.
 */
export function bareFetchSource(repoRoot: string): string {
  return `${prelude(repoRoot)}
const url = env.BARE_BASE_URL.replace(/\\/$/, '') + '/chat/completions';
const headers = { 'Content-Type': 'application/json', Authorization: 'Bearer sk-bench', 'X-Title': 'quorum' };
const decoder = new TextDecoder();
await run(async (i) => {
  // The body as the SDK sends it for quorum: its params, then stream and stream_options.
  const body = JSON.stringify({ ...paramsFor(i), stream: true, stream_options: { include_usage: true } });
  const res = await fetch(url, { method: 'POST', headers, body });
  if (!res.ok) throw new Error('HTTP ' + res.status);
  let buffer = '', text = '';
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    for (let end = buffer.indexOf('\\n\\n'); end >= 0; end = buffer.indexOf('\\n\\n')) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        for (const choice of JSON.parse(line.slice(6)).choices ?? []) text += choice.delta?.content ?? '';
      }
    }
  }
  return text;
});
`;
}

/** The same loop through the `openai` SDK, with quorum's client options (createOpenAICall). Same environment and output. */
export function bareSdkSource(repoRoot: string): string {
  const openai = JSON.stringify(pathToFileURL(resolve(repoRoot, 'node_modules', 'openai', 'index.mjs')).href);
  return `import OpenAI from ${openai};
${prelude(repoRoot)}
// As createOpenAICall builds it: no SDK retries, the SDK timeout out of the way, quorum's header.
const client = new OpenAI({ baseURL: env.BARE_BASE_URL, apiKey: 'sk-bench', maxRetries: 0, timeout: 86400000, defaultHeaders: { 'X-Title': 'quorum' }, logLevel: 'off' });
await run(async (i) => {
  const pending = client.chat.completions.create({ ...paramsFor(i), stream: true, stream_options: { include_usage: true } }, { signal: new AbortController().signal });
  await pending.asResponse();
  let text = '';
  for await (const c of await pending) for (const choice of c.choices ?? []) text += choice.delta?.content ?? '';
  return text;
});
`;
}
