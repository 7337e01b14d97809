import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultScenario, SANDBOX_MODELS } from '../../src/sandbox/defaultScenario.js';
import type { Fault, SandboxModel, Scenario } from '../../src/sandbox/scenario.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.useRealTimers();
});

async function start(scenario: Scenario): Promise<SandboxServer> {
  server = await startSandboxServer({ scenario });
  return server;
}

const ANSWER = 'The sandbox answers with a simulated sentence of several words.';

function chat(s: SandboxServer, body: Record<string, unknown>, init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer sk-test-key-0001', ...(init.headers ?? {}) },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'What is simulated?' }], ...body }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

/** Wire bodies are asserted field by field, so they are read untyped. */
const json = (res: Response): Promise<any> => res.json();

interface SSE {
  comments: string[];
  data: string[];
}

function parseSSE(text: string): SSE {
  const out: SSE = { comments: [], data: [] };
  for (const block of text.split('\n\n')) {
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) out.comments.push(line);
      else if (line.startsWith('data: ')) out.data.push(line.slice(6));
    }
  }
  return out;
}

describe('sandbox server: answers', () => {
  it('serves a JSON chat completion with usage', async () => {
    const s = await start({ models: [{ model: 'acme/a', answer: ANSWER, usage: { cost: 0.25 } }] });
    const res = await chat(s, { model: 'acme/a' });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'acme/a',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: ANSWER } }],
      usage: { cost: 0.25 },
    });
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(s.requests).toEqual([expect.objectContaining({ model: 'acme/a', stream: false, status: 200, disconnected: false })]);
  });

  it('streams SSE: keep-alive comment, content chunks, stop, usage, [DONE]', async () => {
    const s = await start({ models: [{ model: 'acme/a', answer: ANSWER, usage: { prompt_tokens: 7, completion_tokens: 11, cost: 0.5 } }] });
    const res = await chat(s, { model: 'acme/a', stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    expect(text.startsWith(': OPENROUTER PROCESSING\n\n')).toBe(true);
    const { data } = parseSSE(text);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta?.content);
    expect(contentChunks.length).toBeGreaterThan(2);
    expect(contentChunks.map((c) => c.choices[0].delta.content).join('')).toBe(ANSWER);
    for (const c of chunks) expect(c.object).toBe('chat.completion.chunk');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 11, total_tokens: 18, cost: 0.5 } });
  });

  it('sends no usage chunk unless stream_options.include_usage is set', async () => {
    const s = await start({ models: [{ model: 'acme/a', answer: ANSWER }] });
    const { data } = parseSSE(await (await chat(s, { model: 'acme/a', stream: true })).text());
    expect(data.slice(0, -1).some((d) => 'usage' in JSON.parse(d))).toBe(false);
  });

  it('streams reasoning deltas before the content', async () => {
    const s = await start({ models: [{ model: 'acme/r', answer: ANSWER, reasoning: 'Let me think about it.' }] });
    const { data } = parseSSE(await (await chat(s, { model: 'acme/r', stream: true })).text());
    const deltas = data.slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta ?? {});
    const firstContent = deltas.findIndex((d) => d.content);
    expect(deltas.slice(0, firstContent).map((d) => d.reasoning).join('')).toBe('Let me think about it.');
    expect(deltas.slice(firstContent).every((d) => !d.reasoning)).toBe(true);
  });

  it('answers by the first matching rule, and the same way every time', async () => {
    const s = await start({ models: [{ model: 'acme/a', answer: 'default', answers: [{ when: 'capital', text: 'Paris' }] }] });
    const ask = async (q: string) =>
      (await json(await chat(s, { model: 'acme/a', messages: [{ role: 'user', content: q }] }))).choices[0].message.content;
    expect(await ask('Capital of France?')).toBe('Paris');
    expect(await ask('Anything else?')).toBe('default');
    expect(await ask('Anything else?')).toBe('default');
  });

  it('waits latencyMs before answering', async () => {
    const s = await start({ models: [{ model: 'acme/slow', latencyMs: 60, answer: ANSWER }] });
    const t0 = performance.now();
    await json(await chat(s, { model: 'acme/slow' }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it('accepts /v1 as well as /api/v1', async () => {
    const s = await start({ models: [{ model: 'acme/a', answer: ANSWER }] });
    const res = await fetch(`http://127.0.0.1:${s.port}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'acme/a', messages: [] }),
    });
    expect(res.status).toBe(200);
    expect(s.baseURL).toBe(`http://127.0.0.1:${s.port}/api/v1`);
  });

  it('answers the default scenario for every built-in model', async () => {
    const scenario = defaultScenario();
    for (const m of scenario.models) {
      m.latencyMs = 0;
      m.tokenDelayMs = 0;
    }
    const s = await start(scenario);
    for (const { model } of SANDBOX_MODELS) {
      const body = await json(await chat(s, { model }));
      expect(body.choices[0].message.content.length, model).toBeGreaterThan(20);
    }
  });
});

describe('sandbox server: refusals', () => {
  it('returns 404 with an OpenAI-style body for an unknown model', async () => {
    const s = await start({ models: [{ model: 'acme/a' }] });
    const res = await chat(s, { model: 'acme/missing' });
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatchObject({ code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
  });

  it('returns 400 for a body that is not JSON, 404 for an unknown route', async () => {
    const s = await start({ models: [{ model: 'acme/a' }] });
    const bad = await fetch(`${s.baseURL}/chat/completions`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect((await fetch(`${s.baseURL}/nothing`)).status).toBe(404);
  });

  it('requires the scenario key when requireKey is set', async () => {
    const s = await start({ requireKey: 'sk-right-key-000', models: [{ model: 'acme/a', answer: ANSWER }] });
    const wrong = await chat(s, { model: 'acme/a' });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(await json(wrong))).not.toContain('sk-test-key-0001');
    const right = await chat(s, { model: 'acme/a' }, { headers: { Authorization: 'Bearer sk-right-key-000' } });
    expect(right.status).toBe(200);
    expect((await fetch(`${s.baseURL}/key`)).status).toBe(401);
  });

  it('rate-limits the account per window with Retry-After and X-RateLimit-* headers', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_700_000_000_000);
    const s = await start({ rateLimit: { requests: 2, windowMs: 10_000 }, models: [{ model: 'acme/a', answer: ANSWER }] });
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 3; i++) {
      const res = await chat(s, { model: 'acme/a' });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.text();
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(limited?.headers.get('retry-after')).toBe('10');
    expect(limited?.headers.get('x-ratelimit-limit')).toBe('2');
    expect(limited?.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited?.headers.get('x-ratelimit-reset')).toBe(String(1_700_000_010_000));
    vi.setSystemTime(1_700_000_010_000);
    expect((await chat(s, { model: 'acme/a' })).status).toBe(200);
  });
});

describe('sandbox server: faults', () => {
  const model = (fault: Fault, extra: Partial<SandboxModel> = {}): SandboxModel => ({ model: `acme/${fault}`, fault, answer: ANSWER, ...extra });

  it.each([
    ['auth', 401, /User not found/],
    ['http_402', 402, /Insufficient credits/],
    ['http_500', 500, /Internal Server Error/],
    ['http_502', 502, /Provider returned error/],
    ['http_503', 503, /No instances available/],
    ['rate_limit', 429, /Rate limit exceeded/],
  ] as const)('%s answers HTTP %i with an OpenRouter error body', async (fault, status, message) => {
    const s = await start({ models: [model(fault)] });
    const res = await chat(s, { model: `acme/${fault}`, stream: true });
    expect(res.status).toBe(status);
    const body = await json(res);
    expect(body.error.code).toBe(status);
    expect(body.error.message).toMatch(message);
    expect(s.requests[0]).toMatchObject({ status, fault });
  });

  it('rate_limit sends Retry-After from retryAfterS', async () => {
    const s = await start({ models: [model('rate_limit', { retryAfterS: 3 })] });
    const res = await chat(s, { model: 'acme/rate_limit' });
    expect(res.headers.get('retry-after')).toBe('3');
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now());
  });

  it('fails only the first faultTimes requests, then answers', async () => {
    const s = await start({ models: [model('http_503', { faultTimes: 2 })] });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await chat(s, { model: 'acme/http_503' })).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(s.requests.map((r) => r.fault)).toEqual(['http_503', 'http_503', undefined]);
  });

  it('error_in_200 returns HTTP 200 with an error body', async () => {
    const s = await start({ models: [model('error_in_200')] });
    const res = await chat(s, { model: 'acme/error_in_200' });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ error: { code: 502, message: expect.any(String) } });
  });

  it('malformed returns a 200 body that is not JSON, or a stream data line that is not JSON', async () => {
    const s = await start({ models: [model('malformed')] });
    const plain = await chat(s, { model: 'acme/malformed' });
    expect(plain.status).toBe(200);
    await expect(plain.clone().json()).rejects.toThrow(SyntaxError);
    const { data } = parseSSE(await (await chat(s, { model: 'acme/malformed', stream: true })).text());
    expect(data.filter((d) => d !== '[DONE]').some((d) => { try { JSON.parse(d); return false; } catch { return true; } })).toBe(true);
  });

  it('midstream_error streams content, then a chunk with error and finish_reason "error"', async () => {
    const s = await start({ models: [model('midstream_error')] });
    const { data } = parseSSE(await (await chat(s, { model: 'acme/midstream_error', stream: true })).text());
    const chunks = data.map((d) => JSON.parse(d));
    expect(chunks[0].choices[0].delta.content).toBeTruthy();
    expect(chunks.at(-1)).toMatchObject({ error: { message: expect.any(String) }, choices: [{ finish_reason: 'error' }] });
  });

  it('truncated ends the stream without finish_reason or [DONE]', async () => {
    const s = await start({ models: [model('truncated')] });
    const { data } = parseSSE(await (await chat(s, { model: 'acme/truncated', stream: true })).text());
    expect(data.length).toBeGreaterThan(0);
    expect(data).not.toContain('[DONE]');
    expect(data.map((d) => JSON.parse(d).choices[0].finish_reason).every((f) => f === null)).toBe(true);
  });

  it('truncated cuts a JSON body short and drops the connection', async () => {
    const s = await start({ models: [model('truncated')] });
    const res = await chat(s, { model: 'acme/truncated' });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow(/terminated/);
  });

  it('empty answers with content ""', async () => {
    const s = await start({ models: [model('empty')] });
    expect((await json(await chat(s, { model: 'acme/empty' }))).choices[0].message.content).toBe('');
    const { data } = parseSSE(await (await chat(s, { model: 'acme/empty', stream: true })).text());
    expect(data.slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta?.content ?? '').join('')).toBe('');
    expect(data.at(-1)).toBe('[DONE]');
  });

  it('reset destroys the socket without a response', async () => {
    const s = await start({ models: [model('reset')] });
    await expect(chat(s, { model: 'acme/reset' })).rejects.toThrow(/fetch failed/);
    expect(s.requests[0]).toMatchObject({ status: 0, fault: 'reset', disconnected: false });
  });

  it('hang never answers; close() ends the pending request promptly', async () => {
    const s = await start({ models: [model('hang')] });
    const pending = chat(s, { model: 'acme/hang', stream: true });
    await vi.waitFor(() => expect(s.requests).toHaveLength(1));
    const t0 = performance.now();
    await s.close();
    await expect(pending).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(s.requests[0]?.status).toBe(0);
  });

  it('notices a client that disconnects during latency, and sends nothing after', async () => {
    const s = await start({ models: [{ model: 'acme/slow', latencyMs: 100, answer: ANSWER }] });
    const controller = new AbortController();
    const pending = chat(s, { model: 'acme/slow' }, { signal: controller.signal });
    await vi.waitFor(() => expect(s.requests).toHaveLength(1));
    controller.abort();
    await expect(pending).rejects.toThrow();
    await vi.waitFor(() => expect(s.requests[0]?.disconnected).toBe(true));
    expect(s.requests[0]?.status).toBe(0);
  });

  it('echoes the bearer key in error bodies only when echoKey is set', async () => {
    const quiet = await start({ models: [model('http_500')] });
    expect(await (await chat(quiet, { model: 'acme/http_500' })).text()).not.toContain('sk-test-key-0001');
    await quiet.close();
    const loud = await start({ echoKey: true, models: [model('http_500')] });
    expect(await (await chat(loud, { model: 'acme/http_500' })).text()).toContain('sk-test-key-0001');
    expect(JSON.stringify(loud.requests)).not.toContain('sk-test-key-0001');
  });
});

describe('sandbox server: OpenRouter endpoints', () => {
  it('lists models OpenRouter-style', async () => {
    const s = await start({ models: [{ model: 'acme/a' }, { model: 'acme/b', family: 'acme' }] });
    const body = await json(await fetch(`${s.baseURL}/models`));
    expect(body.data).toHaveLength(2);
    expect(body.data[0]).toMatchObject({ id: 'acme/a', name: expect.any(String), context_length: expect.any(Number), pricing: { prompt: '0', completion: '0' } });
  });

  it('describes the key OpenRouter-style, with usage summed from served costs', async () => {
    const s = await start({ rateLimit: { requests: 10, windowMs: 10_000 }, models: [{ model: 'acme/a', answer: ANSWER, usage: { cost: 0.5 } }] });
    await json(await chat(s, { model: 'acme/a' }));
    const body = await json(await fetch(`${s.baseURL}/key`));
    expect(body).toEqual({
      data: { label: 'sandbox', limit: null, limit_remaining: null, usage: 0.5, is_free_tier: true, rate_limit: { requests: 10, interval: '10s' } },
    });
  });

  it('answers a vote-round prompt with votes', async () => {
    const s = await start({ models: [{ model: 'acme/a', answer: '{"claims":["The sandbox is simulated."]}' }] });
    const res = await chat(s, { model: 'acme/a', messages: [{ role: 'user', content: '[c1] The sandbox is simulated.\n[c2] Cats bark.' }] });
    expect(JSON.parse((await json(res)).choices[0].message.content)).toEqual({ votes: { c1: 'agree', c2: 'unsure' } });
  });

  const VOTE = 'Question: What is simulated?\n[c1] The sandbox is simulated.\n[c2] Cats bark.';
  const voteMessages = [{ role: 'user', content: VOTE }];

  it('voteFault answers round 1 and fails only vote-round requests', async () => {
    const s = await start({ models: [{ model: 'acme/a', answer: '{"claims":["The sandbox is simulated."]}', voteFault: 'http_503', retryAfterS: 2 }] });
    const first = await chat(s, { model: 'acme/a' });
    expect(first.status).toBe(200);
    expect((await json(first)).choices[0].message.content).toBe('{"claims":["The sandbox is simulated."]}');
    const vote = await chat(s, { model: 'acme/a', stream: true, messages: voteMessages });
    expect(vote.status).toBe(503);
    expect(vote.headers.get('retry-after')).toBe('2');
    expect((await json(vote)).error.message).toMatch(/No instances available/);
    expect((await chat(s, { model: 'acme/a' })).status).toBe(200);
    expect(s.requests.map((r) => [r.status, r.fault])).toEqual([
      [200, undefined],
      [503, 'http_503'],
      [200, undefined],
    ]);
  });

  it('voteFault works with any fault, e.g. a stream cut midway', async () => {
    const s = await start({ models: [{ model: 'acme/a', answer: ANSWER, voteFault: 'truncated' }] });
    const { data } = parseSSE(await (await chat(s, { model: 'acme/a', stream: true, messages: voteMessages })).text());
    expect(data.length).toBeGreaterThan(0);
    expect(data).not.toContain('[DONE]');
    expect(s.requests[0]?.fault).toBe('truncated');
  });

  it('fault keeps applying to every request and wins over voteFault', async () => {
    const s = await start({ models: [{ model: 'acme/a', answer: ANSWER, fault: 'http_500', faultTimes: 1, voteFault: 'auth' }] });
    expect((await chat(s, { model: 'acme/a', messages: voteMessages })).status).toBe(500);
    expect((await chat(s, { model: 'acme/a', messages: voteMessages })).status).toBe(401);
    expect((await chat(s, { model: 'acme/a' })).status).toBe(200);
    expect(s.requests.map((r) => r.fault)).toEqual(['http_500', 'auth', undefined]);
  });

  it('serves scripted vote modes and voteAnswer over the wire', async () => {
    const s = await start({
      models: [
        { model: 'acme/byz', answer: ANSWER, votes: 'agree_all' },
        { model: 'acme/raw', answer: ANSWER, votes: 'agree_all', voteAnswer: 'no votes from me' },
      ],
    });
    const content = async (model: string): Promise<string> =>
      (await json(await chat(s, { model, messages: voteMessages }))).choices[0].message.content;
    expect(JSON.parse(await content('acme/byz'))).toEqual({ votes: { c1: 'agree', c2: 'agree' } });
    expect(await content('acme/raw')).toBe('no votes from me');
  });
});
