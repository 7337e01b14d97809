import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { firstValueFrom, lastValueFrom, mergeMap, range, type Subscription, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accountKey, openPaceBucket, openSharedPacer, PACE_BUCKET, type SharedPacer, type SharedPacerOptions, sharedPacerFor } from '../../src/queue/sharedPacer.js';
import { createOpenAICall } from '../../src/models/openaiCall.js';
import { abortable } from '../../src/operators/abortable.js';
import { portCall } from '../../src/pipelines/portCall.js';
import { startSandboxServer } from '../../src/sandbox/server.js';
import type { ModelOutcome, PanelMember } from '../../src/types.js';
import { parsePaceState, type PaceState } from '../../src/queue/paceState.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/natsServer.js';

const BASE = 'https://openrouter.ai/api/v1';
const KEY = 'sk-or-v1-secret-0123456789abcdef';
/** 1200 a minute at headroom 1: one slot every 50 ms. */
const RPM = 1200;
const INTERVAL = 60_000 / RPM;
/**
 * Grants are taken when a timer fires, and a timer may fire late (never early) on a loaded
 * machine, so one grant can come closer than a spacing after a late one. The schedule itself
 * never does; this much lateness is allowed for.
 */
const TIMER_SLACK_MS = 25;

let nats: NatsServer;
const connections: NatsConnection[] = [];

async function pacer(options: SharedPacerOptions & { apiKey?: string; baseURL?: string } = {}): Promise<SharedPacer> {
  const nc = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  connections.push(nc);
  const { apiKey = KEY, baseURL = BASE, ...rest } = options;
  return openSharedPacer(nc, [{ baseURL, apiKey, models: ['m'] }], { rpm: RPM, headroom: 1, ...rest });
}

/** Asks `n` slots at once; resolves with the pacer-clock time each was granted. */
function grants(p: SharedPacer, n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, () => firstValueFrom(p.acquire('m')).then(() => p.now())));
}

async function sharedValue(key: string): Promise<PaceState | undefined> {
  const nc = await connect({ servers: nats.url });
  try {
    const entry = await (await new Kvm(nc).open(PACE_BUCKET)).get(key);
    return entry ? parsePaceState(entry.string()) : undefined;
  } finally {
    await nc.close();
  }
}

describe.skipIf(Boolean(natsSkipReason))(`SharedPacer over NATS JetStream KV${natsSkipReason ? ` (skipped: ${natsSkipReason})` : ''}`, () => {
  beforeEach(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((nc) => nc.close().catch(() => undefined)));
    await nats.stop();
  });

  it('opens the bucket when many workers start at the same moment (one makes it, the others find it)', async () => {
    const ncs = await Promise.all(Array.from({ length: 16 }, () => connect({ servers: nats.url })));
    connections.push(...ncs);
    // Several rounds, each on a new bucket: the race is won or lost by a few microseconds.
    for (let round = 0; round < 10; round++) {
      const buckets = await Promise.all(ncs.map((nc) => openPaceBucket(nc, `quorum_pace_race_${round}`)));
      expect(buckets).toHaveLength(16);
    }
  });

  it('spaces the grants of three workers on one account at the shared pace, starving none', async () => {
    const workers = await Promise.all([pacer(), pacer(), pacer()]);
    const perWorker = await Promise.all(workers.map((w) => grants(w, 8)));
    const merged = perWorker.flat().sort((a, b) => a - b);
    expect(merged).toHaveLength(24);
    const gaps = merged.slice(1).map((t, i) => t - merged[i]!);
    // No burst: every grant at least one spacing after the one before (less timer lateness) ...
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(INTERVAL - TIMER_SLACK_MS);
    // ... and never two spacings' worth in less than two spacings, however the lateness fell.
    for (let i = 2; i < merged.length; i++) expect(merged[i]! - merged[i - 2]!).toBeGreaterThanOrEqual(2 * INTERVAL - TIMER_SLACK_MS);
    // None starved: each worker holds one reservation at a time, so they take turns.
    for (const times of perWorker) {
      const own = [...times].sort((a, b) => a - b);
      for (let i = 1; i < own.length; i++) expect(own[i]! - own[i - 1]!).toBeLessThanOrEqual(6 * INTERVAL + TIMER_SLACK_MS);
    }
    const shared = await sharedValue(workers[0]!.keys[0]!);
    expect(shared?.ratePerMin).toBe(RPM);
  });

  it('pauses every worker when one learns a 429, and cuts the shared rate once for its echoes', async () => {
    const [a, b, c] = await Promise.all([pacer(), pacer(), pacer()]);
    const sent = await Promise.all([a, b, c].map((w) => grants(w, 1).then(([t]) => t!)));
    const key = a!.keys[0]!;

    a!.learn('m', { status: 429, retryAfterMs: 400, sentAt: sent[0]! });
    await a!.settled();
    const paused = await sharedValue(key);
    expect(paused!.pausedUntil).toBeGreaterThan(sent[0]!);
    expect(paused!.ratePerMin).toBe(RPM * 0.75);

    // The others' calls were sent before the cut: their 429s are echoes of the same congestion.
    b!.learn('m', { status: 429, retryAfterMs: 400, sentAt: sent[1]! });
    c!.learn('m', { status: 429, retryAfterMs: 400, sentAt: sent[2]! });
    await Promise.all([b!.settled(), c!.settled()]);
    const after = await sharedValue(key);
    expect(after!.ratePerMin).toBe(RPM * 0.75);
    expect(after!.lastCutAt).toBe(paused!.lastCutAt);

    const [tb, tc] = await Promise.all([grants(b!, 1), grants(c!, 1)]);
    expect(tb![0]).toBeGreaterThanOrEqual(paused!.pausedUntil);
    expect(tc![0]).toBeGreaterThanOrEqual(paused!.pausedUntil);
    // And not together once the pause ends: the cut pace spaces them.
    expect(Math.abs(tb![0]! - tc![0]!)).toBeGreaterThanOrEqual(60_000 / (RPM * 0.75) - TIMER_SLACK_MS);
    expect(b!.stats().rateLimited).toBe(1);
  });

  it('voids a slot reserved before another worker paused the account', async () => {
    // 120 a minute: b's next slot is 500 ms ahead when a's 429 comes in.
    const [a, b] = await Promise.all([pacer({ rpm: 120 }), pacer({ rpm: 120 })]);
    await grants(b!, 1);
    const waiting = grants(b!, 1);
    await b!.settled();
    const reservedFor = b!.paceOf('m')!.slotAt;
    a!.learn('m', { status: 429, retryAfterMs: 800, sentAt: a!.now() });
    await a!.settled();
    const { pausedUntil } = (await sharedValue(a!.keys[0]!))!;
    expect(pausedUntil).toBeGreaterThan(reservedFor);
    const [granted] = await waiting;
    expect(granted).toBeGreaterThanOrEqual(pausedUntil);
  });

  it('stops every worker when one learns that the quota is gone', async () => {
    const [a, b] = await Promise.all([pacer(), pacer()]);
    await Promise.all([grants(a!, 1), grants(b!, 1)]);
    const resetAtMs = a!.now() + 3 * 3600_000;
    a!.learn('m', { status: 429, retryAfterMs: 3 * 3600_000, limit: 50, remaining: 0, resetAtMs });
    expect(a!.exhausted?.resetAtMs).toBe(resetAtMs);
    await a!.settled();
    // b reserves through the shared value and reads the exhaustion there.
    await expect(firstValueFrom(b!.acquire('m'))).rejects.toMatchObject({ name: 'QuotaExhaustedError', resetAtMs });
    expect(b!.exhausted).toBeDefined();
  });

  it('keeps the API key out of NATS: not in any key, value or store file', async () => {
    const [a, b] = await Promise.all([pacer(), pacer()]);
    await Promise.all([grants(a!, 3), grants(b!, 3)]);
    a!.learn('m', { status: 429, retryAfterMs: 10, sentAt: a!.now() });
    b!.learn('m', { status: 200, limit: 600, remaining: 500, resetAtMs: b!.now() + 9000 });
    await Promise.all([a!.settled(), b!.settled()]);

    const nc = await connect({ servers: nats.url });
    const kv = await new Kvm(nc).open(PACE_BUCKET);
    const seen: string[] = [];
    for await (const k of await kv.keys()) {
      seen.push(k);
      const entry = await kv.get(k);
      expect(entry?.string()).not.toContain(KEY);
    }
    await nc.close();
    expect(seen).toEqual([accountKey(BASE, KEY)]);
    expect(seen[0]).toMatch(/^acct_[0-9a-f]{16}$/);
    expect(seen[0]).not.toContain(KEY);
    // Nor anywhere the server wrote to disk.
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
    for (const file of files(nats.storeDir)) expect(readFileSync(file).includes(KEY)).toBe(false);
  });

  it('paces two accounts (two keys, or one key on two providers) apart', async () => {
    const one = await pacer({ rpm: 6 });
    const other = await pacer({ rpm: 6, apiKey: 'sk-other' });
    const elsewhere = await pacer({ rpm: 6, baseURL: 'https://api.example.com/v1' });
    expect(new Set([one, other, elsewhere].map((p) => p.keys[0])).size).toBe(3);
    await grants(one, 1);
    // One's next slot is 10 s away; the other accounts' first slots do not wait for it.
    let subscription: Subscription | undefined;
    try {
      subscription = one.acquire('m').subscribe();
      await one.settled();
      const oneNext = one.paceOf('m')!.slotAt;
      const [[t1], [t2]] = await Promise.all([grants(other, 1), grants(elsewhere, 1)]);
      expect(t1).toBeLessThan(oneNext);
      expect(t2).toBeLessThan(oneNext);
    } finally {
      subscription?.unsubscribe();
    }
  });

  it('keeps granting while nats-server restarts mid-run', async () => {
    const workers = await Promise.all([pacer(), pacer(), pacer()]);
    const runs = workers.map((w) => grants(w, 12));
    await grants(workers[0]!, 1);
    await nats.restart();
    const perWorker = await Promise.all(runs);
    expect(perWorker.flat()).toHaveLength(36);
    // Back on the shared value after the restart: a fresh grant goes through NATS again.
    await grants(workers[1]!, 1);
    const shared = await sharedValue(workers[1]!.keys[0]!);
    expect(shared!.count).toBeGreaterThan(0);
  }, 30_000);

  it('paces on alone at the last known rate when NATS stays down, and says so once', async () => {
    const warnings: string[] = [];
    const w = await pacer({ onWarning: (m) => warnings.push(m), fallbackAfterMs: 300, opTimeoutMs: 200 });
    await grants(w, 2);
    await nats.stop();
    const times = (await grants(w, 6)).sort((x, y) => x - y);
    expect(times).toHaveLength(6);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(INTERVAL - TIMER_SLACK_MS);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^NATS has not answered for \d+ s: pacing acct_[0-9a-f]{16} on this worker alone/);
    expect(warnings[0]).not.toContain(KEY);
  }, 30_000);

  it('does not wait at all with no limit known, and learns one from a 429', async () => {
    const nc = await connect({ servers: nats.url });
    connections.push(nc);
    const w = await openSharedPacer(nc, [{ baseURL: 'http://127.0.0.1:11434/v1', apiKey: undefined, models: ['m'] }], {});
    const times = await grants(w, 5);
    // No spacing: every slot was "now" when reserved, none was set ahead.
    expect(w.paceOf('m')!.ratePerMin).toBeNull();
    expect(w.paceOf('m')!.slotAt).toBeLessThanOrEqual(Math.max(...times));
    w.learn('m', { status: 429, limit: 30, remaining: 0, resetAtMs: w.now() + 2000, sentAt: times[4]! });
    await w.settled();
    const shared = await sharedValue(w.keys[0]!);
    // 30 per 2 s is 900 a minute, less the 5 % headroom.
    expect(shared!.ceilingPerMin).toBe(900);
    expect(shared!.ratePerMin).toBeCloseTo(855);
    expect(shared!.pausedUntil).toBeGreaterThanOrEqual(times[4]!);
  });

  it('with no limit known, writes the shared value about once a second, not once a call, and still counts every call', async () => {
    const nc = await connect({ servers: nats.url });
    connections.push(nc);
    const w = await openSharedPacer(nc, [{ baseURL: 'http://127.0.0.1:11434/v1', apiKey: undefined, models: ['m'] }], {});
    await grants(w, 200);
    await w.settled();
    const kv = await new Kvm(nc).open(PACE_BUCKET);
    const entry = await kv.get(w.keys[0]!);
    // 200 calls in well under a few seconds: a handful of writes (one per second, one at the end), not 200.
    expect(entry!.revision).toBeLessThan(20);
    expect(parsePaceState(entry!.string()).count).toBe(200);
  });

  it('keeps two workers sharing a key under the sandbox account limit, through the real client and portCall', async () => {
    const sandbox = await startSandboxServer({ scenario: { rateLimit: { requests: 10, windowMs: 1000 }, models: [{ model: 'acme/ok', answer: 'fine' }] } });
    try {
      const member: PanelMember = { port: 0, model: 'acme/ok', family: 'acme', baseURL: sandbox.baseURL, apiKeyEnv: 'K', timeoutMs: 5000 };
      const env = { K: 'sk-sandbox' };
      const workers = await Promise.all(
        [0, 1].map(async () => {
          const nc = await connect({ servers: nats.url });
          connections.push(nc);
          // 10 a second, the server's limit; the headroom leaves room for a late timer at a window's edge.
          return sharedPacerFor(nc, { members: [member] }, { env, rpm: 600, headroom: 0.8 });
        }),
      );
      const call = createOpenAICall({ env });
      const run = (limiter: SharedPacer): Promise<ModelOutcome[]> =>
        lastValueFrom(range(12).pipe(mergeMap(() => portCall(member, () => abortable((signal) => call(member, { query: 'q' }, { signal })), { limiter }), 3), toArray()));
      const outcomes = (await Promise.all(workers.map(run))).flat();
      expect(outcomes.filter((o) => o.ok)).toHaveLength(24);
      expect(sandbox.requests.map((r) => r.status).filter((status) => status !== 200)).toEqual([]);
    } finally {
      await sandbox.close();
    }
  });

  it('builds one shared pace per account a panel calls, with the free-tier pace on OpenRouter', async () => {
    const nc = await connect({ servers: nats.url });
    connections.push(nc);
    const m = (model: string, baseURL: string, apiKeyEnv: string): PanelMember => ({ port: 0, model, family: 'x', baseURL, apiKeyEnv, timeoutMs: 1000 });
    const p = await sharedPacerFor(
      nc,
      { members: [m('a/x:free', BASE, 'OR'), m('b/y:free', BASE, 'OR'), m('c/z', 'http://127.0.0.1:11434/v1', 'NONE')] },
      { env: { OR: KEY } },
    );
    expect(p.keys).toEqual([accountKey(BASE, KEY), accountKey('http://127.0.0.1:11434/v1', undefined)]);
    expect(p.paceOf('b/y:free')!.ceilingPerMin).toBe(20);
    await grants(p, 1);
    expect((await sharedValue(p.keys[0]!))!.ceilingPerMin).toBe(20);
  });
});
