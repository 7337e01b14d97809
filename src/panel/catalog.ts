/**
 * The provider's model list (`GET /models`), for `quorum panel --free` and `--suggest`.
 * OpenRouter's shape: `{data: [{id, name, context_length, pricing: {prompt, completion}}]}`;
 * a plain OpenAI-compatible list (`{data: [{id}]}`) also reads, with no model counted free
 * because nothing says it is.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { familyOf } from '../models/family.js';
import { writeJsonAtomic } from '../sinks/writeJsonAtomic.js';
import { ProviderError, providerGet, type ProviderGetOptions } from './providerGet.js';

export interface CatalogModel {
  /** The id a panel file names, e.g. "meta-llama/llama-3.3-70b-instruct:free". */
  model: string;
  name: string;
  /** The vendor before the `/`. */
  family: string;
  /** Tokens; null when the provider does not say. */
  contextLength: number | null;
  /** USD per token as the provider wrote it; null when it gave no price. */
  pricing: { prompt: string | null; completion: string | null };
  /** Both the prompt and the completion price are zero. */
  free: boolean;
}

export interface Catalog {
  baseURL: string;
  /** ISO time the list was fetched from the provider. */
  fetchedAt: string;
  models: CatalogModel[];
  /** Read from the cache rather than the provider. */
  fromCache: boolean;
  /** Set when the provider could not be reached and an expired cache was used instead: why. */
  staleBecause?: string;
  /** Set when the fresh list could not be cached: why. */
  cacheError?: string;
}

/** How long a cached list is used before the provider is asked again. */
export const CATALOG_MAX_AGE_MS = 24 * 60 * 60 * 1000;

const CACHE_VERSION = 1;

/** `<out>/cache/models-<hash>.json`: one file per base URL, so two providers never mix. */
export function catalogCachePath(out: string, baseURL: string): string {
  const hash = createHash('sha256').update(normaliseBaseURL(baseURL)).digest('hex').slice(0, 16);
  return join(out, 'cache', `models-${hash}.json`);
}

export function normaliseBaseURL(baseURL: string): string {
  return baseURL.replace(/\/+$/, '');
}

function price(value: unknown): string | null {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/**
 * Reads a `/models` answer. Entries without a string `id` are skipped; anything else missing
 * becomes null, and a model is free only when both prices are present and zero.
 * @throws ProviderError when the answer has no `data` array.
 */
export function parseCatalog(body: unknown, source: string): CatalogModel[] {
  const data = body !== null && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) throw new ProviderError(`${source}: unreadable model list, expected {"data": [...]}`);
  const models: CatalogModel[] = [];
  const seen = new Set<string>();
  for (const entry of data as unknown[]) {
    if (entry === null || typeof entry !== 'object') continue;
    const e = entry as { id?: unknown; name?: unknown; context_length?: unknown; pricing?: unknown };
    if (typeof e.id !== 'string' || e.id.trim() === '' || seen.has(e.id)) continue;
    seen.add(e.id);
    const pricing = e.pricing !== null && typeof e.pricing === 'object' ? (e.pricing as { prompt?: unknown; completion?: unknown }) : {};
    const prompt = price(pricing.prompt);
    const completion = price(pricing.completion);
    const context = typeof e.context_length === 'number' && Number.isFinite(e.context_length) && e.context_length > 0 ? Math.floor(e.context_length) : null;
    models.push({
      model: e.id,
      name: typeof e.name === 'string' && e.name.trim() ? e.name.trim() : e.id,
      family: familyOf(e.id),
      contextLength: context,
      pricing: { prompt, completion },
      free: prompt !== null && completion !== null && Number(prompt) === 0 && Number(completion) === 0,
    });
  }
  return models;
}

export interface LoadCatalogOptions extends Omit<ProviderGetOptions, 'apiKeyEnv'> {
  apiKeyEnv: string;
  /** The artifacts folder; the cache lives in its `cache/`. */
  out: string;
  /** Skip the cache (it is still rewritten with the fresh list). */
  refresh?: boolean;
  now?: () => number;
}

interface CacheFile {
  version: number;
  baseURL: string;
  fetchedAt: string;
  models: CatalogModel[];
}

async function readCache(path: string, baseURL: string): Promise<CacheFile | undefined> {
  try {
    const cache = JSON.parse(await readFile(path, 'utf8')) as Partial<CacheFile>;
    const fetchedAt = Date.parse(String(cache.fetchedAt));
    // A cache from another version or endpoint (a hash collision) is as good as none.
    if (cache.version !== CACHE_VERSION || cache.baseURL !== baseURL || !Number.isFinite(fetchedAt) || !Array.isArray(cache.models)) return undefined;
    return cache as CacheFile;
  } catch {
    return undefined;
  }
}

/**
 * The provider's model list: from the cache when it is younger than a day (unless `refresh`),
 * else fetched and cached. When the provider cannot be reached but an expired cache exists, the
 * expired list is returned with `staleBecause` set, rather than nothing.
 * @throws UsageError when the provider cannot be reached (and no cache helps) or refuses the key;
 *   ProviderError when it answers with an error status or an unreadable list.
 */
export async function loadCatalog(baseURL: string, opts: LoadCatalogOptions): Promise<Catalog> {
  const base = normaliseBaseURL(baseURL);
  const now = opts.now ?? Date.now;
  const path = catalogCachePath(opts.out, base);
  const cached = opts.refresh ? undefined : await readCache(path, base);
  if (cached && now() - Date.parse(cached.fetchedAt) < CATALOG_MAX_AGE_MS) {
    return { baseURL: base, fetchedAt: cached.fetchedAt, models: cached.models, fromCache: true };
  }
  let body: unknown;
  try {
    body = await providerGet(base, '/models', opts);
  } catch (error) {
    if (cached && !opts.signal?.aborted && error instanceof Error) {
      return { baseURL: base, fetchedAt: cached.fetchedAt, models: cached.models, fromCache: true, staleBecause: error.message };
    }
    throw error;
  }
  if (body === undefined) {
    throw new UsageError(`GET ${base}/models: HTTP 404, no model list there; check that the base URL is the API root (e.g. https://openrouter.ai/api/v1)`);
  }
  const models = parseCatalog(body, `GET ${base}/models`);
  const fetchedAt = new Date(now()).toISOString();
  try {
    await writeJsonAtomic(path, { version: CACHE_VERSION, baseURL: base, fetchedAt, models } satisfies CacheFile);
  } catch (error) {
    // The list is good without a cache; the next call just asks the provider again.
    return { baseURL: base, fetchedAt, models, fromCache: false, cacheError: (error as Error).message };
  }
  return { baseURL: base, fetchedAt, models, fromCache: false };
}

/** The free models, by family, then larger context first, then id. */
export function freeModels(models: readonly CatalogModel[]): CatalogModel[] {
  return models.filter((m) => m.free).sort((a, b) => a.family.localeCompare(b.family) || byContext(a, b));
}

/** Larger context first (unknown last), then id, for a stable order. */
export function byContext(a: CatalogModel, b: CatalogModel): number {
  return (b.contextLength ?? -1) - (a.contextLength ?? -1) || a.model.localeCompare(b.model);
}
