import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  InternalServerError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import { describe, expect, it } from 'vitest';
import { ModelCallError } from '../../src/errors.js';
import { classifyError, MAX_MESSAGE_LENGTH, rateLimitFrom, retryAfterMsFrom } from '../../src/models/classify.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const KEY = 'or-secret-key-material-123';

/** What the SDK throws for an HTTP error: `APIError.generate` picks the subclass by status. */
const httpError = (status: number, body: object | undefined, headers: Record<string, string> = {}): APIError =>
  APIError.generate(status, body, undefined, new Headers(headers));

describe('classifyError: HTTP statuses', () => {
  it('maps 401 and 403 to auth', () => {
    const e401 = httpError(401, { error: { code: 401, message: 'User not found.' } });
    expect(e401).toBeInstanceOf(AuthenticationError);
    expect(classifyError(e401)).toMatchObject({ kind: 'auth', status: 401, message: 'HTTP 401: User not found.' });
    const e403 = httpError(403, { error: { message: 'Forbidden' } });
    expect(e403).toBeInstanceOf(PermissionDeniedError);
    expect(classifyError(e403)).toMatchObject({ kind: 'auth', status: 403 });
  });

  it("maps 402 to http with the provider's message", () => {
    const err = httpError(402, { error: { code: 402, message: 'Insufficient credits. Add more using https://openrouter.ai/credits' } });
    expect(classifyError(err)).toMatchObject({ kind: 'http', status: 402, message: 'HTTP 402: Insufficient credits. Add more using https://openrouter.ai/credits' });
  });

  it('maps 429 to rate_limited with Retry-After in seconds', () => {
    const err = httpError(429, { error: { message: 'Rate limit exceeded' } }, { 'retry-after': '7' });
    expect(err).toBeInstanceOf(RateLimitError);
    expect(classifyError(err, [], NOW)).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 7000 });
  });

  it('reads Retry-After as an HTTP date, and retry-after-ms before it', () => {
    const date = new Date(NOW + 30_000).toUTCString();
    expect(classifyError(httpError(429, {}, { 'retry-after': date }), [], NOW).retryAfterMs).toBe(30_000);
    expect(classifyError(httpError(429, {}, { 'retry-after': '9', 'retry-after-ms': '250' }), [], NOW).retryAfterMs).toBe(250);
  });

  it('reads X-RateLimit-Reset as epoch ms (OpenRouter) or epoch s', () => {
    expect(classifyError(httpError(429, {}, { 'x-ratelimit-reset': String(NOW + 4_000) }), [], NOW).retryAfterMs).toBe(4_000);
    expect(classifyError(httpError(429, {}, { 'x-ratelimit-reset': String(NOW / 1000 + 5) }), [], NOW).retryAfterMs).toBe(5_000);
  });

  it('reads OpenAI-style reset durations and never returns a negative wait', () => {
    expect(retryAfterMsFrom(new Headers({ 'x-ratelimit-reset-requests': '1m30s' }), NOW)).toBe(90_000);
    expect(retryAfterMsFrom(new Headers({ 'x-ratelimit-reset-requests': '250ms' }), NOW)).toBe(250);
    expect(retryAfterMsFrom(new Headers({ 'x-ratelimit-reset': String(NOW - 5_000) }), NOW)).toBe(0);
    expect(retryAfterMsFrom(new Headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(classifyError(httpError(429, {}), [], NOW).retryAfterMs).toBeUndefined();
  });

  it('maps 5xx to http, keeping a Retry-After the server sent', () => {
    const err = httpError(503, { error: { code: 503, message: 'No instances available' } }, { 'retry-after': '2' });
    expect(err).toBeInstanceOf(InternalServerError);
    expect(classifyError(err, [], NOW)).toMatchObject({ kind: 'http', status: 503, retryAfterMs: 2000 });
    expect(classifyError(httpError(500, undefined))).toMatchObject({ kind: 'http', status: 500 });
  });

  it("names OpenRouter's provider and raw upstream message", () => {
    const err = httpError(502, { error: { code: 502, message: 'Provider returned error', metadata: { provider_name: 'Chutes', raw: 'upstream timeout' } } });
    expect(classifyError(err).message).toBe('HTTP 502: Provider returned error (provider: Chutes): upstream timeout');
  });

  it('maps other statuses to http', () => {
    expect(classifyError(httpError(404, { error: { message: 'No endpoints found' } }))).toMatchObject({ kind: 'http', status: 404 });
    expect(classifyError(httpError(400, { error: { message: 'Bad' } }))).toMatchObject({ kind: 'http', status: 400 });
  });

  it('uses the raw body when the error response was not JSON', () => {
    const err = APIError.generate(502, undefined, '<html>Bad gateway</html>', new Headers());
    expect(classifyError(err)).toMatchObject({ kind: 'http', status: 502, message: 'HTTP 502: <html>Bad gateway</html>' });
  });

  it('maps an error event inside a stream (no status) to http with its code', () => {
    // What the SDK throws for `data: {"error": {...}}` in an SSE stream.
    const err = new APIError(undefined, { code: 502, message: 'Provider disconnected' }, undefined, new Headers());
    expect(classifyError(err)).toMatchObject({ kind: 'http', status: 502, message: 'Provider error in stream: Provider disconnected' });
    const named = new APIError(undefined, { code: 'server_error', message: 'Boom' }, undefined, undefined);
    expect(classifyError(named)).toMatchObject({ kind: 'http', status: undefined });
  });
});

describe('classifyError: transport', () => {
  it('maps APIConnectionTimeoutError and TimeoutError to timeout', () => {
    expect(classifyError(new APIConnectionTimeoutError()).kind).toBe('timeout');
    expect(classifyError(new DOMException('The operation timed out', 'TimeoutError')).kind).toBe('timeout');
    expect(classifyError(Object.assign(new Error('connect'), { code: 'UND_ERR_CONNECT_TIMEOUT' })).kind).toBe('timeout');
  });

  it('maps APIUserAbortError and AbortError to cancelled', () => {
    expect(classifyError(new APIUserAbortError())).toMatchObject({ kind: 'cancelled', message: 'Request cancelled' });
    expect(classifyError(new DOMException('This operation was aborted', 'AbortError')).kind).toBe('cancelled');
  });

  it('maps APIConnectionError to network, naming the cause', () => {
    const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const err = new APIConnectionError({ cause: new TypeError('fetch failed', { cause: socket }) });
    expect(classifyError(err)).toMatchObject({ kind: 'network', message: 'Connection error: fetch failed: other side closed (UND_ERR_SOCKET)' });
    expect(classifyError(new APIConnectionError({})).message).toBe('Connection error: Connection error.');
  });

  it('maps ECONNRESET, socket hang up and terminated to network', () => {
    expect(classifyError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).kind).toBe('network');
    expect(classifyError(new Error('socket hang up')).kind).toBe('network');
    expect(classifyError(new TypeError('terminated', { cause: new Error('other side closed') })).kind).toBe('network');
  });

  it('maps SyntaxError and JSON parse failures to malformed', () => {
    expect(classifyError(new SyntaxError('Unexpected token < in JSON at position 0'))).toMatchObject({ kind: 'malformed' });
    expect(classifyError(new Error('Could not parse JSON body')).kind).toBe('malformed');
  });

  it('treats anything else as network, with a readable message', () => {
    expect(classifyError('weird')).toMatchObject({ kind: 'network', message: 'Unexpected error: weird' });
    expect(classifyError(undefined)).toMatchObject({ kind: 'network' });
  });
});

describe('classifyError: messages', () => {
  it('passes a ModelCallError through unchanged', () => {
    const original = new ModelCallError('empty', 'Model returned no content', undefined, undefined);
    expect(classifyError(original)).toBe(original);
  });

  it('redacts the key from a ModelCallError too', () => {
    const out = classifyError(new ModelCallError('http', `bad key ${KEY}`, 500, 10), [KEY]);
    expect(out).toMatchObject({ kind: 'http', status: 500, retryAfterMs: 10 });
    expect(out.message).not.toContain(KEY);
  });

  it('never shows the API key, given or shaped like one', () => {
    // Assembled at run time so secret scanners do not take the fixture for a leaked key.
    const keyShaped = ['sk-or-v1', 'abcdef0123456789'].join('-');
    const err = httpError(401, { error: { message: `Incorrect API key provided: ${KEY}; also ${keyShaped} and Bearer abcdefghijkl` } });
    const { message } = classifyError(err, [KEY]);
    expect(message).not.toContain(KEY);
    expect(message).not.toContain(keyShaped);
    expect(message).not.toContain('abcdefghijkl');
  });

  it('keeps messages to one line of at most 300 characters, redacting before cutting', () => {
    const long = `first line\nsecond line ${'x'.repeat(256)} ${KEY} ${'y'.repeat(500)}`;
    const { message } = classifyError(httpError(500, { error: { message: long } }), [KEY]);
    expect(message).not.toMatch(/\n/);
    expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(message).not.toContain(KEY.slice(0, 8));
  });
});

describe('rateLimitFrom', () => {
  it('reads OpenRouter X-RateLimit-* headers, the reset as epoch ms', () => {
    const headers = new Headers({ 'X-RateLimit-Limit': '20', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(NOW + 42_000) });
    expect(rateLimitFrom(headers, NOW)).toEqual({ limit: 20, remaining: 0, resetAtMs: NOW + 42_000 });
  });

  it('reads a reset given as epoch seconds or as seconds from now', () => {
    expect(rateLimitFrom(new Headers({ 'x-ratelimit-reset': String(NOW / 1000 + 30) }), NOW)).toEqual({ resetAtMs: NOW + 30_000 });
    expect(rateLimitFrom(new Headers({ 'x-ratelimit-reset': '12' }), NOW)).toEqual({ resetAtMs: NOW + 12_000 });
  });

  it("falls back to OpenAI's -requests headers, the reset as a duration", () => {
    const headers = new Headers({ 'x-ratelimit-limit-requests': '500', 'x-ratelimit-remaining-requests': '499', 'x-ratelimit-reset-requests': '1m30s' });
    expect(rateLimitFrom(headers, NOW)).toEqual({ limit: 500, remaining: 499, resetAtMs: NOW + 90_000 });
  });

  it('is undefined without rate-limit headers, and skips values that are not counts', () => {
    expect(rateLimitFrom(new Headers({ 'content-type': 'application/json' }), NOW)).toBeUndefined();
    expect(rateLimitFrom(undefined, NOW)).toBeUndefined();
    expect(rateLimitFrom(new Headers({ 'x-ratelimit-limit': 'lots', 'x-ratelimit-remaining': '-1', 'x-ratelimit-reset': 'soon' }), NOW)).toBeUndefined();
  });

  it('puts the headers of a 429 on the classified error', () => {
    const err = httpError(429, { error: { message: 'Rate limit exceeded: free-models-per-day' } }, {
      'x-ratelimit-limit': '50',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(NOW + 6 * 3600_000),
    });
    const out = classifyError(err, [], NOW);
    expect(out).toMatchObject({ kind: 'rate_limited', retryAfterMs: 6 * 3600_000, rateLimit: { limit: 50, remaining: 0, resetAtMs: NOW + 6 * 3600_000 } });
  });

  it('keeps rateLimit when it redacts a ModelCallError', () => {
    const original = new ModelCallError('http', `bad key ${KEY}`, 500);
    original.rateLimit = { remaining: 3 };
    expect(classifyError(original, [KEY]).rateLimit).toEqual({ remaining: 3 });
  });
});
