/**
 * Maps whatever a model call threw onto the DESIGN.md failure kinds, so operators decide on
 * retries and reports by kind, never by parsing messages.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ModelCallError, redact } from '../errors.js';
import type { RateLimitHeaders } from '../types.js';

/** Longest message a failure carries: it ends up on one terminal line and in artifacts. */
export const MAX_MESSAGE_LENGTH = 300;

/** Transport error codes (Node, undici) that mean the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_ABORTED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Transport error codes that mean a deadline passed. */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Collapses to one line, removes credentials, then shortens (redacting first, so no half-key survives). */
export function oneLine(text: string, secrets: readonly string[] = []): string {
  const flat = redact(text, secrets).replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE_LENGTH ? `${flat.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : flat;
}

/** The error and its `cause` chain, nearest first; bounded in case of a cycle. */
function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = err;
  while (current !== undefined && current !== null && chain.length < 8 && !chain.includes(current)) {
    chain.push(current);
    current = typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return chain;
}

const field = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;

const messageOf = (value: unknown): string => {
  const m = field(value, 'message');
  return typeof m === 'string' ? m : typeof value === 'string' ? value : '';
};

/** "fetch failed: other side closed (UND_ERR_SOCKET)" — every distinct message and code in the chain. */
function describeChain(chain: unknown[]): string {
  const parts: string[] = [];
  for (const e of chain) {
    const m = messageOf(e);
    const code = field(e, 'code');
    const piece = typeof code === 'string' && !m.includes(code) ? `${m} (${code})` : m;
    if (piece && !parts.includes(piece)) parts.push(piece);
  }
  return parts.join(': ');
}

/** Parses a header value as a wait in ms: delta seconds, an HTTP date, an epoch, or "1m30s". */
function waitFromHeader(name: string, value: string, now: number): number | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  if (name === 'retry-after-ms') {
    const ms = Number(v);
    return Number.isFinite(ms) ? ms : undefined;
  }
  if (/^\d+(\.\d+)?$/.test(v)) {
    const n = Number(v);
    if (name === 'retry-after') return n * 1000;
    // X-RateLimit-Reset is an epoch on OpenRouter (ms) and some others (s); small numbers are a delta.
    if (n >= 1e12) return n - now;
    if (n >= 1e9) return n * 1000 - now;
    return n * 1000;
  }
  const duration = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(v);
  if (duration && duration.slice(1).some((g) => g !== undefined)) {
    const [, h = '0', m = '0', s = '0', ms = '0'] = duration;
    return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(ms);
  }
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : date - now;
}

/**
 * The server-requested wait before retrying, in ms, from the first header present among
 * `retry-after-ms`, `retry-after`, `x-ratelimit-reset`, `x-ratelimit-reset-requests`.
 */
export function retryAfterMsFrom(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  for (const name of ['retry-after-ms', 'retry-after', 'x-ratelimit-reset', 'x-ratelimit-reset-requests']) {
    const value = headers.get(name);
    if (value === null) continue;
    const ms = waitFromHeader(name, value, now);
    if (ms !== undefined && Number.isFinite(ms)) return Math.max(0, Math.round(ms));
  }
  return undefined;
}

/** The first header among `names` that holds a whole number ≥ 0. */
function countHeader(headers: Headers, names: readonly string[]): number | undefined {
  for (const name of names) {
    const value = headers.get(name)?.trim();
    if (value && /^\d+$/.test(value)) return Number(value);
  }
  return undefined;
}

/**
 * A response's rate-limit headers: `X-RateLimit-Limit`, `-Remaining` and `-Reset` (OpenRouter;
 * the reset as epoch ms, epoch s or seconds from now), else OpenAI's `-Requests` variants (the
 * reset as a duration, "1m30s"). Undefined when none is present, so answers without them stay
 * unchanged.
 */
export function rateLimitFrom(headers: Headers | undefined, now: number = Date.now()): RateLimitHeaders | undefined {
  if (!headers) return undefined;
  const out: RateLimitHeaders = {};
  const limit = countHeader(headers, ['x-ratelimit-limit', 'x-ratelimit-limit-requests']);
  const remaining = countHeader(headers, ['x-ratelimit-remaining', 'x-ratelimit-remaining-requests']);
  if (limit !== undefined) out.limit = limit;
  if (remaining !== undefined) out.remaining = remaining;
  for (const name of ['x-ratelimit-reset', 'x-ratelimit-reset-requests']) {
    const value = headers.get(name);
    const wait = value === null ? undefined : waitFromHeader(name, value, now);
    if (wait !== undefined && Number.isFinite(wait)) {
      out.resetAtMs = Math.round(now + Math.max(0, wait));
      break;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The provider's own words from an error body (`{error:{message, metadata}}`), if any. */
function providerDetail(error: unknown, fallback: string): string {
  const message = messageOf(error);
  const metadata = field(error, 'metadata');
  const provider = field(metadata, 'provider_name');
  const raw = field(metadata, 'raw');
  let out = message || fallback;
  if (typeof provider === 'string' && provider) out += ` (provider: ${provider})`;
  if (typeof raw === 'string' && raw && !out.includes(raw)) out += `: ${raw}`;
  return out;
}

function fromAPIError(err: APIError, make: Make, now: number): ModelCallError {
  const status = err.status;
  if (status === undefined) {
    // Thrown by the SDK for a `data: {"error": …}` SSE event: the provider failed mid-stream.
    const code = field(err.error, 'code');
    const numeric = typeof code === 'number' ? code : typeof code === 'string' && /^\d{3}$/.test(code) ? Number(code) : undefined;
    return make('http', `Provider error in stream: ${providerDetail(err.error, err.message)}`, numeric);
  }
  // Without a JSON body the SDK's message is "<status> <raw body text>".
  const detail = providerDetail(err.error, err.message.replace(new RegExp(`^${status}\\s*`), '') || 'no body');
  const retryAfterMs = retryAfterMsFrom(err.headers, now);
  const error =
    status === 401 || status === 403
      ? make('auth', `HTTP ${status}: ${detail}`, status)
      : status === 429
        ? make('rate_limited', `HTTP 429: ${detail}`, status, retryAfterMs)
        : make('http', `HTTP ${status}: ${detail}`, status, status >= 500 ? retryAfterMs : undefined);
  // A 429's headers are what the rate limiter learns the server's limit and reset from.
  const rateLimit = rateLimitFrom(err.headers, now);
  if (rateLimit) error.rateLimit = rateLimit;
  return error;
}

type Make = (kind: ModelCallError['kind'], message: string, status?: number, retryAfterMs?: number) => ModelCallError;

/**
 * Classifies a failed model call into a {@link ModelCallError} with a DESIGN.md kind.
 *
 * - `APIError` 401/403 → `auth`; 429 → `rate_limited` (with `retryAfterMs` from the headers);
 *   other statuses → `http` (5xx keep `retryAfterMs` when the server sent one); any
 *   `X-RateLimit-*` headers go to `rateLimit` (see {@link rateLimitFrom});
 *   an error event inside a stream (no status) → `http`.
 * - `APIConnectionTimeoutError`, `TimeoutError`, transport timeout codes → `timeout`.
 * - `APIUserAbortError`, `AbortError` → `cancelled`.
 * - `APIConnectionError`, ECONNRESET, "socket hang up", "terminated" → `network`.
 * - `SyntaxError`, JSON parse failures → `malformed`.
 * - A `ModelCallError` keeps its kind; anything unrecognised is `network`.
 *
 * Messages are one line, at most {@link MAX_MESSAGE_LENGTH} characters, and redacted.
 *
 * @param secrets values (API keys) to remove from messages besides the usual key patterns.
 * @param now clock for turning reset epochs and HTTP dates into a wait; for tests.
 */
export function classifyError(err: unknown, secrets: readonly string[] = [], now: number = Date.now()): ModelCallError {
  const make: Make = (kind, message, status, retryAfterMs) => new ModelCallError(kind, oneLine(message, secrets), status, retryAfterMs);

  if (err instanceof ModelCallError) {
    const message = oneLine(err.message, secrets);
    if (message === err.message) return err;
    const redacted = new ModelCallError(err.kind, message, err.status, err.retryAfterMs);
    if (err.rateLimit) redacted.rateLimit = err.rateLimit;
    return redacted;
  }
  if (err instanceof APIUserAbortError) return make('cancelled', 'Request cancelled');
  if (err instanceof APIConnectionTimeoutError) return make('timeout', 'Request timed out');
  const chain = causeChain(err);
  if (err instanceof APIConnectionError) {
    return make('network', `Connection error: ${describeChain(chain.slice(1)) || err.message}`);
  }
  if (err instanceof APIError) return fromAPIError(err, make, now);

  const names = chain.map((e) => field(e, 'name'));
  const codes = chain.map((e) => field(e, 'code')).filter((c): c is string => typeof c === 'string');
  const text = describeChain(chain) || String(err);
  if (names.includes('AbortError')) return make('cancelled', 'Request cancelled');
  if (names.includes('TimeoutError') || codes.some((c) => TIMEOUT_CODES.has(c))) return make('timeout', `Timed out: ${text}`);
  if (
    codes.some((c) => NETWORK_CODES.has(c)) ||
    chain.some((e) => /^(terminated|socket hang up|fetch failed|other side closed)$/i.test(messageOf(e).trim()))
  ) {
    return make('network', `Connection error: ${text}`);
  }
  if (names.includes('SyntaxError') || /\bJSON\b|Unexpected token|Unexpected end of/i.test(text)) {
    return make('malformed', `Unreadable response: ${text}`);
  }
  return make('network', text ? `Unexpected error: ${text}` : 'Unexpected error');
}
