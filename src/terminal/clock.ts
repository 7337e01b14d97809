/**
 * The time the terminal views read: what they show ("waiting 12s", an ETA) and when they redraw.
 * Injected so tests move time by hand instead of sleeping.
 */
export interface ViewClock {
  /** Milliseconds, on any fixed origin. */
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

export const systemClock: ViewClock = {
  now: () => Date.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    // A redraw timer must never keep the process alive once the work is done.
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** Whole seconds, as the views show elapsed time and ETAs: `12s`, `4m05s`, `1h02m`. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
