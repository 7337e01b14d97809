/**
 * One rate limiter shared by every model call of a run: calls wait for a slot (`acquire`), and
 * responses teach it the server's limits (`learn`). Pure state on an RxJS scheduler, so
 * virtual time tests it; the only timer is one scheduled action for the next possible grant.
 *
 * Algorithm: a GCRA (a token bucket of capacity 1) per scope — one for the account and one
 * per model. Each grants a slot every `windowMs / rate` ms, so calls are spaced evenly and never
 * burst a window's worth at once: a burst at a fixed window's start is what makes servers answer
 * 429 at its end. Even spacing also bounds any sliding window to `requests` calls, so it suits
 * fixed- and sliding-window servers alike, with O(1) state per scope. `rate` starts at
 * `requests × headroom`; the slack left by `headroom` absorbs network and timer jitter at a
 * window's edge. On a 429 the scope pauses until Retry-After (or the reset), adopts the
 * server's `X-RateLimit-Limit` when lower, else cuts `rate` by a quarter (once per congestion
 * event); each success adds back `1/rate` (one call per window per window of successes) up to
 * the configured limit: AIMD, as TCP does.
 */
import { Observable, type SchedulerLike, type Subscriber, type Subscription, asyncScheduler } from 'rxjs';
import type { RateLimitHeaders } from '../types.js';
import type { Limiter } from './limiter.js';

/** At most `requests` calls per `windowMs`. */
export interface RateLimit {
  /** Calls allowed per window: an integer ≥ 1. */
  requests: number;
  /** The window, in ms. */
  windowMs: number;
}

export interface RateLimiterOptions {
  /**
   * Limit on all calls together (OpenRouter's `:free` models: 20 per 60 000 ms for the whole
   * account). Default: none until the server's headers or 429s teach one.
   */
  account?: RateLimit;
  /** Limit on each model's calls separately. Default: none until learned. */
  perModel?: RateLimit;
  /**
   * Fraction of a limit actually used, in (0, 1]. The rest is slack for network and timer
   * jitter at a fixed window's edge, where a call that arrives a few ms early is a 429.
   * Default 0.95.
   */
  headroom?: number;
  /**
   * A 429 whose wait (Retry-After, else the reset), or a `remaining: 0` whose reset, is further
   * away than this means the day's quota is gone: the limiter enters `exhausted` and every
   * pending and later `acquire` fails with {@link QuotaExhaustedError}. Default 15 minutes.
   */
  quotaResetThresholdMs?: number;
  /** Clock and timer; `resetAtMs` values are read on its clock (asyncScheduler: epoch ms). */
  scheduler?: SchedulerLike;
}

/** What one response said about the rate limit, for {@link RateLimiter.learn}. */
export interface RateLimitInfo extends RateLimitHeaders {
  /**
   * The response's HTTP status: 429 is a rate limit; 200–399 a success (the rate climbs back);
   * anything else, or none, only has its headers read.
   */
  status?: number;
  /** Server-requested wait (Retry-After), in ms. */
  retryAfterMs?: number;
  /**
   * When the call's slot was granted (limiter clock; `rateLimit` passes it). A 429 for a call
   * sent before the last slow-down is an echo of the same congestion and does not slow down
   * again; a `remaining` count is corrected for the calls granted since, which the server may
   * not have counted yet.
   */
  sentAt?: number;
  /**
   * Whose limit the response speaks of. Default: `model` when the limiter has only a
   * `perModel` limit, else `account` (OpenRouter's free limits are per account, and pausing
   * too many calls for a moment costs less than a storm of 429s).
   */
  scope?: 'account' | 'model';
}

/** Counters for a progress display. */
export interface RateLimiterStats {
  /** Slots granted so far. */
  granted: number;
  /** Calls waiting for a slot now. */
  waiting: number;
  /** Total time granted calls spent waiting for their slot, in ms. */
  waitedMs: number;
  /** 429 responses learned from. */
  rateLimited: number;
  /** Account-wide calls per minute allowed now; undefined while no limit is known. */
  ratePerMinute?: number;
  /** Until when (limiter clock) the account is paused, while it is. */
  pausedUntil?: number;
  exhausted: boolean;
}

/** The provider's request quota is used up: the run stops, to be resumed after the reset. */
export class QuotaExhaustedError extends Error {
  override readonly name = 'QuotaExhaustedError';
  constructor(
    /** When the quota resets (limiter clock: epoch ms in a real run), if the server said. */
    readonly resetAtMs?: number,
  ) {
    const when = resetAtMs !== undefined && Number.isFinite(resetAtMs) ? ` (it resets at ${new Date(resetAtMs).toISOString()})` : '';
    const after = when ? 'after that' : 'once it has reset';
    super(`The provider's request quota is used up${when}. Re-run the same command with --resume ${after} to continue where this run stopped.`);
  }
}

/** Window assumed for a limit learned from headers that never say how long the window is. */
const DEFAULT_WINDOW_MS = 60_000;
/** Multiplicative decrease on a 429 with no lower server limit to adopt. */
const DECREASE = 0.75;
/** The rate never falls below this fraction of the limit: a few 429s must not stall a run. */
const FLOOR = 0.1;
/** Shortest span a pace is measured over, to learn a limit from a bare 429. */
const MIN_MEASURE_MS = 1000;
/** Pause after a 429 that names no wait at all, at least. */
const MIN_BLIND_PAUSE_MS = 1000;

/** The pacing state of one scope: the account, or one model. */
class Bucket {
  /** Calls per window the server allows, configured or learned; undefined: no limit known. */
  ceiling: number | undefined;
  /** Calls per window allowed now: at most `ceiling × headroom`; cut on 429s, raised on successes. */
  rate = Infinity;
  /**
   * GCRA's schedule: when the last grant was due. The next is due one spacing later, at the
   * spacing of the current rate, so a cut takes effect at once.
   */
  private slotAt = -Infinity;
  /** No grant before this: the server asked us to wait. */
  pausedUntil = -Infinity;
  /** When `rate` was last cut: 429s of calls sent before it are echoes of that congestion. */
  lastDecreaseAt = -Infinity;
  /** Grant times within the last window: how fast we went, to learn a limit from a bare 429. */
  readonly recent: number[] = [];
  /** The first grant ever: a run younger than a window has not shown a window's worth yet. */
  private firstGrantAt: number | undefined;
  /** Window length read off reset headers, when none was configured. */
  private windowSeen: number | undefined;
  /**
   * The longest time-to-reset seen on an answer carrying a limit, configured window or not: a
   * lower bound of the server's window, for an answer read after its own reset (which says
   * nothing about the window).
   */
  private longestResetSeen = 0;

  constructor(
    private readonly configured: RateLimit | undefined,
    private readonly headroom: number,
  ) {
    if (configured) this.adopt(configured.requests);
  }

  get windowMs(): number {
    return this.configured?.windowMs ?? this.windowSeen ?? DEFAULT_WINDOW_MS;
  }

  /**
   * A server limit in this bucket's own unit, or undefined when its window is unknown. A
   * configured window (`--rpm`: a minute) can be longer than the server's (40 per 2 s): its
   * count must then be scaled to the same rate, or "40" would be read as 40 a minute — rates are
   * compared, not counts. The time to reset bounds the server's window from below (the longest
   * one seen, this answer's included), so the scaled figure never undercounts. An answer read
   * at or after its reset, before any reset ahead was seen, says nothing about the window: its
   * limit is not adopted, configured window or not (taking it per configured window once
   * collapsed `--rpm 1200` to 38 a minute for good).
   */
  inOwnWindow(limit: number, resetInMs: number): number | undefined {
    if (!this.configured) return resetInMs > 0 || this.windowSeen !== undefined ? limit : undefined;
    const bound = Math.max(resetInMs > 0 ? resetInMs : 0, this.longestResetSeen);
    if (!(bound > 0)) return undefined;
    if (bound >= this.configured.windowMs) return limit;
    const serverWindow = Math.ceil(bound / 100) * 100;
    return Math.floor((limit * this.configured.windowMs) / serverWindow);
  }

  /** The rate successes may climb back to. */
  get cap(): number {
    return this.ceiling === undefined ? Infinity : this.ceiling * this.headroom;
  }

  interval(): number {
    return Number.isFinite(this.rate) ? this.windowMs / this.rate : 0;
  }

  readyAt(): number {
    return Math.max(this.slotAt + this.interval(), this.pausedUntil);
  }

  grant(now: number): void {
    const interval = this.interval();
    const due = this.slotAt + interval;
    // A grant a little late (the timer fires on whole ms, and late under load) keeps the
    // schedule, so timer lag does not eat the rate. Bounded by the headroom's slack per spacing,
    // so that no window ever holds more than `ceiling` grants: the m-th grant after one comes
    // at least m·interval − catchUp later, which is ≥ windowMs for m = ceiling. A grant after
    // an idle spell starts a new schedule.
    const catchUp = interval * (1 - this.headroom);
    this.slotAt = now - due <= catchUp ? due : now;
    this.firstGrantAt ??= now;
    this.recent.push(now);
    this.trim(now);
  }

  /** Grants since the one made at `grantedAt`, not counting it (same-ms grants count). */
  grantsAfter(grantedAt: number, now: number): number {
    this.trim(now);
    return Math.max(0, this.recent.filter((t) => t >= grantedAt).length - 1);
  }

  /** Takes a server's (or the user's) limit when it is lower than the known one. True if `rate` fell. */
  adopt(requests: number): boolean {
    if (!(requests >= 1) || (this.ceiling !== undefined && requests >= this.ceiling)) return false;
    this.ceiling = requests;
    const before = this.rate;
    this.rate = Math.min(this.rate, this.cap);
    return this.rate < before;
  }

  /** Reads the window off a reset when none was configured: the longest time-to-reset seen. */
  observeReset(resetInMs: number): void {
    if (!(resetInMs > 0) || resetInMs > DEFAULT_WINDOW_MS) return;
    if (resetInMs > this.longestResetSeen) this.longestResetSeen = resetInMs;
    if (this.configured) return;
    // Servers state windows in whole seconds (or tenths, for short ones); the response's
    // travel time only makes the reset look nearer, so round up.
    const step = resetInMs < 10_000 ? 100 : 1000;
    const window = Math.ceil(resetInMs / step) * step;
    if (window > (this.windowSeen ?? 0)) this.windowSeen = window;
  }

  /** A 429: take a limit, or go a quarter slower, once per congestion event. */
  slowDown(now: number, serverLimit: number | undefined, sentAt: number | undefined): void {
    const fresh = sentAt !== undefined ? sentAt > this.lastDecreaseAt : now >= this.pausedUntil;
    let lowered = serverLimit !== undefined && this.adopt(serverLimit);
    // No limit known at all: the pace of the last window was too much; go a quarter below it.
    // A run younger than a window is measured over its age (a second at least), so a 429 on
    // the first calls does not set a limit of one call per window.
    if (this.ceiling === undefined) {
      this.trim(now);
      const span = Math.min(this.windowMs, Math.max(MIN_MEASURE_MS, now - (this.firstGrantAt ?? now)));
      this.adopt(Math.max(1, Math.round((this.recent.length * this.windowMs) / span)));
      this.rate = this.cap * DECREASE;
      lowered = true;
    }
    if (!lowered && fresh) {
      this.rate = Math.max(this.cap * FLOOR, this.rate * DECREASE);
      lowered = true;
    }
    if (lowered) this.lastDecreaseAt = now;
  }

  /** A success: one call per window more, per window's worth of successes, up to the cap. */
  speedUp(): void {
    if (Number.isFinite(this.rate) && this.rate < this.cap) this.rate = Math.min(this.cap, this.rate + 1 / this.rate);
  }

  pauseUntil(time: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, time);
  }

  private trim(now: number): void {
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < this.recent.length && (this.recent[drop] ?? Infinity) <= from) drop++;
    if (drop > 0) this.recent.splice(0, drop);
  }
}

/** A call waiting for its slot. */
interface Waiter {
  model: string;
  subscriber: Subscriber<void>;
  since: number;
}

/**
 * Paces model calls under an account-wide and a per-model limit, learning from 429s and
 * `X-RateLimit-*` headers; see the module comment for the algorithm.
 *
 * ```ts
 * const limiter = new RateLimiter({ account: { requests: 20, windowMs: 60_000 } });
 * defer(() => call()).pipe(rateLimit(limiter, model))   // waits for a slot, learns from the answer
 * ```
 */
export class RateLimiter implements Limiter {
  readonly quotaResetThresholdMs: number;
  private readonly scheduler: SchedulerLike;
  private readonly headroom: number;
  private readonly perModel: RateLimit | undefined;
  private readonly defaultScope: 'account' | 'model';
  private readonly account: Bucket;
  private readonly models = new Map<string, Bucket>();
  /** Waiting calls in arrival order (a Set iterates in insertion order and deletes in O(1)). */
  private readonly queue = new Set<Waiter>();
  /** The one scheduled wake-up for the next possible grant, and when it fires. */
  private timer: Subscription | undefined;
  private timerAt = Infinity;
  /** Granting runs subscribers' code, which may call back in (acquire, learn): loop, don't nest. */
  private pumping = false;
  private pumpAgain = false;
  private exhaustedBy: QuotaExhaustedError | undefined;
  private counters = { granted: 0, waitedMs: 0, rateLimited: 0 };

  constructor(options: RateLimiterOptions = {}) {
    const { account, perModel, headroom = 0.95, quotaResetThresholdMs = 15 * 60_000, scheduler = asyncScheduler } = options;
    for (const [name, limit] of [['account', account], ['perModel', perModel]] as const) {
      if (limit === undefined) continue;
      if (!Number.isInteger(limit.requests) || limit.requests < 1) {
        throw new RangeError(`Expected ${name}.requests to be an integer ≥ 1, got ${limit.requests}`);
      }
      if (!(Number.isFinite(limit.windowMs) && limit.windowMs > 0)) {
        throw new RangeError(`Expected ${name}.windowMs to be a positive number of ms, got ${limit.windowMs}`);
      }
    }
    if (!(headroom > 0 && headroom <= 1)) throw new RangeError(`Expected headroom to be in (0, 1], got ${headroom}`);
    if (!(quotaResetThresholdMs > 0)) {
      throw new RangeError(`Expected quotaResetThresholdMs to be a positive number of ms, got ${quotaResetThresholdMs}`);
    }
    this.scheduler = scheduler;
    this.headroom = headroom;
    this.perModel = perModel;
    this.quotaResetThresholdMs = quotaResetThresholdMs;
    this.defaultScope = perModel && !account ? 'model' : 'account';
    this.account = new Bucket(account, headroom);
  }

  /** The limiter's clock. */
  now(): number {
    return this.scheduler.now();
  }

  /** The error every acquire fails with once the quota is gone; undefined until then. */
  get exhausted(): QuotaExhaustedError | undefined {
    return this.exhaustedBy;
  }

  /**
   * A slot for one call to `model`. Cold: each subscription queues (FIFO among calls whose
   * model may go) and emits once, then completes, when the call may start; the slot is taken
   * at that moment. Unsubscribing earlier leaves the queue and takes nothing. Errors with
   * {@link QuotaExhaustedError} when the quota is gone, or goes while waiting.
   */
  acquire(model: string): Observable<void> {
    return new Observable<void>((subscriber) => {
      if (this.exhaustedBy) {
        subscriber.error(this.exhaustedBy);
        return undefined;
      }
      const waiter: Waiter = { model, subscriber, since: this.now() };
      this.queue.add(waiter);
      this.pump();
      return () => {
        if (this.queue.delete(waiter)) this.pump();
      };
    });
  }

  /**
   * Learns from one response (a success, a 429, or another error that carried headers):
   *
   * - 429: pause the scope until Retry-After (else the reset); adopt `limit` when lower than the
   *   known one, else cut the rate by a quarter (not again for calls sent before the last cut).
   * - `remaining` 0 (less the calls granted since `sentAt`) with a reset ahead: pause until it.
   * - a reset (Retry-After for 429s) further away than `quotaResetThresholdMs`, on a 429 or with
   *   `remaining` 0: the quota is gone, every pending and later acquire fails.
   * - success: the rate climbs back by 1/rate, up to the configured (or learned) limit.
   */
  learn(model: string, info: RateLimitInfo): void {
    if (this.exhaustedBy) return;
    const now = this.now();
    const bucket = (info.scope ?? this.defaultScope) === 'account' ? this.account : this.bucketFor(model);
    const limited = info.status === 429;
    const resetIn = info.resetAtMs !== undefined ? info.resetAtMs - now : undefined;
    const wait = limited ? (info.retryAfterMs ?? resetIn) : undefined;
    if (limited) this.counters.rateLimited += 1;

    if (wait !== undefined && wait > this.quotaResetThresholdMs) {
      this.exhaust(info.resetAtMs !== undefined && resetIn! > this.quotaResetThresholdMs ? info.resetAtMs : now + wait);
      return;
    }
    if (info.remaining === 0 && resetIn !== undefined && resetIn > this.quotaResetThresholdMs) {
      this.exhaust(info.resetAtMs);
      return;
    }

    if (resetIn !== undefined && info.limit !== undefined) bucket.observeReset(resetIn);
    // A limit whose reset lies far beyond the window counts a longer quota (a day's), not the
    // calls per window: `remaining` and the reset take care of that one.
    const raw = resetIn === undefined || resetIn <= bucket.windowMs + 1000 ? info.limit : undefined;
    const limit = raw !== undefined && resetIn !== undefined ? bucket.inOwnWindow(raw, resetIn) : raw;
    if (limited) {
      bucket.slowDown(now, limit, info.sentAt);
      bucket.pauseUntil(now + Math.max(0, wait ?? Math.max(MIN_BLIND_PAUSE_MS, bucket.interval())));
    } else {
      if (limit !== undefined) bucket.adopt(limit);
      if (info.remaining !== undefined && resetIn !== undefined && resetIn > 0) {
        const left = info.remaining - (info.sentAt !== undefined ? bucket.grantsAfter(info.sentAt, now) : 0);
        if (left <= 0) bucket.pauseUntil(info.resetAtMs!);
      }
      if (info.status !== undefined && info.status >= 200 && info.status < 400) {
        this.account.speedUp();
        this.bucketFor(model).speedUp();
      }
    }
    this.pump();
  }

  stats(): RateLimiterStats {
    const now = this.now();
    const { rate, windowMs, pausedUntil } = this.account;
    return {
      ...this.counters,
      waiting: this.queue.size,
      ...(Number.isFinite(rate) ? { ratePerMinute: (rate * 60_000) / windowMs } : {}),
      ...(pausedUntil > now ? { pausedUntil } : {}),
      exhausted: this.exhaustedBy !== undefined,
    };
  }

  private bucketFor(model: string): Bucket {
    let bucket = this.models.get(model);
    if (!bucket) {
      bucket = new Bucket(this.perModel, this.headroom);
      this.models.set(model, bucket);
    }
    return bucket;
  }

  private readyAt(waiter: Waiter): number {
    return Math.max(this.account.readyAt(), this.bucketFor(waiter.model).readyAt());
  }

  /** Grants every slot due now, then sets the timer for the next one. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.grantDue();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    this.arm();
  }

  private grantDue(): void {
    for (;;) {
      if (this.exhaustedBy) return;
      const now = this.now();
      if (this.account.readyAt() > now) return;
      // The earliest waiter whose model may go: a model held back does not block the others.
      let next: Waiter | undefined;
      for (const waiter of this.queue) {
        if (this.bucketFor(waiter.model).readyAt() <= now) {
          next = waiter;
          break;
        }
      }
      if (!next) return;
      this.queue.delete(next);
      this.account.grant(now);
      this.bucketFor(next.model).grant(now);
      this.counters.granted += 1;
      this.counters.waitedMs += now - next.since;
      next.subscriber.next();
      next.subscriber.complete();
    }
  }

  private arm(): void {
    let at = Infinity;
    if (!this.exhaustedBy) for (const waiter of this.queue) at = Math.min(at, this.readyAt(waiter));
    if (at === this.timerAt) return;
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = this.scheduler.schedule(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, Math.ceil(at - this.now())));
  }

  private exhaust(resetAtMs: number | undefined): void {
    this.exhaustedBy = new QuotaExhaustedError(resetAtMs);
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.timerAt = Infinity;
    const waiting = [...this.queue];
    this.queue.clear();
    for (const waiter of waiting) waiter.subscriber.error(this.exhaustedBy);
  }
}
