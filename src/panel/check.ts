/**
 * `quorum panel --check`: one tiny request to every member at once, to tell healthy seats from
 * gone, hanging or garbled ones before a run spends its quota on them, and a network or key
 * problem (every member on a host failing alike) from a problem with the models.
 */
import { type Observable, type SchedulerLike, asyncScheduler, defer, map, merge, of, switchMap, tap, timer } from 'rxjs';
import { defaultQuorum } from '../claims/quorumRules.js';
import { ModelCallError } from '../errors.js';
import type { ModelCall } from '../models/call.js';
import { abortable } from '../operators/abortable.js';
import { portCall } from '../pipelines/portCall.js';
import type { FailureKind, ModelOutcome, ModelRequest, Panel, PanelMember } from '../types.js';

/** One member's health. `kind` is null when it answered usably. */
export interface CheckResult {
  port: number;
  model: string;
  family: string;
  /** The host the member is asked at (`openrouter.ai`, `127.0.0.1:11434`), for telling a network problem from a model's. */
  host: string;
  ok: boolean;
  kind: FailureKind | null;
  /** From the first request's start to the answer or failure (a 429's wait and retry included), in ms. */
  latencyMs: number;
  /** Requests sent: 2 when a 429 was retried. */
  attempts: number;
  /** One line, safe to print (never holds the key); set for failures only. */
  message?: string;
}

/**
 * The check's question. It asks for the answer shape every run asks for, so a member that
 * cannot produce that (empty content, an unparsable body) fails here as it would in a run.
 */
export const CHECK_REQUEST: ModelRequest = { query: 'Health check: reply with exactly {"claims": ["ok"]} and nothing else.' };

/**
 * Longest Retry-After a check waits out before its one retry of a 429. Free tiers answer a
 * burst with "retry in a second or two"; a longer wait means the member is out of quota for
 * now, which is the verdict, not something a health check should sit through.
 */
export const RETRY_429_CAP_MS = 5_000;

/** The wait before retrying a 429 that carried no Retry-After. */
export const RETRY_429_DEFAULT_MS = 1_000;

export interface CheckOptions {
  /** Per-member deadline in ms, for each request; default each member's own `timeoutMs`. */
  timeoutMs?: number;
  /** Longest Retry-After honoured before the one retry of a 429; default {@link RETRY_429_CAP_MS}. */
  retry429CapMs?: number;
  scheduler?: SchedulerLike;
}

/** `openrouter.ai`, or `127.0.0.1:7400` when a port is given: where a member's requests go. */
export function hostOf(baseURL: string): string {
  return URL.canParse(baseURL) ? new URL(baseURL).host : baseURL;
}

/**
 * Sends {@link CHECK_REQUEST} to every member at once, each request under the member's timeout.
 * Nothing is retried (a check must be quick, and a member that needs retries is not healthy
 * right now) except a 429, once: one transient rate limit is no reason to replace a member.
 * The retry waits the server's Retry-After when it is at most `retry429CapMs` (1 s when it sent
 * none); a longer one is judged at once. Emits one {@link CheckResult} per member as they
 * arrive; never errors. Unsubscribing aborts the requests still running.
 *
 * ```
 * members:     port 0 answers at 5ms, port 1 hangs, port 2 sends garbage at 8ms
 * checkPanel:  -----a--b----------(c|)     (c = timeout at timeoutMs)
 * members:     port 0 gets a 429 (Retry-After 1 s) at 5ms, then answers at 3ms
 * checkPanel:  ----- 1000ms ---a|          (attempts 2, latency 1008)
 * ```
 */
export function checkPanel(panel: Panel, call: ModelCall, options: CheckOptions = {}): Observable<CheckResult> {
  const { timeoutMs, scheduler } = options;
  const cap = options.retry429CapMs ?? RETRY_429_CAP_MS;
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw new RangeError(`Expected timeoutMs to be a positive integer, got ${timeoutMs}`);
  }
  const clock = scheduler ?? asyncScheduler;
  const callPort = (member: PanelMember): Observable<CheckResult> => {
    const timed = timeoutMs === undefined ? member : { ...member, timeoutMs };
    // The 429 of the last request, read for its Retry-After (the outcome keeps only kind and message).
    let rateLimited: ModelCallError | undefined;
    const once = () =>
      portCall(
        timed,
        () => abortable((signal) => call(timed, CHECK_REQUEST, { signal })).pipe(
          tap({ error: (e: unknown) => (rateLimited = e instanceof ModelCallError && e.kind === 'rate_limited' ? e : undefined) }),
        ),
        { retry: { maxRetries: 0 }, ...(scheduler && { scheduler }) },
      );
    return defer(() => {
      const startedAt = clock.now();
      const result = (o: ModelOutcome, attempts: number): CheckResult => ({
        port: o.port,
        model: o.model,
        family: o.family,
        host: hostOf(member.baseURL),
        ok: o.ok,
        kind: o.ok ? null : o.kind,
        latencyMs: clock.now() - startedAt,
        attempts,
        ...(!o.ok && { message: o.message }),
      });
      return once().pipe(
        switchMap((first) => {
          if (first.ok || first.kind !== 'rate_limited') return of(result(first, 1));
          const wait = rateLimited?.retryAfterMs ?? RETRY_429_DEFAULT_MS;
          if (wait > cap) {
            return of({ ...result(first, 1), message: `${first.message} (server asked to retry after ${Math.ceil(wait / 1000)} s, longer than the ${cap / 1000} s a check waits)` });
          }
          return timer(wait, clock).pipe(
            switchMap(() => once()),
            map((second) => result(second, 2)),
          );
        }),
      );
    });
  };
  return merge(...panel.members.map(callPort));
}

/**
 * Failure messages that mean the host was never reached: the name did not resolve, nothing
 * listens, no route. Then the member's model was not tested at all, and replacing it would not help.
 */
const UNREACHABLE = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT)\b|bad port/;

/** Whether a failed member's host could not be reached at all (DNS, connection refused, no route). */
export function unreachable(result: CheckResult): boolean {
  return !result.ok && (result.kind === 'network' || result.kind === 'timeout') && UNREACHABLE.test(result.message ?? '');
}

/** A check's verdict, and what to do about each kind of failure. */
export interface CheckVerdict {
  passed: boolean;
  healthy: number;
  total: number;
  quorum: number;
  /** Hosts none of whose members could be reached: a network or base URL problem, not the models'. */
  unreachableHosts: { host: string; ports: number[]; reason: string }[];
  /** Hosts that refused the key (401/403) for every member asked there. */
  refusedHosts: { host: string; apiKeyEnv: string; ports: number[] }[];
  /** Members still rate limited after the retry: out of quota for now. */
  rateLimited: CheckResult[];
  /** Members whose model failed (error, garbage, timeout, gone): candidates for replacement. */
  failing: CheckResult[];
}

/**
 * Sorts the failures of a check by what fixes them: a host that cannot be reached (check the
 * network or the base URL), a key refused by a host (check the key variable), a rate limit
 * (wait), and the rest (replace the member). Pure.
 */
export function judgeCheck(panel: Panel, results: readonly CheckResult[]): CheckVerdict {
  const healthy = results.filter((r) => r.ok).length;
  const byHost = new Map<string, CheckResult[]>();
  for (const r of results) byHost.set(r.host, [...(byHost.get(r.host) ?? []), r]);
  const unreachableHosts: CheckVerdict['unreachableHosts'] = [];
  const refusedHosts: CheckVerdict['refusedHosts'] = [];
  const explained = new Set<number>();
  for (const [host, rs] of byHost) {
    if (rs.every(unreachable)) {
      const reason = UNREACHABLE.exec(rs[0]!.message ?? '')?.[0] ?? 'network';
      unreachableHosts.push({ host, ports: rs.map((r) => r.port), reason });
      rs.forEach((r) => explained.add(r.port));
    } else if (rs.every((r) => r.kind === 'auth')) {
      const apiKeyEnv = panel.members.find((m) => m.port === rs[0]!.port)?.apiKeyEnv ?? panel.apiKeyEnv;
      refusedHosts.push({ host, apiKeyEnv, ports: rs.map((r) => r.port) });
      rs.forEach((r) => explained.add(r.port));
    }
  }
  const rest = results.filter((r) => !r.ok && !explained.has(r.port));
  return {
    passed: checkPassed(panel, results),
    healthy,
    total: results.length,
    quorum: panelQuorum(panel),
    unreachableHosts,
    refusedHosts,
    rateLimited: rest.filter((r) => r.kind === 'rate_limited'),
    failing: rest.filter((r) => r.kind !== 'rate_limited'),
  };
}

/** The quorum a check is judged against: the panel file's `quorum`, else ceil(0.75·N). */
export function panelQuorum(panel: Panel): number {
  return panel.quorum ?? defaultQuorum(panel.members.length);
}

/** A check passes when at least a quorum of members is healthy. */
export function checkPassed(panel: Panel, results: readonly CheckResult[]): boolean {
  return results.filter((r) => r.ok).length >= panelQuorum(panel);
}
