/**
 * The shared pace of one provider account, as stored in the NATS KV bucket `quorum_pace`, and
 * the pure steps on it: reserving a slot and learning from a response. `SharedPacer` applies a
 * step to the freshest value and writes it back with a compare-and-set, so every worker's step
 * sees every other's. The rules are the local `RateLimiter`'s (see rateLimiter.ts): a GCRA that
 * spaces calls `1/rate` apart, a pause on a 429 until Retry-After or the reset, a cut by a
 * quarter per congestion event (or the server's lower `X-RateLimit-Limit`), and one call per
 * window more per window of successes, up to the ceiling less headroom (AIMD).
 *
 * Rates are kept per minute, not per server window: workers may be configured with `--rpm`
 * while the server states its limit per 10 s, and a per-minute figure compares them directly.
 * Times are epoch ms on the writing worker's clock; JSON has no Infinity, so "none" is null or 0.
 */

/** The KV value: JSON of this (`v` lets a later layout be told apart). */
export interface PaceState {
  v: 1;
  /** The last slot handed out, epoch ms (0: none yet). The next is due one spacing later. */
  slotAt: number;
  /** Calls per minute allowed now; null while no limit is known (no spacing at all). */
  ratePerMin: number | null;
  /** The account's limit per minute, configured (`--rpm`) or learned; null while unknown. */
  ceilingPerMin: number | null;
  /** The server's window as read off its reset headers (the longest time-to-reset seen, rounded up). */
  windowMs: number | null;
  /** No slot before this (epoch ms): a 429's Retry-After, or a window with nothing left. */
  pausedUntil: number;
  /** When the rate was last cut: a 429 of a call sent before this is an echo and cuts nothing. */
  lastCutAt: number;
  /** Slots handed out since `countSince`: the pace to learn a limit from when a bare 429 names none. */
  count: number;
  countSince: number;
  /** The quota is used up until this (epoch ms): every worker stops. 0: not exhausted. */
  exhaustedUntil: number;
}

/** What one response said, on the pacer's clock (the fields of `RateLimitInfo` the account uses). */
export interface PaceInfo {
  status?: number;
  retryAfterMs?: number;
  limit?: number;
  remaining?: number;
  resetAtMs?: number;
  sentAt?: number;
}

/** Tuning shared with the local limiter; see `RateLimiterOptions`. */
export interface PaceTuning {
  headroom: number;
  quotaResetThresholdMs: number;
}

const MINUTE = 60_000;
/** The local limiter's constants, same meaning (rateLimiter.ts). */
const DECREASE = 0.75;
const FLOOR = 0.1;
const MIN_MEASURE_MS = 1000;
const MIN_BLIND_PAUSE_MS = 1000;

export function emptyPaceState(): PaceState {
  return { v: 1, slotAt: 0, ratePerMin: null, ceilingPerMin: null, windowMs: null, pausedUntil: 0, lastCutAt: 0, count: 0, countSince: 0, exhaustedUntil: 0 };
}

/** Parses a KV value; anything unreadable (another layout, a hand edit) starts afresh rather than stopping a run. */
export function parsePaceState(text: string): PaceState {
  try {
    const raw = JSON.parse(text) as Partial<PaceState>;
    if (raw?.v !== 1) return emptyPaceState();
    const base = emptyPaceState();
    const num = (x: unknown, d: number) => (typeof x === 'number' && Number.isFinite(x) ? x : d);
    const opt = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : null);
    return {
      v: 1,
      slotAt: num(raw.slotAt, base.slotAt),
      ratePerMin: opt(raw.ratePerMin),
      ceilingPerMin: opt(raw.ceilingPerMin),
      windowMs: opt(raw.windowMs),
      pausedUntil: num(raw.pausedUntil, 0),
      lastCutAt: num(raw.lastCutAt, 0),
      count: num(raw.count, 0),
      countSince: num(raw.countSince, 0),
      exhaustedUntil: num(raw.exhaustedUntil, 0),
    };
  } catch {
    return emptyPaceState();
  }
}

/** Spacing between slots, ms; 0 while no limit is known. */
export function intervalOf(s: PaceState): number {
  return s.ratePerMin === null ? 0 : MINUTE / s.ratePerMin;
}

/** Takes a limit (per minute) when lower than the known one; the rate drops to it less headroom. True if the rate fell. */
export function adoptCeiling(s: PaceState, perMin: number, t: PaceTuning): boolean {
  if (!(perMin > 0) || (s.ceilingPerMin !== null && perMin >= s.ceilingPerMin)) return false;
  s.ceilingPerMin = perMin;
  const cap = perMin * t.headroom;
  const before = s.ratePerMin ?? Infinity;
  s.ratePerMin = Math.min(before, cap);
  return s.ratePerMin < before;
}

/**
 * The next slot: one spacing after the last, not before a pause, not in the past. Reserving a
 * future slot (rather than racing for "now") gives each worker its own time, so N workers
 * never wake together and fight over one slot.
 */
export function reserveSlot(s: PaceState, now: number): number {
  const slot = Math.max(now, s.slotAt > 0 ? s.slotAt + intervalOf(s) : now, s.pausedUntil);
  s.slotAt = slot;
  const span = s.windowMs ?? MINUTE;
  if (s.countSince === 0 || now - s.countSince >= span) {
    s.countSince = now;
    s.count = 0;
  }
  s.count += 1;
  return slot;
}

/** `successes` successes since the last write: each adds one call per window per window's worth, up to the cap. */
export function speedUp(s: PaceState, successes: number, t: PaceTuning): void {
  if (s.ratePerMin === null || s.ceilingPerMin === null || successes <= 0) return;
  const cap = s.ceilingPerMin * t.headroom;
  // In window units the local limiter adds 1/rate per success; per minute that is k²/rate, k = minute/window.
  const k = MINUTE / (s.windowMs ?? MINUTE);
  let rate = s.ratePerMin;
  for (let i = 0; i < successes && rate < cap; i++) rate = Math.min(cap, rate + (k * k) / rate);
  s.ratePerMin = rate;
}

/** The outcome of learning: the quota is gone until `resetAtMs` (undefined: unknown), or nothing to stop for. */
export interface LearnOutcome {
  exhausted?: { resetAtMs: number | undefined };
}

/**
 * Learns one response, as `RateLimiter.learn` does for its account scope. `grantsSince` counts
 * this worker's calls sent after the response's own, which the server's `remaining` may not have
 * counted yet (other workers' are not known here; a later 429 covers them).
 */
export function learnInto(s: PaceState, now: number, info: PaceInfo, grantsSince: number, t: PaceTuning): LearnOutcome {
  const limited = info.status === 429;
  const resetIn = info.resetAtMs !== undefined ? info.resetAtMs - now : undefined;
  const wait = limited ? (info.retryAfterMs ?? resetIn) : undefined;
  if (wait !== undefined && wait > t.quotaResetThresholdMs) {
    const resetAtMs = info.resetAtMs !== undefined && resetIn! > t.quotaResetThresholdMs ? info.resetAtMs : now + wait;
    s.exhaustedUntil = Math.max(s.exhaustedUntil, resetAtMs);
    return { exhausted: { resetAtMs } };
  }
  if (info.remaining === 0 && resetIn !== undefined && resetIn > t.quotaResetThresholdMs) {
    s.exhaustedUntil = Math.max(s.exhaustedUntil, info.resetAtMs!);
    return { exhausted: { resetAtMs: info.resetAtMs } };
  }

  // The server's window: the longest time-to-reset seen on an answer carrying a limit, rounded
  // up (travel time only makes a reset look nearer). A reset beyond a minute is a day's quota.
  if (resetIn !== undefined && info.limit !== undefined && resetIn > 0 && resetIn <= MINUTE) {
    const step = resetIn < 10_000 ? 100 : 1000;
    const seen = Math.ceil(resetIn / step) * step;
    if (seen > (s.windowMs ?? 0)) s.windowMs = seen;
  }
  const limitPerMin =
    info.limit !== undefined && s.windowMs !== null && (resetIn === undefined || resetIn <= s.windowMs + 1000) ? (info.limit * MINUTE) / s.windowMs : undefined;

  if (limited) {
    const fresh = info.sentAt !== undefined ? info.sentAt > s.lastCutAt : now >= s.pausedUntil;
    let lowered = limitPerMin !== undefined && adoptCeiling(s, limitPerMin, t);
    if (s.ceilingPerMin === null) {
      // No limit known at all: the pace since `countSince` was too much; go a quarter below it.
      const span = Math.min(s.windowMs ?? MINUTE, Math.max(MIN_MEASURE_MS, now - (s.countSince || now)));
      adoptCeiling(s, Math.max(1, (s.count * MINUTE) / span), t);
      s.ratePerMin = s.ceilingPerMin! * t.headroom * DECREASE;
      lowered = true;
    }
    if (!lowered && fresh) {
      const cap = (s.ceilingPerMin ?? 0) * t.headroom;
      s.ratePerMin = Math.max(cap * FLOOR, (s.ratePerMin ?? cap) * DECREASE);
      lowered = true;
    }
    if (lowered) s.lastCutAt = now;
    s.pausedUntil = Math.max(s.pausedUntil, now + Math.max(0, wait ?? Math.max(MIN_BLIND_PAUSE_MS, intervalOf(s))));
    return {};
  }
  if (limitPerMin !== undefined) adoptCeiling(s, limitPerMin, t);
  if (info.remaining !== undefined && resetIn !== undefined && resetIn > 0 && info.remaining - grantsSince <= 0) {
    s.pausedUntil = Math.max(s.pausedUntil, info.resetAtMs!);
  }
  return {};
}
