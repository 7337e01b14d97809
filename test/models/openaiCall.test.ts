import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelCallError } from '../../src/errors.js';
import { createOpenAICall } from '../../src/models/openaiCall.js';
import { abortable } from '../../src/operators/abortable.js';
import { portCall } from '../../src/pipelines/portCall.js';
import { FAULTS, type Fault, type SandboxModel } from '../../src/sandbox/scenario.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { FailureKind, PanelMember } from '../../src/types.js';

const KEY = 'sk-or-v1-sandbox-test-key-0123456789';
const env = { SANDBOX_KEY: KEY };
const ANSWER = '{"claims": ["The sandbox is simulated.", "Simulated answers arrive in several chunks of text."]}';
const REQUEST = { query: 'What is the sandbox?' };

const faultModel = (fault: Fault, extra: Partial<SandboxModel> = {}): SandboxModel => ({ model: `fault/${fault}`, fault, answer: ANSWER, ...extra });

let server: SandboxServer;
beforeAll(async () => {
  server = await startSandboxServer({
    scenario: {
      models: [
        { model: 'acme/ok', answer: ANSWER, usage: { prompt_tokens: 12, completion_tokens: 34, cost: 0.0015 } },
        { model: 'acme/reasoner', answer: ANSWER, reasoning: 'IGNORE-THIS-REASONING' },
        { model: 'acme/slow-stream', answer: `${ANSWER} `.repeat(20), tokenDelayMs: 20 },
        ...FAULTS.map((f) => faultModel(f, f === 'rate_limit' ? { retryAfterS: 2 } : {})),
      ],
    },
  });
});
afterAll(async () => {
  await server.close();
});

const member = (model: string, extra: Partial<PanelMember> = {}): PanelMember => ({
  port: 0,
  model,
  family: 'acme',
  baseURL: server.baseURL,
  apiKeyEnv: 'SANDBOX_KEY',
  timeoutMs: 5_000,
  ...extra,
});

const hooks = (extra: { onFirstToken?: () => void; signal?: AbortSignal } = {}) => ({ signal: new AbortController().signal, ...extra });

async function failure(promise: Promise<unknown>): Promise<ModelCallError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ModelCallError);
    return err as ModelCallError;
  }
  throw new Error('expected the call to fail');
}

describe.each([true, false])('createOpenAICall (stream: %s)', (stream) => {
  const call = createOpenAICall({ env, stream });

  it('returns the content, usage with cost, finish reason and response id', async () => {
    const onFirstToken = vi.fn();
    const answer = await call(member('acme/ok'), REQUEST, hooks({ onFirstToken }));
    expect(answer).toEqual({
      text: ANSWER,
      usage: { inputTokens: 12, outputTokens: 34, cost: 0.0015 },
      finishReason: 'stop',
      responseId: expect.stringMatching(/^gen-/),
    });
    expect(onFirstToken).toHaveBeenCalledTimes(1);
  });

  it('ignores reasoning text; only content is the answer', async () => {
    const answer = await call(member('acme/reasoner'), REQUEST, hooks());
    expect(answer.text).toBe(ANSWER);
  });

  it('sends temperature and max_tokens from the member', async () => {
    const before = server.requests.length;
    await call(member('acme/ok', { temperature: 0.2, maxTokens: 300 }), REQUEST, hooks());
    expect(server.requests.slice(before)).toEqual([expect.objectContaining({ model: 'acme/ok', stream, temperature: 0.2, maxTokens: 300 })]);
  });

  const expected: Record<Exclude<Fault, 'hang'>, { kind: FailureKind; status?: number; message?: RegExp }> = {
    rate_limit: { kind: 'rate_limited', status: 429 },
    http_500: { kind: 'http', status: 500 },
    http_502: { kind: 'http', status: 502 },
    http_503: { kind: 'http', status: 503 },
    http_402: { kind: 'http', status: 402, message: /Insufficient credits/ },
    reset: { kind: 'network' },
    malformed: { kind: 'malformed' },
    error_in_200: { kind: 'http', status: 502, message: /Provider/ },
    midstream_error: { kind: 'http', message: /Provider disconnected unexpectedly|finish_reason "error"/ },
    truncated: { kind: 'network', message: stream ? /truncated/i : /terminated/ },
    empty: { kind: 'empty' },
    auth: { kind: 'auth', status: 401 },
  };

  it.each(Object.entries(expected))('classifies the %s fault', async (fault, want) => {
    const err = await failure(call(member(`fault/${fault}`), REQUEST, hooks()));
    expect(err.kind).toBe(want.kind);
    if (want.status !== undefined) expect(err.status).toBe(want.status);
    if (want.message) expect(err.message).toMatch(want.message);
    expect(err.message).not.toMatch(/\n/);
  });

  it('passes the Retry-After of a 429 on as retryAfterMs', async () => {
    const err = await failure(call(member('fault/rate_limit'), REQUEST, hooks()));
    expect(err.retryAfterMs).toBe(2000);
  });

  it('reports an unknown model as http 404', async () => {
    const err = await failure(call(member('acme/nope'), REQUEST, hooks()));
    expect(err).toMatchObject({ kind: 'http', status: 404 });
  });

  it('cancels a pending request promptly when the signal aborts, closing the socket', async () => {
    const controller = new AbortController();
    const before = server.requests.length;
    const pending = call(member('fault/hang'), REQUEST, hooks({ signal: controller.signal }));
    await vi.waitFor(() => expect(server.requests.length).toBe(before + 1));
    const t0 = performance.now();
    controller.abort();
    const err = await failure(pending);
    expect(err.kind).toBe('cancelled');
    expect(performance.now() - t0).toBeLessThan(500);
    await vi.waitFor(() => expect(server.requests[before]?.disconnected).toBe(true));
  });

  it('rejects with cancelled without sending anything when already aborted', async () => {
    const before = server.requests.length;
    const err = await failure(call(member('acme/ok'), REQUEST, hooks({ signal: AbortSignal.abort() })));
    expect(err.kind).toBe('cancelled');
    expect(server.requests.length).toBe(before);
  });

  it('names a missing key variable, never sending a request', async () => {
    const before = server.requests.length;
    const err = await failure(createOpenAICall({ env: {}, stream })(member('acme/ok'), REQUEST, hooks()));
    expect(err).toMatchObject({ kind: 'auth', message: 'Environment variable SANDBOX_KEY is not set' });
    expect(server.requests.length).toBe(before);
  });
});

describe('createOpenAICall: streaming specifics', () => {
  it('rejects with cancelled when aborted mid-stream, though the SDK ends the stream quietly', async () => {
    const controller = new AbortController();
    const before = server.requests.length;
    const call = createOpenAICall({ env });
    const pending = call(member('acme/slow-stream'), REQUEST, hooks({ signal: controller.signal, onFirstToken: () => controller.abort() }));
    const err = await failure(pending);
    expect(err.kind).toBe('cancelled');
    await vi.waitFor(() => expect(server.requests[before]?.disconnected).toBe(true));
  });
});

describe('createOpenAICall: the key stays secret', () => {
  let echo: SandboxServer;
  beforeAll(async () => {
    echo = await startSandboxServer({
      scenario: {
        echoKey: true,
        models: FAULTS.filter((f) => f !== 'hang').map((f) => faultModel(f)),
      },
    });
  });
  afterAll(async () => {
    await echo.close();
  });

  it.each([true, false])('never shows the key in an error message, even when the server echoes it (stream: %s)', async (stream) => {
    const call = createOpenAICall({ env, stream });
    const messages: string[] = [];
    for (const m of FAULTS.filter((f) => f !== 'hang')) {
      const err = await failure(call({ ...member(`fault/${m}`), baseURL: echo.baseURL }, REQUEST, hooks()));
      messages.push(err.message);
    }
    expect(messages.some((m) => m.includes('[redacted]'))).toBe(true);
    for (const m of messages) expect(m).not.toContain(KEY);
  });

  it('redacts a key with no recognisable shape too', async () => {
    const plainKey = 'plainpassword42';
    const strict = await startSandboxServer({ scenario: { requireKey: 'other-key-xyz', echoKey: true, models: [{ model: 'acme/ok' }] } });
    try {
      const err = await failure(
        createOpenAICall({ env: { K: plainKey } })({ ...member('acme/ok'), baseURL: strict.baseURL, apiKeyEnv: 'K' }, REQUEST, hooks()),
      );
      expect(err.kind).toBe('auth');
      expect(err.message).not.toContain(plainKey);
    } finally {
      await strict.close();
    }
  });
});

describe.each([true, false])('createOpenAICall: rate-limit headers (stream: %s)', (stream) => {
  let limited: SandboxServer;
  beforeAll(async () => {
    limited = await startSandboxServer({
      scenario: {
        rateLimit: { requests: 2, windowMs: 60_000 },
        models: [{ model: 'acme/ok', answer: ANSWER }, { model: 'fault/truncated', fault: 'truncated', answer: ANSWER }],
      },
    });
  });
  afterAll(async () => {
    await limited.close();
  });

  it('returns the X-RateLimit-* headers with the answer, and on the error of a 429', async () => {
    const call = createOpenAICall({ env, stream });
    const at = { ...member('acme/ok'), baseURL: limited.baseURL };
    const before = Date.now();
    const answer = await call(at, REQUEST, hooks());
    expect(answer.rateLimit).toEqual({ limit: 2, remaining: 1, resetAtMs: expect.any(Number) });
    const resetAtMs = answer.rateLimit?.resetAtMs ?? 0;
    expect(resetAtMs).toBeGreaterThanOrEqual(before + 59_000);
    expect(resetAtMs).toBeLessThanOrEqual(Date.now() + 60_000);

    // The second request of the window is the truncated one: its headers come before the fault.
    const broken = await failure(call({ ...at, model: 'fault/truncated' }, REQUEST, hooks()));
    expect(broken.kind).toBe('network');
    expect(broken.rateLimit).toEqual({ limit: 2, remaining: 0, resetAtMs });

    const err = await failure(call(at, REQUEST, hooks()));
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, rateLimit: { limit: 2, remaining: 0, resetAtMs } });
    expect(err.retryAfterMs).toBeGreaterThan(50_000);
  });
});

describe('createOpenAICall: a JSON body to a streaming request (issue 11, row 9)', () => {
  const completion = JSON.stringify({
    id: 'gen-json',
    object: 'chat.completion',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: ANSWER } }],
    usage: { prompt_tokens: 3, completion_tokens: 4 },
  });
  const cut = completion.slice(0, Math.floor(completion.length / 2));
  /** What the server sends: a whole message (its length stated, or ended by closing) whose JSON is cut, or whole. */
  type Body = 'cut' | 'cut-close' | 'whole';
  let body: Body = 'cut';
  let hits = 0;
  let json: Server;
  let baseURL = '';
  beforeAll(async () => {
    json = createServer((req, res) => {
      hits += 1;
      req.resume();
      req.on('end', () => {
        if (body === 'cut-close') {
          // No length stated: the body ends where the server closes the connection.
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
          res.write(cut, () => req.socket.end());
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-limit': '40', 'x-ratelimit-remaining': '39' });
        res.end(body === 'whole' ? completion : cut);
      });
    });
    await new Promise<void>((resolve) => json.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${(json.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => json.close(() => resolve()));
  });

  const at = (): PanelMember => ({ ...member('acme/json'), baseURL });
  const call = createOpenAICall({ env, stream: true });

  it.each(['cut', 'cut-close'] as const)('classifies a 200 application/json with a %s body as malformed, tried once', async (which) => {
    body = which;
    hits = 0;
    const outcome = await lastValueFrom(
      portCall(at(), () => abortable((signal) => call(at(), REQUEST, { signal })), { retry: { baseDelayMs: 1, maxDelayMs: 1 } }),
    );
    // Before the fix: `network` ("Stream truncated … no finish_reason"), 3 attempts.
    expect(outcome).toMatchObject({ ok: false, kind: 'malformed', attempts: 1 });
    expect(hits).toBe(1);
    if (!outcome.ok) expect(outcome.message).not.toMatch(/\n/);
  });

  it('keeps the rate-limit headers on the malformed error', async () => {
    body = 'cut';
    const err = await failure(call(at(), REQUEST, hooks()));
    expect(err).toMatchObject({ kind: 'malformed', rateLimit: { limit: 40, remaining: 39 } });
  });

  it('reads a whole JSON completion as the answer, as a server that ignores stream: true sends it', async () => {
    body = 'whole';
    const onFirstToken = vi.fn();
    const answer = await call(at(), REQUEST, hooks({ onFirstToken }));
    expect(answer).toMatchObject({ text: ANSWER, finishReason: 'stop', responseId: 'gen-json', usage: { inputTokens: 3, outputTokens: 4 } });
    expect(onFirstToken).toHaveBeenCalledTimes(1);
  });
});
