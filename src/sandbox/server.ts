/**
 * An OpenRouter-compatible HTTP server that serves simulated models: the real `openai` client
 * talks to it unchanged, so tests exercise the real wire format and users can try quorum
 * offline (`quorum sandbox`, `quorum ask --sandbox`).
 *
 * Endpoints, under `/api/v1` (as OpenRouter) and `/v1`:
 * - `POST /chat/completions` — JSON, or SSE when `stream: true`;
 * - `GET /models` — OpenRouter-shaped model list (the scenario's `catalog`, or one free entry per model);
 * - `GET /key` (also `/auth/key`) — OpenRouter-shaped key info (fields from the scenario's `key` win).
 *
 * Deterministic: the same scenario and request sequence give the same content and faults.
 * Request headers are never logged or stored, so the API key stays out of the request log.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { chooseAnswer, estimateTokens, isVotePrompt, lastUserMessage } from './answers.js';
import { familyOf, type Fault, type SandboxModel, type Scenario } from './scenario.js';

/** One chat completion request the sandbox received. Tests assert on these. */
export interface SandboxRequestLog {
  model: string;
  stream: boolean;
  /** Arrival time, epoch ms. */
  at: number;
  /**
   * HTTP status sent; 0 while pending and for requests that never got one (`hang`, `reset`,
   * or the client left first). A stream that fails midway still shows 200.
   */
  status: number;
  /** The scripted fault applied to this request, if any (`fault`, or `voteFault` on a vote-round request). */
  fault?: Fault;
  /** The client closed the connection before the sandbox finished responding. */
  disconnected: boolean;
  /** Sampling parameters the request carried, when present. */
  temperature?: number;
  maxTokens?: number;
}

export interface SandboxServerOptions {
  scenario: Scenario;
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1 so the sandbox is never reachable from outside. */
  host?: string;
}

export interface SandboxServer {
  /** Base URL for OpenAI-compatible clients, e.g. `http://127.0.0.1:PORT/api/v1`. */
  readonly baseURL: string;
  readonly port: number;
  /**
   * Chat completion requests that passed the key check and carried a model, in arrival order
   * (including rate-limited and unknown-model ones). Other endpoints are not logged.
   */
  readonly requests: SandboxRequestLog[];
  /** Stops listening, ends pending (even hanging) requests and destroys open sockets. */
  close(): Promise<void>;
}

/** Bodies above this are refused with 413: a document chunk is far smaller. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

const CHUNK_WORDS = 3;

class ClientGone extends Error {}

/** Per-request state shared by the response writers. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** Aborted when the client disconnects or the server closes: cancels latency timers. */
  signal: AbortSignal;
  /** The bearer token the request carried, only ever used for `echoKey` error bodies. */
  token: string | undefined;
}

/**
 * Starts the sandbox. Resolves once it is listening.
 *
 * @example
 * ```ts
 * const sandbox = await startSandboxServer({ scenario: defaultScenario() });
 * const client = new OpenAI({ baseURL: sandbox.baseURL, apiKey: 'sk-sandbox' });
 * // …
 * await sandbox.close();
 * ```
 */
export async function startSandboxServer(opts: SandboxServerOptions): Promise<SandboxServer> {
  const { scenario } = opts;
  const host = opts.host ?? '127.0.0.1';
  const models = new Map(scenario.models.map((m) => [m.model, m]));
  const requests: SandboxRequestLog[] = [];
  // Requests each model has received: `faultTimes` fails only the first N.
  const servedPerModel = new Map<string, number>();
  // close() must end hanging requests and destroy keep-alive sockets, or tests would wait.
  const sockets = new Set<Socket>();
  const inFlight = new Set<AbortController>();
  // Account-wide fixed window for `rateLimit`.
  let rateWindow = { start: 0, count: 0 };
  let totalCost = 0;
  let generation = 0;
  // Responses the sandbox itself cut short: their close is a fault, not a client disconnect.
  const selfClosed = new WeakSet<ServerResponse>();

  function rateLimitState(now: number): { limited: boolean; headers: Record<string, string> } {
    const limit = scenario.rateLimit;
    if (!limit) return { limited: false, headers: {} };
    if (now - rateWindow.start >= limit.windowMs) rateWindow = { start: now, count: 0 };
    rateWindow.count++;
    const reset = rateWindow.start + limit.windowMs;
    const limited = rateWindow.count > limit.requests;
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(limit.requests),
      'X-RateLimit-Remaining': String(Math.max(0, limit.requests - rateWindow.count)),
      'X-RateLimit-Reset': String(reset),
    };
    if (limited) headers['Retry-After'] = String(Math.max(1, Math.ceil((reset - now) / 1000)));
    return { limited, headers };
  }

  function errorBody(ex: Exchange, code: number | string, message: string, extra: Record<string, unknown> = {}): object {
    const text = scenario.echoKey && ex.token ? `${message} (request key: ${ex.token})` : message;
    return { error: { code, message: text, ...extra } };
  }

  async function handleChat(ex: Exchange): Promise<void> {
    const { req, res } = ex;
    let raw: string;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) sendJson(res, 413, errorBody(ex, 413, 'Request body too large'));
      return;
    }
    if (scenario.requireKey !== undefined && ex.token !== scenario.requireKey) {
      sendJson(res, 401, errorBody(ex, 401, 'Incorrect API key provided (sandbox requireKey)'));
      return;
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      sendJson(res, 400, openAIError('Request body must be a JSON object', 'invalid_request_error', null, 'invalid_json'));
      return;
    }
    if (typeof body.model !== 'string' || !Array.isArray(body.messages)) {
      sendJson(res, 400, openAIError('Expected "model" (string) and "messages" (array)', 'invalid_request_error', null, 'invalid_request'));
      return;
    }
    const stream = body.stream === true;
    const includeUsage =
      typeof body.stream_options === 'object' && body.stream_options !== null && (body.stream_options as { include_usage?: unknown }).include_usage === true;
    const now = Date.now();
    const rate = rateLimitState(now);
    const model = rate.limited ? undefined : models.get(body.model);
    const userMessage = lastUserMessage(body.messages);
    let fault: Fault | undefined;
    if (model) {
      const served = servedPerModel.get(model.model) ?? 0;
      servedPerModel.set(model.model, served + 1);
      if (model.fault !== undefined && (model.faultTimes === undefined || served < model.faultTimes)) fault = model.fault;
      // `voteFault` fails only round 2; `fault` (when it applies) wins.
      else if (model.voteFault !== undefined && isVotePrompt(userMessage)) fault = model.voteFault;
    }
    const entry: SandboxRequestLog = {
      model: body.model,
      stream,
      at: now,
      status: 0,
      disconnected: false,
      ...(fault ? { fault } : {}),
      ...(typeof body.temperature === 'number' ? { temperature: body.temperature } : {}),
      ...(typeof body.max_tokens === 'number' ? { maxTokens: body.max_tokens } : {}),
    };
    requests.push(entry);
    res.on('close', () => {
      if (!res.writableFinished && !selfClosed.has(res)) entry.disconnected = true;
    });
    const send = (status: number, payload: object, headers: Record<string, string> = {}): void => {
      entry.status = status;
      sendJson(res, status, payload, { ...rate.headers, ...headers });
    };

    if (rate.limited) {
      send(429, errorBody(ex, 429, 'Rate limit exceeded: sandbox account limit', { metadata: { headers: rate.headers } }));
      return;
    }
    if (!model) {
      send(404, openAIError(`The model \`${body.model}\` does not exist in this sandbox scenario`, 'invalid_request_error', 'model', 'model_not_found'));
      return;
    }

    try {
      if (model.latencyMs) await sleep(model.latencyMs, undefined, { signal: ex.signal });
      if (ex.signal.aborted) return;

      const content = fault === 'empty' ? '' : chooseAnswer(model, userMessage, scenario.facts);
      const usage = usageFor(model, body.messages, content);
      const id = `gen-sandbox-${++generation}`;

      switch (fault) {
        case 'hang':
          // Nothing is ever sent; the exchange ends when the client or close() ends it.
          await new Promise<void>((resolve) => ex.signal.addEventListener('abort', () => resolve(), { once: true }));
          return;
        case 'reset':
          selfClosed.add(res);
          req.socket.destroy();
          return;
        case 'auth':
          send(401, errorBody(ex, 401, 'User not found (simulated revoked key)'));
          return;
        case 'rate_limit': {
          const retryAfterS = model.retryAfterS ?? 1;
          const headers = {
            'Retry-After': String(retryAfterS),
            'X-RateLimit-Limit': '20',
            'X-RateLimit-Remaining': '0',
            'X-RateLimit-Reset': String(now + Math.ceil(retryAfterS * 1000)),
          };
          send(429, errorBody(ex, 429, `Rate limit exceeded: free-models-per-min (simulated for ${model.model})`, { metadata: { headers } }), headers);
          return;
        }
        case 'http_402':
          send(
            402,
            errorBody(ex, 402, 'Insufficient credits. Add more using https://openrouter.ai/settings/credits (simulated)'),
          );
          return;
        case 'http_500':
          send(500, errorBody(ex, 500, 'Internal Server Error (simulated)'));
          return;
        case 'http_502':
          send(502, errorBody(ex, 502, 'Provider returned error (simulated)', { metadata: { provider_name: 'Sandbox', raw: 'upstream connect error' } }));
          return;
        case 'http_503':
          send(
            503,
            errorBody(ex, 503, 'No instances available (simulated)'),
            model.retryAfterS !== undefined ? { 'Retry-After': String(model.retryAfterS) } : {},
          );
          return;
        case 'error_in_200':
          if (!stream) {
            send(200, errorBody(ex, 502, 'Provider returned error (simulated error in a 200 response)'));
            return;
          }
          break;
        case 'malformed':
          if (!stream) {
            entry.status = 200;
            res.writeHead(200, { 'Content-Type': 'application/json', ...rate.headers });
            res.end('<html><body>502 Bad Gateway (simulated non-JSON body)</body></html>');
            return;
          }
          break;
        case 'truncated':
          if (!stream) {
            // Promise a full body, deliver half, drop the connection: what a cut link looks like.
            const full = JSON.stringify(completionBody(id, model, content, usage));
            entry.status = 200;
            res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(full)), ...rate.headers });
            selfClosed.add(res);
            await new Promise<void>((resolve) => res.write(full.slice(0, Math.floor(full.length / 2)), () => resolve()));
            req.socket.destroy();
            return;
          }
          break;
        case 'midstream_error':
          if (!stream) {
            send(200, {
              ...completionBody(id, model, content.slice(0, Math.floor(content.length / 2)), usage, 'error'),
              ...errorBody(ex, 'server_error', 'Provider disconnected unexpectedly (simulated)'),
            });
            return;
          }
          break;
        default:
          break;
      }

      if (!stream) {
        totalCost += usage.cost;
        send(200, completionBody(id, model, content, usage));
        return;
      }

      entry.status = 200;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
        ...rate.headers,
      });
      // OpenRouter sends SSE comments while the provider warms up; clients must skip them.
      res.write(': OPENROUTER PROCESSING\n\n');
      await streamAnswer(ex, { id, model, content, usage, fault, includeUsage });
      if (fault === undefined || fault === 'empty') totalCost += usage.cost;
    } catch (err) {
      if (err instanceof ClientGone || (err as Error).name === 'AbortError') return;
      throw err;
    }
  }

  async function streamAnswer(
    ex: Exchange,
    a: { id: string; model: SandboxModel; content: string; usage: UsageOut; fault: Fault | undefined; includeUsage: boolean },
  ): Promise<void> {
    const { res, signal } = ex;
    const delay = a.model.tokenDelayMs ?? 0;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: object, finish: string | null, extra: object = {}): object => ({
      id: a.id,
      provider: 'Sandbox',
      model: a.model.model,
      object: 'chat.completion.chunk',
      created,
      choices: [{ index: 0, delta, finish_reason: finish, native_finish_reason: finish, logprobs: null }],
      ...extra,
    });
    const write = async (data: string): Promise<void> => {
      if (signal.aborted || res.destroyed) throw new ClientGone();
      res.write(`data: ${data}\n\n`);
      if (delay) await sleep(delay, undefined, { signal });
    };

    if (a.fault === 'error_in_200') {
      await write(JSON.stringify(errorBody(ex, 502, 'Provider returned error (simulated error in a 200 stream)')));
      res.end();
      return;
    }
    for (const piece of splitWords(a.model.reasoning ?? '')) {
      await write(JSON.stringify(chunk({ role: 'assistant', content: '', reasoning: piece }, null)));
    }
    const pieces = splitWords(a.content);
    const cut = a.fault === 'midstream_error' || a.fault === 'truncated' || a.fault === 'malformed';
    const sent = cut ? pieces.slice(0, Math.max(1, Math.floor(pieces.length / 2))) : pieces;
    if (sent.length === 0) sent.push('');
    for (const piece of sent) await write(JSON.stringify(chunk({ role: 'assistant', content: piece }, null)));

    if (a.fault === 'truncated') {
      res.end();
      return;
    }
    if (a.fault === 'midstream_error') {
      await write(
        JSON.stringify(
          chunk({ content: '' }, 'error', errorBody(ex, 'server_error', 'Provider disconnected unexpectedly (simulated)')),
        ),
      );
      res.end();
      return;
    }
    if (a.fault === 'malformed') {
      await write('{"id":"' + a.id + '","choices":[{"delta":{"content":"unterminated');
      res.end('data: [DONE]\n\n');
      return;
    }
    await write(JSON.stringify(chunk({ role: 'assistant', content: '' }, 'stop')));
    if (a.includeUsage) {
      await write(JSON.stringify({ ...chunk({}, null), choices: [], usage: a.usage }));
    }
    res.end('data: [DONE]\n\n');
  }

  function handleModels(res: ServerResponse): void {
    if (scenario.catalog) {
      sendJson(res, 200, {
        data: scenario.catalog.map((entry) => ({
          ...entry,
          name: entry.name ?? `Sandbox: ${entry.id}`,
          context_length: entry.context_length === undefined ? 131072 : entry.context_length,
          pricing: { prompt: '0', completion: '0', ...entry.pricing },
        })),
      });
      return;
    }
    sendJson(res, 200, {
      data: scenario.models.map((m) => ({
        id: m.model,
        canonical_slug: m.model,
        name: `Sandbox: ${m.model}`,
        description: `Simulated ${familyOf(m)} model served by the quorum sandbox.`,
        created: 0,
        context_length: 131072,
        architecture: { modality: 'text->text', input_modalities: ['text'], output_modalities: ['text'] },
        pricing: { prompt: '0', completion: '0' },
        supported_parameters: ['max_tokens', 'temperature', 'stream', 'stream_options'],
      })),
    });
  }

  function handleKey(ex: Exchange): void {
    if (scenario.requireKey !== undefined && ex.token !== scenario.requireKey) {
      sendJson(ex.res, 401, errorBody(ex, 401, 'Incorrect API key provided (sandbox requireKey)'));
      return;
    }
    if (scenario.key === false) {
      sendJson(ex.res, 404, openAIError('No route for GET /key (sandbox scenario: key is false)', 'invalid_request_error', null, 'not_found'));
      return;
    }
    const limit = scenario.rateLimit;
    sendJson(ex.res, 200, {
      data: {
        label: 'sandbox',
        limit: null,
        limit_remaining: null,
        usage: totalCost,
        is_free_tier: true,
        rate_limit: limit ? { requests: limit.requests, interval: `${limit.windowMs / 1000}s` } : { requests: -1, interval: '10s' },
        ...scenario.key,
      },
    });
  }

  const server = createServer((req, res) => {
    const controller = new AbortController();
    inFlight.add(controller);
    const done = (): void => {
      inFlight.delete(controller);
      controller.abort();
    };
    res.on('close', done);
    // A client that vanishes mid-request must not crash the sandbox.
    req.on('error', () => {});
    res.on('error', () => {});
    const ex: Exchange = { req, res, signal: controller.signal, token: bearer(req) };
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = /^\/(?:api\/)?v1(\/.*)$/.exec(path)?.[1]?.replace(/\/+$/, '');
    const notFound = (): void => sendJson(res, 404, openAIError(`No route for ${req.method} ${path}`, 'invalid_request_error', null, 'not_found'));

    void (async () => {
      if (route === '/chat/completions') {
        if (req.method !== 'POST') return sendJson(res, 405, openAIError('Use POST', 'invalid_request_error', null, 'method_not_allowed'));
        return handleChat(ex);
      }
      if (route === '/models' && req.method === 'GET') return handleModels(res);
      if ((route === '/key' || route === '/auth/key') && req.method === 'GET') return handleKey(ex);
      return notFound();
    })().catch(() => {
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, openAIError('Sandbox internal error', 'server_error', null, 'internal'));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  const hostInURL = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    baseURL: `http://${hostInURL}:${port}/api/v1`,
    port,
    requests,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of inFlight) c.abort();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

interface UsageOut {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost: number;
}

function usageFor(model: SandboxModel, messages: unknown, content: string): UsageOut {
  const promptChars = JSON.stringify(messages ?? []).length;
  const prompt = model.usage?.prompt_tokens ?? Math.ceil(promptChars / 4);
  const completion = model.usage?.completion_tokens ?? estimateTokens(content);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, cost: model.usage?.cost ?? 0 };
}

function completionBody(id: string, model: SandboxModel, content: string, usage: UsageOut, finish = 'stop'): Record<string, unknown> {
  return {
    id,
    provider: 'Sandbox',
    model: model.model,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    choices: [
      {
        index: 0,
        logprobs: null,
        finish_reason: finish,
        native_finish_reason: finish,
        message: { role: 'assistant', content, refusal: null, reasoning: model.reasoning ?? null },
      },
    ],
    usage,
  };
}

/** Splits text into chunks of a few words, keeping every character so chunks rejoin exactly. */
function splitWords(text: string): string[] {
  const words = text.match(/^\s+|\S+\s*/g) ?? [];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += CHUNK_WORDS) out.push(words.slice(i, i + CHUNK_WORDS).join(''));
  return out;
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return m?.[1]?.trim();
}

function openAIError(message: string, type: string, param: string | null, code: string): object {
  return { error: { message, type, param, code } };
}

function sendJson(res: ServerResponse, status: number, payload: object, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    req.on('close', () => reject(new ClientGone()));
  });
}
