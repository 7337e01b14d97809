import { duration } from './clock.js';
import { cutToWidth, displayWidth } from './width.js';

/** What the batch progress line shows; every count is this process's. */
export interface ProgressState {
  /** Chunks of the batch, decided before this process started included. */
  total: number;
  /** Chunks decided, by this process or (on a resume) before it. */
  done: number;
  /** Model calls in flight now (HTTP requests, not calls queued for a rate-limit slot); undefined when workers make them (`--queue`). */
  inFlight: number | undefined;
  /** Model replies received so far: answers and ballots; undefined when workers receive them. */
  answers: number | undefined;
  /** Failed model calls of the chunks decided so far; which ones is the end summary's job. */
  failures: number;
  /** Seconds left, or undefined while there is no rate to tell. */
  etaSeconds: number | undefined;
  /** Calls made per minute, or undefined before any chunk is decided. */
  callsPerMinute: number | undefined;
}

/**
 * Seconds left at this process's own pace: the mean time between its decided chunks, counted
 * down since the last one. Chunks decided before it started (a resume) are not its pace: with
 * none of its own decided yet there is no estimate. While the next chunk is overdue the
 * estimate does not reach 0 but holds at the chunks after it.
 */
export function etaSeconds(p: { remaining: number; ownDone: number; startedAt: number; lastDoneAt: number; now: number }): number | undefined {
  if (p.remaining <= 0 || p.ownDone <= 0) return undefined;
  const interval = (p.lastDoneAt - p.startedAt) / p.ownDone / 1000;
  const countdown = p.remaining * interval - (p.now - p.lastDoneAt) / 1000;
  const eta = Math.max(countdown, (p.remaining - 1) * interval);
  return eta >= 1 ? eta : undefined;
}

/** Fields from most to least needed: a line too wide for the terminal drops them from the end, whole. */
const PRIORITY = ['chunks', 'eta', 'failures', 'inFlight', 'answers', 'rate'] as const;
/** The order they read in. */
const ORDER = ['chunks', 'inFlight', 'answers', 'failures', 'eta', 'rate'] as const;
const SEPARATOR = ' · ';
const BAR_MIN = 6;
const BAR_MAX = 24;

/**
 * The progress line for a terminal `columns` wide, at most `columns - 1` wide so it never
 * wraps (the next redraw returns to its start with `\r`). Fields are dropped whole, least
 * needed first, never cut mid-word; the bar takes what room is left, if there is enough.
 */
export function progressLine(s: ProgressState, columns: number): string {
  const max = Math.max(1, columns - 1);
  const text: Record<(typeof ORDER)[number], string | undefined> = {
    chunks: `chunks ${s.done}/${s.total}`,
    inFlight: s.inFlight === undefined ? undefined : `in flight ${s.inFlight}`,
    answers: s.answers === undefined ? undefined : `answers ${s.answers}`,
    failures: s.failures > 0 ? `failures ${s.failures}` : undefined,
    // "ETA …" until there is a rate: never a made-up 0 s.
    eta: s.done >= s.total ? undefined : `ETA ${s.etaSeconds === undefined ? '…' : duration(s.etaSeconds)}`,
    rate: s.callsPerMinute === undefined ? undefined : `${Math.round(s.callsPerMinute)} calls/min`,
  };
  const kept = new Set(PRIORITY.filter((k) => text[k] !== undefined));
  const join = () => ORDER.filter((k) => kept.has(k)).map((k) => text[k]).join(SEPARATOR);
  for (const k of [...PRIORITY].reverse()) {
    if (displayWidth(join()) <= max || k === 'chunks') break;
    kept.delete(k);
  }
  const fields = join();
  const room = max - displayWidth(fields) - 3;
  if (room < BAR_MIN) return cutToWidth(fields, max);
  const width = Math.min(BAR_MAX, room);
  const filled = s.total ? Math.round(Math.min(1, s.done / s.total) * width) : width;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${fields}`;
}
