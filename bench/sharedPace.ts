/**
 * Issue 14, item 4 — "one account, one pace": 3 worker processes sharing one key against an
 * account limit (the sandbox's fixed-window `rateLimit`) should together achieve ≥ 0.85 of the
 * limit with ≤ 2 % of requests answered 429.
 *
 * Two sides, alternated, RUNS runs each, medians reported:
 * - shared: each process has its own NATS connection and a `SharedPacer` (`--rpm` = the full
 *   limit), the pace shared through the KV bucket `quorum_pace` on one local nats-server;
 * - local: each process has only a local `RateLimiter` configured with the full limit — what
 *   three workers would do without the shared pace (together they ask 3× the limit).
 *
 * Every process calls the sandbox with the real `openai` client through `portCall` (the
 * `rateLimit` operator inside the retry loop), CONCURRENCY calls in flight, as fast as its
 * limiter allows, from a common start time for DURATION_MS (whole windows: the sandbox's fixed
 * window starts at the first request). The sandbox's own request log is the measure: answered
 * 200 within the span / (limit × span), 429s / all requests, and the most requests in any 1 s
 * over the limit's pace per second (a burst a sliding-window server would refuse).
 *
 *   npx tsx bench/sharedPace.ts            # prints a markdown table
 *
 * Needs nats-server (apt-get install nats-server); the child processes are this file run again
 * (`node --import tsx bench/sharedPace.ts child …`).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { lastValueFrom, mergeMap, range, toArray } from 'rxjs';
import { createOpenAICall } from '../src/models/openaiCall.js';
import { abortable } from '../src/operators/abortable.js';
import { portCall } from '../src/pipelines/portCall.js';
import type { Limiter } from '../src/ratelimit/limiter.js';
import { RateLimiter } from '../src/ratelimit/rateLimiter.js';
import { openSharedPacer, PACE_BUCKET } from '../src/queue/sharedPacer.js';
import { startSandboxServer } from '../src/sandbox/server.js';
import type { PanelMember } from '../src/types.js';
import { startNatsServer } from '../test/helpers/natsServer.js';
import { machineInfo, machineLine } from './harness.js';

const LIMIT = { requests: 600, windowMs: 10_000 };
const RPM = (LIMIT.requests * 60_000) / LIMIT.windowMs;
const WORKERS = 3;
const CONCURRENCY = 8;
const DURATION_MS = Number(process.env.PACE_BENCH_MS ?? 20_000);
const RUNS = Number(process.env.PACE_BENCH_RUNS ?? 3);
const MODEL = 'acme/ok:free';
const KEY = 'sk-bench-shared-key';

type Side = 'shared' | 'local';

interface ChildArgs {
  side: Side;
  natsUrl: string;
  baseURL: string;
  startAt: number;
  endAt: number;
}

/** One worker process: calls until `endAt`, then prints its limiter's stats as JSON. */
async function child(args: ChildArgs): Promise<void> {
  const member: PanelMember = { port: 0, model: MODEL, family: 'acme', baseURL: args.baseURL, apiKeyEnv: 'K', timeoutMs: 10_000 };
  const nc = args.side === 'shared' ? await connect({ servers: args.natsUrl }) : undefined;
  const limiter: Limiter = nc
    ? await openSharedPacer(nc, [{ baseURL: args.baseURL, apiKey: KEY, models: [MODEL] }], { rpm: RPM, onWarning: (m) => process.stderr.write(`${m}\n`) })
    : new RateLimiter({ account: LIMIT });
  const call = createOpenAICall({ env: { K: KEY } });
  await new Promise((r) => setTimeout(r, Math.max(0, args.startAt - Date.now())));
  const lanes = await lastValueFrom(
    range(CONCURRENCY).pipe(
      mergeMap(async () => {
        let calls = 0;
        while (Date.now() < args.endAt) {
          await lastValueFrom(
            portCall(member, () => abortable((signal) => call(member, { query: 'q' }, { signal })), { limiter }),
          );
          calls++;
        }
        return calls;
      }),
      toArray(),
    ),
  );
  process.stdout.write(`${JSON.stringify({ calls: lanes.reduce((a, b) => a + b, 0), stats: limiter.stats() })}\n`);
  await nc?.close();
}

interface RunResult {
  side: Side;
  /** Answered 200 within the span, as a fraction of what the limit allows in it. */
  achieved: number;
  /** 429s among all requests the sandbox saw within the span. */
  limited: number;
  requests: number;
  /** Most requests sent in any 1 s, over the limit's pace per second: bursts a sliding-window server would refuse. */
  peak: number;
}

async function runSide(side: Side, natsUrl: string): Promise<RunResult> {
  const sandbox = await startSandboxServer({ scenario: { rateLimit: LIMIT, models: [{ model: MODEL, answer: 'fine' }] } });
  try {
    if (side === 'shared') {
      // Each shared run starts from the configured pace, not from the last run's cuts.
      const nc = await connect({ servers: natsUrl });
      const kv = await new Kvm(nc).create(PACE_BUCKET, { history: 1, ttl: 3_600_000 });
      for await (const k of await kv.keys()) await kv.purge(k);
      await nc.close();
    }
    const startAt = Date.now() + 3000;
    const endAt = startAt + DURATION_MS;
    const self = fileURLToPath(import.meta.url);
    await Promise.all(
      Array.from({ length: WORKERS }, () => {
        const args: ChildArgs = { side, natsUrl, baseURL: sandbox.baseURL, startAt, endAt };
        return new Promise<string>((resolve, reject) => {
          const p = spawn(process.execPath, ['--import', 'tsx', self, 'child', JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          p.stdout.on('data', (d: Buffer) => (out += d.toString()));
          p.on('error', reject);
          p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${side} worker exited ${code}`))));
        });
      }),
    );
    const inSpan = sandbox.requests.filter((r) => r.at >= startAt && r.at < endAt);
    const ok = inSpan.filter((r) => r.status === 200).length;
    const limited = inSpan.filter((r) => r.status === 429).length;
    const allowed = (LIMIT.requests * DURATION_MS) / LIMIT.windowMs;
    const times = inSpan.map((r) => r.at).sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 1000) j++;
      most = Math.max(most, i - j + 1);
    }
    const peak = most / ((LIMIT.requests * 1000) / LIMIT.windowMs);
    return { side, achieved: ok / allowed, limited: inSpan.length ? limited / inSpan.length : 0, requests: inSpan.length, peak };
  } finally {
    await sandbox.close();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

async function main(): Promise<void> {
  const start = machineInfo();
  const nats = await startNatsServer();
  const results: RunResult[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const side of i % 2 === 0 ? (['shared', 'local'] as const) : (['local', 'shared'] as const)) {
        const r = await runSide(side, nats.url);
        results.push(r);
        console.error(`run ${i + 1} ${side}: achieved ${r.achieved.toFixed(3)} of the limit, ${pct(r.limited)} 429, peak 1 s ${r.peak.toFixed(2)} × the limit's pace (${r.requests} requests)`);
      }
    }
  } finally {
    await nats.stop();
  }
  const rows = (['shared', 'local'] as const).map((side) => {
    const rs = results.filter((r) => r.side === side);
    return { side, achieved: rs.map((r) => r.achieved), limited: rs.map((r) => r.limited), peak: rs.map((r) => r.peak) };
  });
  console.log(`\n${WORKERS} worker processes, one key, sandbox limit ${LIMIT.requests} requests / ${LIMIT.windowMs} ms (fixed window), ${CONCURRENCY} calls in flight each, ${DURATION_MS / 1000} s per run, ${RUNS} runs per side alternated; medians (all runs in brackets).\n`);
  console.log('| pacing | achieved / limit | 429s / requests | peak 1 s / limit pace | goal |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const goal = r.side === 'shared' ? (median(r.achieved) >= 0.85 && median(r.limited) <= 0.02 ? 'met (≥ 0.85, ≤ 2 %)' : 'MISSED (≥ 0.85, ≤ 2 %)') : 'reference';
    const label = r.side === 'shared' ? 'SharedPacer over NATS KV (`--rpm` = limit)' : 'local RateLimiter each (limit each)';
    console.log(
      `| ${label} | ${median(r.achieved).toFixed(3)} [${r.achieved.map((x) => x.toFixed(3)).join(', ')}] | ${pct(median(r.limited))} [${r.limited.map(pct).join(', ')}] | ${median(r.peak).toFixed(2)} [${r.peak.map((x) => x.toFixed(2)).join(', ')}] | ${goal} |`,
    );
  }
  console.log(`\n${machineLine(start, loadavg()[0] ?? 0)}`);
}

if (process.argv[2] === 'child') await child(JSON.parse(process.argv[3]!) as ChildArgs);
else await main();
