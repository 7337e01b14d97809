/**
 * What `quorum panel --check` prints: a header saying what is checked and how long a member may
 * take, one line per member as its result arrives (so a hung member never leaves the screen
 * silent without saying how long it may take), then the verdict, which names the fix for each
 * kind of failure: the network or base URL, the key, waiting out a rate limit, or replacing a
 * model.
 */
import type { Panel } from '../types.js';
import { type CheckResult, type CheckVerdict, hostOf, RETRY_429_CAP_MS } from './check.js';

/** Column widths of the result lines, fixed before the first result so streamed lines align. */
export interface CheckColumns {
  port: number;
  model: number;
  family: number;
}

const RESULT_WIDTH = 'failed: rate_limited'.length;
const TIME_WIDTH = '30000 ms'.length;

export function checkColumns(panel: Panel): CheckColumns {
  return {
    port: Math.max('port'.length, ...panel.members.map((m) => String(m.port).length)),
    model: Math.max('model'.length, ...panel.members.map((m) => m.model.length)),
    family: Math.max('family'.length, ...panel.members.map((m) => m.family.length)),
  };
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The deadline a member gets: `--timeout`, else the members' own (one value, or "each member's"). */
function deadline(panel: Panel, timeoutMs: number | undefined): string {
  if (timeoutMs !== undefined) return seconds(timeoutMs);
  const own = new Set(panel.members.map((m) => m.timeoutMs));
  return own.size === 1 ? seconds([...own][0]!) : "each member's timeoutMs";
}

/** The lines printed before any result: what is asked of whom, and the bound on the wait. */
export function checkHeader(panel: Panel, timeoutMs: number | undefined, columns: CheckColumns): string[] {
  const hosts = [...new Set(panel.members.map((m) => hostOf(m.baseURL)))];
  const n = panel.members.length;
  return [
    `Checking ${n} member${n === 1 ? '' : 's'} at ${hosts.join(', ')}: one request each, all at once; no answer within ${deadline(panel, timeoutMs)} is a timeout, and a 429 is retried once (after its Retry-After, up to ${seconds(RETRY_429_CAP_MS)}).`,
    '',
    row(columns, 'port', 'model', 'family', 'result', 'time'),
  ];
}

function row(c: CheckColumns, port: string, model: string, family: string, result: string, time: string): string {
  return [port.padEnd(c.port), model.padEnd(c.model), family.padEnd(c.family), result.padEnd(RESULT_WIDTH), time.padStart(TIME_WIDTH)].join('  ').trimEnd();
}

/**
 * One member's line, printed as soon as its result is in: the outcome and the time it took
 * (for a timeout, how long the member was waited for). Reasons follow in {@link checkDetails}.
 */
export function checkLine(result: CheckResult, columns: CheckColumns): string {
  const outcome = result.ok ? 'ok' : `failed: ${result.kind}`;
  return row(columns, String(result.port), result.model, result.family, outcome, `${result.latencyMs} ms`);
}

/**
 * After the results: each failure's one-line reason, and which members needed their 429
 * retried. Members of a host that could not be reached are left to the verdict's one line
 * about that host, instead of eight copies of the same DNS error.
 */
export function checkDetails(results: readonly CheckResult[], verdict: CheckVerdict): string[] {
  const explained = new Set(verdict.unreachableHosts.flatMap((h) => h.ports));
  return [...results]
    .sort((a, b) => a.port - b.port)
    .filter((r) => !explained.has(r.port))
    .flatMap((r) => {
      if (r.ok) return r.attempts > 1 ? [`port ${r.port} ${r.model}: ok after one retry of a 429`] : [];
      const again = r.attempts > 1 ? ' (again after one retry)' : '';
      return [`port ${r.port} ${r.model}: ${r.kind}${again}: ${r.message ?? 'no detail'}`];
    });
}

/** Plain words for the transport codes that mean a host was never reached. */
const REASONS: Record<string, string> = {
  ENOTFOUND: 'the name does not resolve, ENOTFOUND',
  EAI_AGAIN: 'the name does not resolve, EAI_AGAIN',
  ECONNREFUSED: 'connection refused, ECONNREFUSED',
  EHOSTUNREACH: 'no route to the host, EHOSTUNREACH',
  ENETUNREACH: 'no network, ENETUNREACH',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  'bad port': 'a port fetch refuses to use',
};

const ports = (list: readonly number[]): string => `port${list.length === 1 ? '' : 's'} ${[...list].sort((a, b) => a - b).join(', ')}`;

/**
 * The verdict: HEALTHY / UNHEALTHY against the quorum, then one line per fix needed.
 * `freeModels` is the command that lists free models, in the form the user runs quorum.
 */
export function verdictLines(v: CheckVerdict, freeModels: string): string[] {
  const lines = [
    v.passed
      ? `HEALTHY: ${v.healthy} of ${v.total} members answered; the quorum is ${v.quorum}.`
      : `UNHEALTHY: only ${v.healthy} of ${v.total} members answered; the quorum is ${v.quorum}.`,
  ];
  for (const h of v.unreachableHosts) {
    lines.push(
      `Cannot reach ${h.host} (${REASONS[h.reason] ?? h.reason}; ${ports(h.ports)}): check the network and the base URL (the panel file's baseURL, or OPENROUTER_BASE_URL). The models there were not tested; do not replace them for this.`,
    );
  }
  for (const h of v.refusedHosts) {
    lines.push(`${h.host} refused the key (${ports(h.ports)}): check ${h.apiKeyEnv}; the models there were not tested.`);
  }
  if (v.rateLimited.length) {
    lines.push(`Rate limited (${ports(v.rateLimited.map((r) => r.port))}): still 429 after one retry; wait a minute and check again, or replace them if it persists.`);
  }
  if (v.failing.length) {
    lines.push(`Replace the failing members (${ports(v.failing.map((r) => r.port))}); ${freeModels} lists free models.`);
  }
  return lines;
}
