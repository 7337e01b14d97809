/**
 * One account, one pace: workers on many machines that call a provider with the same key share
 * that key's rate limit through NATS. Each account's pace (paceState.ts) lives in one entry of
 * the JetStream KV bucket `quorum_pace`; a worker takes a slot with a compare-and-set on it
 * (`kv.update(key, value, revision)`, retried on a revision conflict), so all workers together
 * never exceed the pace, and a 429 one of them gets pauses and slows them all.
 *
 * Round trips: one CAS to reserve a slot; when the slot lies ahead, one read when it comes, to
 * see a pause another worker wrote meanwhile. Successes are counted locally and applied in the
 * next CAS rather than written one by one. Nothing polls.
 *
 * Clocks: slots and pauses are epoch ms on the clock of whichever worker wrote them, so workers
 * on different machines need synchronized clocks (NTP). A worker whose clock runs d ms behind
 * the others takes its slots d ms late, and one d ms ahead takes them d ms early (a burst of d
 * ms against the others); NTP keeps d to a few ms, well inside the headroom's slack.
 *
 * When NATS is unreachable (a server restart), a CAS is retried with a short backoff; after
 * `fallbackAfterMs` the pacer paces locally at the last known rate, says so once through
 * `onWarning`, and goes back to the shared pace once NATS answers again. It never waits for
 * NATS forever.
 */
import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { JetStreamApiError } from '@nats-io/jetstream';
import { Observable, type SchedulerLike, type Subscriber, asyncScheduler, concatMap } from 'rxjs';
import type { Limiter } from '../ratelimit/limiter.js';
import { QuotaExhaustedError, RateLimiter, type RateLimiterStats, type RateLimitInfo } from '../ratelimit/rateLimiter.js';
import { OPENROUTER_FREE_RPM } from '../ratelimit/limiterFor.js';
import type { Panel } from '../types.js';
import { adoptCeiling, emptyPaceState, intervalOf, learnInto, type PaceState, type PaceTuning, parsePaceState, reserveSlot, speedUp } from './paceState.js';

/** The KV bucket every worker on a NATS server shares. */
export const PACE_BUCKET = 'quorum_pace';

/**
 * The KV key of an account: `acct_` and the first 16 hex digits of sha256(host, key). The key
 * itself never leaves the process; workers with the same key on the same provider share one entry.
 */
export function accountKey(baseURL: string, apiKey: string | undefined): string {
  let host: string;
  try {
    host = new URL(baseURL).host.toLowerCase();
  } catch {
    host = baseURL;
  }
  return `acct_${createHash('sha256').update(`${host}\n${apiKey ?? ''}`).digest('hex').slice(0, 16)}`;
}

/** One provider account and the models called through it. */
export interface PacedAccount {
  baseURL: string;
  /** Hashed into the KV key, never stored or sent. */
  apiKey: string | undefined;
  models: string[];
}

export interface SharedPacerOptions {
  /** Account-wide calls per minute (`--rpm`); lowers the shared ceiling, never raises it. */
  rpm?: number;
  /** Each model's calls per minute (`--model-rpm`): paced in this process only. */
  modelRpm?: number;
  /** As `RateLimiterOptions.headroom`. Default 0.95. */
  headroom?: number;
  /** As `RateLimiterOptions.quotaResetThresholdMs`. Default 15 minutes. */
  quotaResetThresholdMs?: number;
  /** Clock (epoch ms: slots are compared across workers) and timer. Default asyncScheduler. */
  scheduler?: SchedulerLike;
  /** Told once when NATS stays unreachable and the pacer falls back to local pacing, and once when it is back. */
  onWarning?: (message: string) => void;
  /** Bucket name. Default {@link PACE_BUCKET}. */
  bucket?: string;
  /** One KV request's timeout, ms. Default 1000. */
  opTimeoutMs?: number;
  /** NATS unreachable this long (ms) → local pacing. Default 5000. */
  fallbackAfterMs?: number;
}

/** Entries untouched this long are dropped: a later run starts from the configured pace, not from an old cut. */
const ENTRY_TTL_MS = 3_600_000;
const BACKOFF_MS = [50, 100, 200, 400, 800, 1000];
/** While falling back, NATS is tried again at most this often (a try costs up to `opTimeoutMs`). */
const RETRY_SHARED_EVERY_MS = 2000;

function isConflict(error: unknown): boolean {
  if (error instanceof JetStreamApiError && error.code === 10071) return true;
  return error instanceof Error && /wrong last sequence/i.test(error.message);
}

const encoder = new TextEncoder();
/** With no limit known, how often a worker counts its calls into the shared value and reads it back. */
const SYNC_UNLIMITED_MS = 1_000;

interface Waiter {
  subscriber: Subscriber<void>;
  since: number;
}

/** The pace of one account, shared through one KV entry. */
class AccountPace {
  /** The last value read or written, and its revision (0: unknown, read before writing). */
  private state: PaceState = emptyPaceState();
  private revision = 0;
  private readonly queue = new Set<Waiter>();
  private running = false;
  /** A slot reserved and not yet used, and when it was reserved. */
  private reserved: { slot: number; at: number } | undefined;
  private successes = 0;
  /** This worker's grant times within the last minute: for `remaining` counts. */
  private readonly grants: number[] = [];
  /** KV writes in order: learning and reserving share `state`, and one at a time conflicts less. */
  private chain: Promise<unknown> = Promise.resolve();
  private unreachableSince: number | undefined;
  private fallback = false;
  private lastSharedTry = -Infinity;

  constructor(
    readonly key: string,
    private readonly kv: KV,
    private readonly pacer: SharedPacer,
    private readonly configuredPerMin: number | undefined,
  ) {
    if (configuredPerMin !== undefined) adoptCeiling(this.state, configuredPerMin, pacer.tuning);
  }

  get shared(): PaceState {
    return this.state;
  }

  acquire(): Observable<void> {
    return new Observable<void>((subscriber) => {
      if (this.pacer.exhausted) {
        subscriber.error(this.pacer.exhausted);
        return undefined;
      }
      const waiter: Waiter = { subscriber, since: this.pacer.now() };
      this.queue.add(waiter);
      this.run();
      return () => {
        this.queue.delete(waiter);
      };
    });
  }

  learn(info: RateLimitInfo): void {
    const now = this.pacer.now();
    const grantsSince = info.sentAt !== undefined ? this.grants.filter((t) => t > info.sentAt!).length : 0;
    if (info.status !== undefined && info.status >= 200 && info.status < 400) this.successes += 1;
    // Tried on a copy first: a quota gone stops this worker at once, and an answer that teaches
    // nothing new (most repeat what is known) costs no write; a success alone rides along with
    // the next reservation.
    const before = JSON.stringify(this.state);
    const trial = structuredClone(this.state);
    const outcome = learnInto(trial, now, info, grantsSince, this.pacer.tuning);
    if (outcome.exhausted) this.pacer.exhaust(outcome.exhausted.resetAtMs);
    else if (JSON.stringify(trial) === before) return;
    // Written even once exhausted: the other workers must stop too.
    void this.write((s) => {
      learnInto(s, now, info, grantsSince, this.pacer.tuning);
    }, true);
  }

  /** Unlimited grants not yet counted in the shared value; `syncSoon` adds them, once a second at most. */
  private uncounted = 0;
  private lastSync = -Infinity;

  private syncSoon(now: number): void {
    if (now - this.lastSync < SYNC_UNLIMITED_MS) return;
    this.lastSync = now;
    // Taken out before the write: a conflict re-applies the step to a fresh copy, with the same n.
    const n = this.uncounted;
    this.uncounted = 0;
    void this.write((s) => {
      const span = s.windowMs ?? 60_000;
      if (s.countSince === 0 || now - s.countSince >= span) {
        s.countSince = now;
        s.count = 0;
      }
      s.count += n;
    });
  }

  /** Every KV write this account has queued, settled (the calls not yet counted, counted first). */
  settled(): Promise<void> {
    if (this.uncounted > 0) {
      this.lastSync = -Infinity;
      this.syncSoon(this.pacer.now());
    }
    return this.chain.then(() => undefined);
  }

  failAll(error: Error): void {
    const waiting = [...this.queue];
    this.queue.clear();
    for (const waiter of waiting) waiter.subscriber.error(error);
  }

  /** Hands out slots while calls wait: one reservation at a time, so the worker holds at most one future slot. */
  private run(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.queue.size > 0 && !this.pacer.exhausted) this.run();
    });
  }

  private async loop(): Promise<void> {
    while (this.queue.size > 0 && !this.pacer.exhausted) {
      let now = this.pacer.now();
      if (this.state.ratePerMin === null && this.state.pausedUntil <= now && !this.reserved) {
        // No limit known to any worker: nothing to space, so no write per call (it cost a third of
        // a worker's CPU per call). The calls are counted into the shared value, and the value
        // read back, at most once a second: a limit or pause another worker learns reaches this
        // one within that.
        const next = this.queue.values().next().value!;
        this.queue.delete(next);
        this.grants.push(now);
        while (this.grants.length > 0 && this.grants[0]! < now - 60_000) this.grants.shift();
        this.uncounted += 1;
        this.pacer.counted(now - next.since);
        next.subscriber.next();
        next.subscriber.complete();
        this.syncSoon(now);
        continue;
      }
      // A reservation left over from a call that went away: still good within one spacing.
      if (this.reserved && this.reserved.slot + Math.max(intervalOf(this.state), 1) < now) this.reserved = undefined;
      if (!this.reserved) {
        // Reserved on the clock of the moment the write is applied: a write that took long (NATS
        // away) must not hand out a slot already past, which the next would follow at once.
        const reserved = await this.write((s) => {
          const at = this.pacer.now();
          return { slot: reserveSlot(s, at), at };
        });
        if (reserved === undefined) continue;
        this.reserved = reserved;
      }
      const { slot, at } = this.reserved;
      if (slot > this.pacer.now()) await this.pacer.sleepUntil(slot);
      if (this.pacer.exhausted) return;
      if (this.queue.size === 0) return;
      if (slot > at) {
        // Waited: another worker may have paused the account since the reservation (or, NATS
        // away, this one did: the local copy then holds the pause).
        const fresh = (await this.read()) ?? this.state;
        if (fresh.pausedUntil > this.pacer.now() && fresh.pausedUntil > slot) {
          this.reserved = undefined;
          continue;
        }
        if (this.pacer.exhausted) return;
      }
      const next = this.queue.values().next().value;
      if (!next) return;
      this.reserved = undefined;
      this.queue.delete(next);
      now = this.pacer.now();
      this.grants.push(now);
      while (this.grants.length > 0 && this.grants[0]! < now - 60_000) this.grants.shift();
      this.pacer.counted(now - next.since);
      next.subscriber.next();
      next.subscriber.complete();
    }
  }

  /**
   * Applies `step` to the freshest shared value and writes it with a compare-and-set, retried on
   * a conflict; returns the step's result. NATS unreachable past `fallbackAfterMs`: applies it to
   * the local copy only. Undefined only when the pacer is exhausted meanwhile.
   */
  private write<R>(step: (s: PaceState) => R, evenIfExhausted = false): Promise<R | undefined> {
    const result = this.chain.then(() => this.cas(step, evenIfExhausted));
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async cas<R>(step: (s: PaceState) => R, evenIfExhausted: boolean): Promise<R | undefined> {
    let attempt = 0;
    for (;;) {
      if (this.pacer.exhausted && !evenIfExhausted) return undefined;
      if (this.fallback && this.pacer.now() - this.lastSharedTry < RETRY_SHARED_EVERY_MS) return this.applyLocally(step);
      this.lastSharedTry = this.pacer.now();
      try {
        if (this.revision === 0) await this.refresh();
        const next = structuredClone(this.state);
        if (this.configuredPerMin !== undefined) adoptCeiling(next, this.configuredPerMin, this.pacer.tuning);
        const used = this.successes;
        speedUp(next, used, this.pacer.tuning);
        const result = step(next);
        const payload = encoder.encode(JSON.stringify(next));
        const revision = await this.pacer.timed(this.revision === 0 ? this.kv.create(this.key, payload) : this.kv.update(this.key, payload, this.revision));
        this.state = next;
        this.revision = revision;
        this.successes -= used;
        this.reachable();
        return result;
      } catch (error) {
        this.revision = 0;
        if (isConflict(error)) {
          // Another worker wrote first: read its value and go again (a bounded number of times in a row).
          if (++attempt < 100) continue;
        }
        if (this.unreachable()) return this.applyLocally(step);
        await this.pacer.sleep(BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)]!);
      }
    }
  }

  /** Reads the shared value (undefined when NATS does not answer: the local copy stands). */
  private async read(): Promise<PaceState | undefined> {
    if (this.fallback) return undefined;
    try {
      await this.refresh();
      this.reachable();
      return this.state;
    } catch {
      this.revision = 0;
      this.unreachable();
      return undefined;
    }
  }

  private async refresh(): Promise<void> {
    const entry = await this.pacer.timed(this.kv.get(this.key));
    if (entry && entry.operation === 'PUT') {
      this.state = parsePaceState(entry.string());
      this.revision = entry.revision;
    } else {
      // Absent (create), or deleted or expired (update on the marker's revision): start from this worker's configuration.
      this.state = emptyPaceState();
      if (this.configuredPerMin !== undefined) adoptCeiling(this.state, this.configuredPerMin, this.pacer.tuning);
      this.revision = entry ? entry.revision : 0;
    }
    if (this.state.exhaustedUntil > this.pacer.now()) this.pacer.exhaust(this.state.exhaustedUntil);
  }

  private applyLocally<R>(step: (s: PaceState) => R): R {
    speedUp(this.state, this.successes, this.pacer.tuning);
    this.successes = 0;
    return step(this.state);
  }

  /** True once NATS has been unreachable for `fallbackAfterMs`: pace locally from now on. */
  private unreachable(): boolean {
    const now = this.pacer.now();
    this.unreachableSince ??= now;
    if (!this.fallback && now - this.unreachableSince >= this.pacer.fallbackAfterMs) {
      this.fallback = true;
      this.pacer.warn(
        `NATS has not answered for ${Math.round((now - this.unreachableSince) / 1000)} s: pacing ${this.key} on this worker alone at its last known rate until it is back.`,
      );
    }
    return this.fallback;
  }

  private reachable(): void {
    this.unreachableSince = undefined;
    if (this.fallback) {
      this.fallback = false;
      this.pacer.warn(`NATS answers again: ${this.key} is paced with the other workers again.`);
    }
  }
}

/**
 * A {@link Limiter} whose account-wide pace is shared with every worker using the same
 * provider key through one NATS server; per-model limits stay local to this worker. Build it
 * with {@link openSharedPacer} or {@link sharedPacerFor}.
 */
export class SharedPacer implements Limiter {
  readonly quotaResetThresholdMs: number;
  readonly tuning: PaceTuning;
  readonly fallbackAfterMs: number;
  private readonly scheduler: SchedulerLike;
  private readonly opTimeoutMs: number;
  private readonly onWarning: ((message: string) => void) | undefined;
  private readonly byModel = new Map<string, AccountPace>();
  private readonly accounts: AccountPace[] = [];
  /** Per-model limits, and models of no listed account: paced in this process only. */
  private readonly local: RateLimiter | undefined;
  private exhaustedBy: QuotaExhaustedError | undefined;
  private counters = { granted: 0, waitedMs: 0, rateLimited: 0 };
  private waitingNow = 0;
  private warned = new Set<string>();

  /** Prefer {@link openSharedPacer} or {@link pacerForPanel}: `kv` is the bucket {@link openPaceBucket} opens. */
  constructor(kv: KV, accounts: PacedAccount[], options: SharedPacerOptions = {}) {
    const { headroom = 0.95, quotaResetThresholdMs = 15 * 60_000, scheduler = asyncScheduler, opTimeoutMs = 1000, fallbackAfterMs = 5000 } = options;
    if (options.rpm !== undefined && !(options.rpm > 0)) throw new RangeError(`Expected rpm to be a positive number, got ${options.rpm}`);
    if (!(headroom > 0 && headroom <= 1)) throw new RangeError(`Expected headroom to be in (0, 1], got ${headroom}`);
    this.quotaResetThresholdMs = quotaResetThresholdMs;
    this.tuning = { headroom, quotaResetThresholdMs };
    this.fallbackAfterMs = fallbackAfterMs;
    this.scheduler = scheduler;
    this.opTimeoutMs = opTimeoutMs;
    this.onWarning = options.onWarning;
    const byKey = new Map<string, AccountPace>();
    for (const account of accounts) {
      const key = accountKey(account.baseURL, account.apiKey);
      let pace = byKey.get(key);
      if (!pace) {
        pace = new AccountPace(key, kv, this, options.rpm);
        byKey.set(key, pace);
        this.accounts.push(pace);
      }
      for (const model of account.models) if (!this.byModel.has(model)) this.byModel.set(model, pace);
    }
    this.local =
      options.modelRpm !== undefined
        ? new RateLimiter({ perModel: { requests: options.modelRpm, windowMs: 60_000 }, headroom, quotaResetThresholdMs, scheduler })
        : undefined;
  }

  now(): number {
    return this.scheduler.now();
  }

  get exhausted(): QuotaExhaustedError | undefined {
    return this.exhaustedBy;
  }

  /** The KV keys this pacer writes (`acct_…`), one per account. */
  get keys(): string[] {
    return this.accounts.map((a) => a.key);
  }

  acquire(model: string): Observable<void> {
    const pace = this.byModel.get(model) ?? this.accounts[0];
    const shared = pace
      ? new Observable<void>((subscriber) => {
          this.waitingNow += 1;
          let done = false;
          const inner = pace.acquire().subscribe({
            next: () => {
              done = true;
              this.waitingNow -= 1;
              subscriber.next();
            },
            error: (e: unknown) => {
              if (!done) this.waitingNow -= 1;
              done = true;
              subscriber.error(e);
            },
            complete: () => subscriber.complete(),
          });
          return () => {
            if (!done) this.waitingNow -= 1;
            done = true;
            inner.unsubscribe();
          };
        })
      : new Observable<void>((subscriber) => {
          if (this.exhaustedBy) subscriber.error(this.exhaustedBy);
          else {
            this.counted(0);
            subscriber.next();
            subscriber.complete();
          }
        });
    // The model's own slot first (local and cheap), then the account's: waiting for the account
    // only spaces a model's calls further apart, never closer.
    return this.local ? this.local.acquire(model).pipe(concatMap(() => shared)) : shared;
  }

  learn(model: string, info: RateLimitInfo): void {
    if (this.exhaustedBy) return;
    if (info.status === 429) this.counters.rateLimited += 1;
    if (info.scope === 'model') {
      this.local?.learn(model, info);
      return;
    }
    (this.byModel.get(model) ?? this.accounts[0])?.learn(info);
  }

  stats(): RateLimiterStats {
    const now = this.now();
    const first = this.accounts[0]?.shared;
    return {
      ...this.counters,
      waiting: this.waitingNow,
      ...(first && first.ratePerMin !== null ? { ratePerMinute: first.ratePerMin } : {}),
      ...(first && first.pausedUntil > now ? { pausedUntil: first.pausedUntil } : {}),
      exhausted: this.exhaustedBy !== undefined,
    };
  }

  /** Every KV write queued so far (learning, reserving), settled: for a clean shutdown, and for tests. */
  async settled(): Promise<void> {
    await Promise.all(this.accounts.map((a) => a.settled()));
  }

  /** The shared value of the account `model` is called through, as this worker last read or wrote it. */
  paceOf(model: string): PaceState | undefined {
    const pace = this.byModel.get(model) ?? this.accounts[0];
    return pace ? structuredClone(pace.shared) : undefined;
  }

  /** @internal */
  exhaust(resetAtMs: number | undefined): void {
    if (this.exhaustedBy) return;
    this.exhaustedBy = new QuotaExhaustedError(resetAtMs);
    for (const account of this.accounts) account.failAll(this.exhaustedBy);
  }

  /** @internal */
  counted(waitedMs: number): void {
    this.counters.granted += 1;
    this.counters.waitedMs += waitedMs;
  }

  /** @internal */
  warn(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.onWarning?.(message);
  }

  /** @internal A KV request, failed after `opTimeoutMs` so that a NATS outage never hangs a call. */
  timed<T>(request: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.scheduler.schedule(() => reject(new Error(`NATS KV request timed out after ${this.opTimeoutMs} ms`)), this.opTimeoutMs);
      request.then(
        (value) => {
          timer.unsubscribe();
          resolve(value);
        },
        (error: unknown) => {
          timer.unsubscribe();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  /** @internal */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.scheduler.schedule(() => resolve(), Math.max(0, ms)));
  }

  /** @internal Resolves at `time` on the pacer's clock (timers fire on whole ms, so round up). */
  sleepUntil(time: number): Promise<void> {
    return this.sleep(Math.ceil(time - this.now()));
  }
}

/**
 * Opens the pace bucket on `nc`, creating it if needed: once per worker; pacers are then built
 * from it synchronously ({@link pacerForPanel}). File storage: a pause or a learned limit
 * survives a server restart. History 1: only the current pace matters. The TTL drops accounts
 * idle for an hour.
 */
export async function openPaceBucket(nc: NatsConnection, bucket: string = PACE_BUCKET): Promise<KV> {
  const kvm = new Kvm(nc);
  try {
    return await kvm.create(bucket, { history: 1, ttl: ENTRY_TTL_MS });
  } catch (error) {
    // Workers starting together: another one made the bucket between our look and our create.
    return kvm.open(bucket).catch(() => {
      throw error;
    });
  }
}

/**
 * Opens the pace bucket and a pacer for `accounts`. The connection stays the caller's: await
 * the pacer's `settled()` after its last call, then close it.
 */
export async function openSharedPacer(nc: NatsConnection, accounts: PacedAccount[], options: SharedPacerOptions = {}): Promise<SharedPacer> {
  return new SharedPacer(await openPaceBucket(nc, options.bucket), accounts, options);
}

/**
 * The shared counterpart of `limiterFor`: a pacer for every account `panel`'s members call
 * (key read from `env[member.apiKeyEnv]`), with `--rpm` / `--model-rpm`, else OpenRouter's
 * free-tier pace when the panel uses `:free` models there, else learned from the server.
 */
export function pacerForPanel(
  kv: KV,
  panel: Pick<Panel, 'members'>,
  options: SharedPacerOptions & { env?: Record<string, string | undefined> } = {},
): SharedPacer {
  const { env = process.env, ...rest } = options;
  const accounts = new Map<string, PacedAccount>();
  for (const member of panel.members) {
    const apiKey = env[member.apiKeyEnv];
    const id = accountKey(member.baseURL, apiKey);
    const account = accounts.get(id) ?? { baseURL: member.baseURL, apiKey, models: [] };
    account.models.push(member.model);
    accounts.set(id, account);
  }
  const freeOnOpenRouter = panel.members.some((m) => m.model.endsWith(':free') && /(^|\.)openrouter\.ai$/.test(safeHost(m.baseURL)));
  const rpm = rest.rpm ?? (freeOnOpenRouter ? OPENROUTER_FREE_RPM : undefined);
  return new SharedPacer(kv, [...accounts.values()], { ...rest, ...(rpm !== undefined && { rpm }) });
}

/** {@link openPaceBucket} and {@link pacerForPanel} in one. */
export async function sharedPacerFor(
  nc: NatsConnection,
  panel: Pick<Panel, 'members'>,
  options: SharedPacerOptions & { env?: Record<string, string | undefined> } = {},
): Promise<SharedPacer> {
  return pacerForPanel(await openPaceBucket(nc, options.bucket), panel, options);
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}
