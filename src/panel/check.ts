/**
 * `quorum panel --check`: one tiny request to every member at once, to tell healthy seats from
 * gone, hanging or garbled ones before a run spends its quota on them.
 */
import { type Observable, type SchedulerLike, map, of } from 'rxjs';
import { defaultQuorum } from '../claims/quorumRules.js';
import type { ModelCall } from '../models/call.js';
import { abortable } from '../operators/abortable.js';
import { scatter } from '../operators/scatter.js';
import { portCall } from '../pipelines/portCall.js';
import type { FailureKind, ModelRequest, Panel, PanelMember } from '../types.js';

/** One member's health. `kind` is null when it answered usably. */
export interface CheckResult {
  port: number;
  model: string;
  family: string;
  ok: boolean;
  kind: FailureKind | null;
  /** From the request's start to its answer or failure, in ms. */
  latencyMs: number;
  /** One line, safe to print (never holds the key); set for failures only. */
  message?: string;
}

/**
 * The check's question. It asks for the answer shape every run asks for, so a member that
 * cannot produce that (empty content, an unparsable body) fails here as it would in a run.
 */
export const CHECK_REQUEST: ModelRequest = { query: 'Health check: reply with exactly {"claims": ["ok"]} and nothing else.' };

export interface CheckOptions {
  /** Per-member deadline in ms; default each member's own `timeoutMs`. */
  timeoutMs?: number;
  scheduler?: SchedulerLike;
}

/**
 * Sends {@link CHECK_REQUEST} to every member at once, each under its timeout and with retries
 * off (a check must be quick, and a member that needs a retry is not healthy right now).
 * Emits one {@link CheckResult} per member as they arrive; never errors. Unsubscribing aborts
 * the requests still running.
 *
 * ```
 * members:     port 0 answers at 5ms, port 1 hangs, port 2 sends garbage at 8ms
 * checkPanel:  -----a--b----------(c|)     (c = timeout at timeoutMs)
 * ```
 */
export function checkPanel(panel: Panel, call: ModelCall, options: CheckOptions = {}): Observable<CheckResult> {
  const { timeoutMs, scheduler } = options;
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw new RangeError(`Expected timeoutMs to be a positive integer, got ${timeoutMs}`);
  }
  const callPort = (member: PanelMember) => {
    const timed = timeoutMs === undefined ? member : { ...member, timeoutMs };
    return portCall(timed, () => abortable((signal) => call(timed, CHECK_REQUEST, { signal })), {
      retry: { maxRetries: 0 },
      ...(scheduler && { scheduler }),
    });
  };
  return of(CHECK_REQUEST).pipe(
    scatter(panel.members, callPort),
    map((o): CheckResult =>
      o.ok
        ? { port: o.port, model: o.model, family: o.family, ok: true, kind: null, latencyMs: o.latencyMs }
        : { port: o.port, model: o.model, family: o.family, ok: false, kind: o.kind, latencyMs: o.latencyMs, message: o.message },
    ),
  );
}

/** The quorum a check is judged against: the panel file's `quorum`, else ceil(0.75·N). */
export function panelQuorum(panel: Panel): number {
  return panel.quorum ?? defaultQuorum(panel.members.length);
}

/** A check passes when at least a quorum of members is healthy. */
export function checkPassed(panel: Panel, results: readonly CheckResult[]): boolean {
  return results.filter((r) => r.ok).length >= panelQuorum(panel);
}
