/**
 * GET requests to a provider's metadata endpoints (`/models`, `/key`), with a deadline and
 * errors sorted the way the CLI reports them: configuration (unreachable, refused key) is a
 * {@link UsageError}, exit 2; a provider that answers wrongly is a {@link ProviderError}, exit 1.
 */
import { UsageError } from '../errors.js';
import { oneLine } from '../models/classify.js';
import { hostKind } from './keyPolicy.js';

/** The provider answered, but not usably (5xx, a body that is not the expected JSON). Exit 1. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
}

export interface ProviderGetOptions {
  /** Sent as `Authorization: Bearer …` when set; never appears in any message. */
  apiKey?: string;
  /** The variable the key came from, named in errors. */
  apiKeyEnv: string;
  timeoutMs: number;
  /** Aborts the request (Ctrl-C); the rejection is then an `AbortError`. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** `undefined` when the endpoint does not exist there (404): not every provider has `/key`. */
export async function providerGet(baseURL: string, path: string, opts: ProviderGetOptions): Promise<unknown> {
  const url = `${baseURL.replace(/\/+$/, '')}${path}`;
  // Panels are checked when they load; this is the last guard before a request leaves.
  if (URL.canParse(url) && hostKind(new URL(url)) === 'metadata') throw new UsageError(`GET ${url}: a link-local or cloud-metadata address; quorum never sends requests there`);
  const secrets = opts.apiKey ? [opts.apiKey] : [];
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
  let res: Response;
  let text: string;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      headers: { Accept: 'application/json', 'X-Title': 'quorum', ...(opts.apiKey && { Authorization: `Bearer ${opts.apiKey}` }) },
      signal,
    });
    text = await res.text();
  } catch (error) {
    if (opts.signal?.aborted) throw error;
    if (deadline.aborted) {
      throw new UsageError(`GET ${url}: no answer within ${opts.timeoutMs} ms; check the base URL (panel file baseURL or OPENROUTER_BASE_URL), or raise --timeout`);
    }
    throw new UsageError(`Cannot reach ${url} (${transportReason(error, secrets)}); check the base URL (panel file baseURL or OPENROUTER_BASE_URL) and your network`);
  }
  if (res.status === 404) return undefined;
  if (res.status === 401 || res.status === 403) {
    throw new UsageError(
      opts.apiKey
        ? `GET ${url}: HTTP ${res.status}, the key in ${opts.apiKeyEnv} was refused; check that it is current`
        : `GET ${url}: HTTP ${res.status}, an API key is needed; set ${opts.apiKeyEnv}`,
    );
  }
  if (!res.ok) throw new ProviderError(`GET ${url}: HTTP ${res.status}${text.trim() ? `: ${oneLine(text, secrets).slice(0, 200)}` : ''}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProviderError(`GET ${url}: unreadable answer, expected JSON, got ${text.trim() ? `"${oneLine(text, secrets).slice(0, 80)}"` : 'an empty body'}`);
  }
}

/** "ECONNREFUSED", "ENOTFOUND", …: the innermost code or message of a fetch failure. */
function transportReason(error: unknown, secrets: string[]): string {
  let current: unknown = error;
  let reason = '';
  for (let depth = 0; current && typeof current === 'object' && depth < 6; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string') reason = code;
    else if (typeof message === 'string' && message && message !== 'fetch failed') reason = message;
    current = (current as { cause?: unknown }).cause;
  }
  return oneLine(reason || 'fetch failed', secrets);
}
