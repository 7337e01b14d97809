/**
 * The real {@link ModelCall}: one chat completion through the `openai` SDK against OpenRouter
 * or any OpenAI-compatible endpoint. No retries and no deadline of its own: operators own
 * both, and cancel through the AbortSignal.
 */
import OpenAI from 'openai';
import { ModelCallError } from '../errors.js';
import type { RateLimitHeaders, Usage } from '../types.js';
import { ANSWER_CAP_FINISH_REASON, type CallHooks, MAX_ANSWER_CHARS, type ModelCall, maxBodyBytes, type RawAnswer } from './call.js';
import { classifyError, rateLimitFrom } from './classify.js';
import { buildMessages } from './prompt.js';

export interface OpenAICallOptions {
  /** Where API keys are read (`env[member.apiKeyEnv]`). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Stream the answer over SSE (default true) for first-token timing. Without streaming,
   * `onFirstToken` fires when the whole answer arrives.
   */
  stream?: boolean;
  /** Sent as `X-Title`, OpenRouter's app attribution. Default "quorum". */
  appTitle?: string;
  /** Sent as `HTTP-Referer`, OpenRouter's app attribution (the app's URL). Not sent when unset. */
  referer?: string;
  /**
   * Longest answer kept, in UTF-16 code units (default {@link MAX_ANSWER_CHARS}). A streamed
   * answer is cut there as it arrives and the request aborted; an unstreamed body is read up to
   * {@link maxBodyBytes} of it, then refused as `malformed`. A cut answer's finish reason is
   * {@link ANSWER_CAP_FINISH_REASON}.
   */
  maxAnswerChars?: number;
}

/** Operators enforce deadlines; this only stops the SDK's own 10-minute default from firing first. */
const SDK_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/**
 * Creates a {@link ModelCall} backed by the `openai` SDK. Clients are cached per
 * (baseURL, key), so a run reuses connections across ports on the same endpoint.
 *
 * Rejections are always {@link ModelCallError}s whose message never contains the key: a
 * missing key is `auth` naming the variable; the rest goes through {@link classifyError}.
 *
 * `X-RateLimit-*` headers, when the response carries them, come back as `rateLimit` on the
 * answer, or on the error when the call failed after the headers arrived (an error status, a
 * stream that broke): the shared rate limiter learns from both.
 */
export function createOpenAICall(opts: OpenAICallOptions = {}): ModelCall {
  const env = opts.env ?? process.env;
  const stream = opts.stream ?? true;
  const maxChars = opts.maxAnswerChars ?? MAX_ANSWER_CHARS;
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError(`Expected maxAnswerChars to be an integer ≥ 1, got ${maxChars}`);
  const headers: Record<string, string> = { 'X-Title': opts.appTitle ?? 'quorum' };
  if (opts.referer) headers['HTTP-Referer'] = opts.referer;
  // One client per endpoint and key: the SDK keeps its connection pool inside the client.
  const clients = new Map<string, OpenAI>();

  const clientFor = (baseURL: string, apiKey: string): OpenAI => {
    const cacheKey = `${baseURL}\n${apiKey}`;
    let client = clients.get(cacheKey);
    if (!client) {
      client = new OpenAI({
        baseURL,
        apiKey,
        maxRetries: 0,
        timeout: SDK_TIMEOUT_MS,
        defaultHeaders: headers,
        // The SDK would print unparsable SSE data (possibly long, provider-controlled) to the
        // console; failures reach the user as classified values instead.
        logLevel: 'off',
      });
      clients.set(cacheKey, client);
    }
    return client;
  };

  return async (member, request, hooks) => {
    const apiKey = env[member.apiKeyEnv];
    if (!apiKey) {
      throw new ModelCallError('auth', `Environment variable ${member.apiKeyEnv} is not set`);
    }
    if (hooks.signal.aborted) throw new ModelCallError('cancelled', 'Request cancelled');
    const client = clientFor(member.baseURL, apiKey);
    const params = {
      model: member.model,
      messages: buildMessages(request),
      ...(member.temperature !== undefined ? { temperature: member.temperature } : {}),
      ...(member.maxTokens !== undefined ? { max_tokens: member.maxTokens } : {}),
    };
    // Filled in once the response headers arrive, so a failure after them still reports them.
    const seen: Seen = {};
    // The request's own signal: the caller's, and aborted too once an answer passes the cap, so
    // an oversized answer stops arriving (the caller's signal alone says "cancelled").
    const sending = new AbortController();
    const cancel = () => sending.abort();
    hooks.signal.addEventListener('abort', cancel, { once: true });
    const cap: Cap = { signal: sending.signal, maxChars, stop: cancel };
    try {
      return stream ? await streamed(client, params, hooks, seen, cap) : await unary(client, params, hooks, seen, cap);
    } catch (err) {
      // The SDK ends an aborted stream quietly or with assorted errors: the signal is the truth.
      if (hooks.signal.aborted) throw new ModelCallError('cancelled', 'Request cancelled');
      const error = classifyError(err, [apiKey]);
      if (seen.rateLimit && !error.rateLimit) error.rateLimit = seen.rateLimit;
      throw error;
    } finally {
      hooks.signal.removeEventListener('abort', cancel);
    }
  };
}

type Params = Omit<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, 'stream'>;

/** The size cap of one call: the signal the request is sent with, and how to stop it. */
interface Cap {
  signal: AbortSignal;
  maxChars: number;
  /** Aborts the request (the connection is closed), without cancelling the call. */
  stop: () => void;
}

/** The first `max` code units of `s`, never ending inside a surrogate pair. */
function cutAt(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/**
 * The body of an unstreamed response, read up to {@link maxBodyBytes}; a bigger one is not read
 * on (the request is aborted) and is `malformed`.
 */
async function readBody(response: Response, cap: Cap): Promise<string> {
  const limit = maxBodyBytes(cap.maxChars);
  const stated = Number(response.headers.get('content-length'));
  const tooBig = () => {
    cap.stop();
    return new ModelCallError('malformed', `Unreadable response: the body passed ${limit} bytes, the most quorum reads for one answer (${cap.maxChars} characters)`);
  };
  if (Number.isFinite(stated) && stated > limit) throw tooBig();
  if (!response.body) return '';
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let bytes = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooBig();
    }
    parts.push(decoder.decode(value, { stream: true }));
  }
  parts.push(decoder.decode());
  return parts.join('');
}

/** What the response's headers said, kept for the error path. */
interface Seen {
  rateLimit?: RateLimitHeaders;
}

/**
 * Reads the rate-limit headers as soon as they arrive: `asResponse()` resolves on the headers
 * without reading the body, so a body that then breaks (truncated, malformed) still reports them.
 * An error status rejects here already, as the SDK's APIError.
 */
function noteHeaders(seen: Seen, response: Response): void {
  const rateLimit = rateLimitFrom(response.headers);
  if (rateLimit) seen.rateLimit = rateLimit;
}

interface ProviderUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  cost?: unknown;
}

function toUsage(raw: ProviderUsage | null | undefined): Usage {
  const usage: Usage = {};
  if (!raw) return usage;
  if (typeof raw.prompt_tokens === 'number') usage.inputTokens = raw.prompt_tokens;
  if (typeof raw.completion_tokens === 'number') usage.outputTokens = raw.completion_tokens;
  if (typeof raw.cost === 'number') usage.cost = raw.cost;
  return usage;
}

/** `{error: {message, code}}` that OpenRouter puts in 200 bodies and stream chunks. */
function embeddedError(body: unknown): ModelCallError | undefined {
  const error = body !== null && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  if (!error) return undefined;
  const message = typeof (error as { message?: unknown }).message === 'string' ? (error as { message: string }).message : JSON.stringify(error);
  const code = (error as { code?: unknown }).code;
  return new ModelCallError('http', `Provider error: ${message}`, typeof code === 'number' ? code : undefined);
}

function finish(text: string, finishReason: string | undefined, usage: Usage, responseId: string | undefined, seen: Seen): RawAnswer {
  if (text.trim() === '') {
    throw new ModelCallError('empty', `Model returned no content${finishReason ? ` (finish_reason: ${finishReason})` : ''}`);
  }
  return {
    text,
    usage,
    ...(finishReason !== undefined ? { finishReason } : {}),
    ...(responseId !== undefined ? { responseId } : {}),
    ...(seen.rateLimit !== undefined ? { rateLimit: seen.rateLimit } : {}),
  };
}

async function streamed(client: OpenAI, params: Params, hooks: CallHooks, seen: Seen, cap: Cap): Promise<RawAnswer> {
  const pending = client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }, { signal: cap.signal });
  const response = await pending.asResponse();
  noteHeaders(seen, response);
  // A server that ignores `stream: true` answers one JSON body: read it as the unary answer it
  // is. Parsed as SSE it would hold no event at all and pass for a dropped stream (`network`,
  // retried); a cut JSON body is `malformed`, as it is to a non-streaming request.
  if (isJson(response.headers.get('content-type'))) {
    const body = await readBody(response, cap);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new ModelCallError('malformed', `Unreadable response: a JSON body to a streaming request did not parse (${body.length} characters): ${(err as Error).message}`);
    }
    return fromCompletion(parsed, hooks, seen, cap);
  }
  const stream = await pending;
  let text = '';
  let finishReason: string | undefined;
  let responseId: string | undefined;
  let usage: Usage = {};
  let firstTokenSeen = false;
  let overCap = false;
  chunks: for await (const chunk of stream) {
    // The SDK throws on `error` chunks itself; this guards providers that nest it differently.
    const error = embeddedError(chunk);
    if (error) throw error;
    responseId ??= typeof chunk.id === 'string' && chunk.id ? chunk.id : undefined;
    for (const choice of chunk.choices ?? []) {
      // Reasoning models also stream `delta.reasoning`; only `content` is the answer.
      const content = choice.delta?.content;
      if (typeof content === 'string' && content.length > 0) {
        if (!firstTokenSeen) {
          firstTokenSeen = true;
          hooks.onFirstToken?.();
        }
        if (text.length + content.length > cap.maxChars) {
          // Over the cap: keep what fits and stop reading (leaving the loop closes the stream).
          text += cutAt(content, cap.maxChars - text.length);
          overCap = true;
          break chunks;
        }
        text += content;
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    if (chunk.usage) usage = toUsage(chunk.usage as ProviderUsage);
  }
  // An aborted stream ends the SDK's iterator without an error.
  if (hooks.signal.aborted) throw new ModelCallError('cancelled', 'Request cancelled');
  if (overCap) {
    cap.stop();
    return finish(text, ANSWER_CAP_FINISH_REASON, usage, responseId, seen);
  }
  if (finishReason === undefined) {
    throw new ModelCallError('network', `Stream truncated: the connection ended before the model finished (${text.length} characters received, no finish_reason)`);
  }
  if ((finishReason as string) === 'error') {
    throw new ModelCallError('http', 'Provider reported finish_reason "error" mid-stream');
  }
  return finish(text, finishReason, usage, responseId, seen);
}

async function unary(client: OpenAI, params: Params, hooks: CallHooks, seen: Seen, cap: Cap): Promise<RawAnswer> {
  const pending = client.chat.completions.create({ ...params, stream: false }, { signal: cap.signal });
  const response = await pending.asResponse();
  noteHeaders(seen, response);
  // Read here, not by the SDK, so an oversized body is refused as it arrives.
  const body = await readBody(response, cap);
  // Like the SDK: a body labelled JSON is parsed, any other stays a string (and is `malformed`).
  if (!isJson(response.headers.get('content-type'))) return fromCompletion(body, hooks, seen, cap);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new ModelCallError('malformed', `Unreadable response: ${(err as Error).message}`);
  }
  return fromCompletion(parsed, hooks, seen, cap);
}

/** A `Content-Type` that labels JSON: `application/json`, `…+json`, with any parameters. */
function isJson(contentType: string | null): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json');
}

/** A whole (non-streamed) chat completion body, parsed or (not labelled JSON) a string. */
function fromCompletion(body: unknown, hooks: CallHooks, seen: Seen, cap: Cap): RawAnswer {
  // A JSON-less 200 reaches us as a string: the SDK only parses bodies labelled JSON.
  if (body === null || typeof body !== 'object') {
    throw new ModelCallError('malformed', `Unreadable response: expected a JSON chat completion, got ${body === null ? 'null' : typeof body}`);
  }
  const error = embeddedError(body);
  if (error) throw error;
  const completion = body as OpenAI.Chat.ChatCompletion;
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  if (!choice) throw new ModelCallError('malformed', 'Unreadable response: no choices in the chat completion');
  if ((choice.finish_reason as string) === 'error') {
    throw new ModelCallError('http', 'Provider reported finish_reason "error"');
  }
  const content = choice.message?.content;
  const whole = typeof content === 'string' ? content : '';
  if (whole.length > 0) hooks.onFirstToken?.();
  const text = cutAt(whole, cap.maxChars);
  const finishReason = text.length < whole.length ? ANSWER_CAP_FINISH_REASON : (choice.finish_reason ?? undefined);
  return finish(text, finishReason, toUsage(completion.usage as ProviderUsage | undefined), completion.id || undefined, seen);
}
