import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { CATALOG_MAX_AGE_MS, catalogCachePath, freeModels, loadCatalog, parseCatalog } from '../../src/panel/catalog.js';
import { ProviderError } from '../../src/panel/providerGet.js';
import { tempDir } from '../helpers/cli.js';

const BASE = 'http://127.0.0.1:9/api/v1';
const LIST = {
  data: [
    { id: 'acme/big:free', name: 'Acme Big', context_length: 131072, pricing: { prompt: '0', completion: '0' } },
    { id: 'acme/paid', context_length: 200000, pricing: { prompt: '0.000003', completion: '0.000015' } },
    { id: 'acme/half-free', context_length: 8000, pricing: { prompt: '0', completion: '0.000001' } },
    { id: 'beta/tiny:free', context_length: null, pricing: { prompt: '0.0', completion: '0' } },
    { id: 'gamma/unpriced', context_length: 4096 },
    { name: 'no id' },
    'junk',
    { id: 'acme/big:free', context_length: 1 },
  ],
};

/** A fetch stand-in that answers from a queue and counts its calls; never reaches a network. */
function fakeFetch(...answers: (Response | Error)[]) {
  const calls: string[] = [];
  const fn = (async (url: string | URL | Request) => {
    calls.push(String(url));
    const next = answers.shift();
    if (!next) throw new Error('no more answers scripted');
    if (next instanceof Error) throw next;
    return next;
  }) as typeof fetch;
  return { fn, calls };
}
const ok = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
const refused = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });

describe('parseCatalog', () => {
  it('counts a model free only when its prompt and completion prices are both zero', () => {
    const models = parseCatalog(LIST, 'test');
    expect(models.map((m) => [m.model, m.free])).toEqual([
      ['acme/big:free', true],
      ['acme/paid', false],
      ['acme/half-free', false],
      ['beta/tiny:free', true],
      ['gamma/unpriced', false],
    ]);
  });

  it('takes the family from the vendor before the slash and keeps an unknown context as null', () => {
    const [big, , , tiny] = parseCatalog(LIST, 'test');
    expect(big).toMatchObject({ family: 'acme', name: 'Acme Big', contextLength: 131072 });
    expect(tiny).toMatchObject({ family: 'beta', name: 'beta/tiny:free', contextLength: null });
  });

  it('rejects an answer without a data array as a provider error', () => {
    expect(() => parseCatalog({ models: [] }, 'GET x/models')).toThrow(ProviderError);
    expect(() => parseCatalog('<html>', 'GET x/models')).toThrow(/expected \{"data": \[\.\.\.\]\}/);
  });

  it('lists free models by family, larger context first', () => {
    const models = parseCatalog(
      { data: [{ id: 'b/x:free', context_length: 10, pricing: { prompt: '0', completion: '0' } }, { id: 'a/small:free', context_length: 5, pricing: { prompt: '0', completion: '0' } }, { id: 'a/large:free', context_length: 50, pricing: { prompt: '0', completion: '0' } }] },
      't',
    );
    expect(freeModels(models).map((m) => m.model)).toEqual(['a/large:free', 'a/small:free', 'b/x:free']);
  });
});

describe('loadCatalog: a day-long cache in <out>/cache', () => {
  it('fetches once, then answers from the cache until it is a day old', async () => {
    const out = tempDir('quorum-catalog-');
    let now = Date.parse('2025-06-01T12:00:00Z');
    const f = fakeFetch(ok(LIST), ok({ data: [] }));
    const opts = { apiKeyEnv: 'K', timeoutMs: 1000, out, fetch: f.fn, now: () => now };
    const first = await loadCatalog(`${BASE}/`, opts);
    expect(first).toMatchObject({ fromCache: false, baseURL: BASE, fetchedAt: '2025-06-01T12:00:00.000Z' });
    expect(f.calls).toEqual([`${BASE}/models`]);
    expect(existsSync(catalogCachePath(out, BASE))).toBe(true);

    now += CATALOG_MAX_AGE_MS - 1;
    const second = await loadCatalog(BASE, opts);
    expect(second).toMatchObject({ fromCache: true, fetchedAt: first.fetchedAt });
    expect(second.models).toEqual(first.models);
    expect(f.calls).toHaveLength(1);

    now += 2;
    const third = await loadCatalog(BASE, opts);
    expect(third).toMatchObject({ fromCache: false, models: [] });
    expect(f.calls).toHaveLength(2);
  });

  it('--refresh skips a fresh cache', async () => {
    const out = tempDir('quorum-catalog-');
    const f = fakeFetch(ok(LIST), ok(LIST));
    await loadCatalog(BASE, { apiKeyEnv: 'K', timeoutMs: 1000, out, fetch: f.fn });
    const again = await loadCatalog(BASE, { apiKeyEnv: 'K', timeoutMs: 1000, out, fetch: f.fn, refresh: true });
    expect(again.fromCache).toBe(false);
    expect(f.calls).toHaveLength(2);
  });

  it('keeps one cache per base URL', () => {
    expect(catalogCachePath('/a', 'http://one/v1')).not.toBe(catalogCachePath('/a', 'http://two/v1'));
    expect(catalogCachePath('/a', 'http://one/v1/')).toBe(catalogCachePath('/a', 'http://one/v1'));
  });

  it('ignores a corrupt cache file and fetches', async () => {
    const out = tempDir('quorum-catalog-');
    const path = catalogCachePath(out, BASE);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '{"version": 1, "baseURL": ');
    const f = fakeFetch(ok(LIST));
    expect((await loadCatalog(BASE, { apiKeyEnv: 'K', timeoutMs: 1000, out, fetch: f.fn })).fromCache).toBe(false);
    expect(JSON.parse(readFileSync(path, 'utf8')).models).toHaveLength(5);
  });

  it('falls back to an expired cache, saying why, when the provider cannot be reached', async () => {
    const out = tempDir('quorum-catalog-');
    let now = Date.parse('2025-06-01T12:00:00Z');
    const f = fakeFetch(ok(LIST), refused());
    await loadCatalog(BASE, { apiKeyEnv: 'K', timeoutMs: 1000, out, fetch: f.fn, now: () => now });
    now += 2 * CATALOG_MAX_AGE_MS;
    const stale = await loadCatalog(BASE, { apiKeyEnv: 'K', timeoutMs: 1000, out, fetch: f.fn, now: () => now });
    expect(stale).toMatchObject({ fromCache: true, staleBecause: expect.stringMatching(/Cannot reach .*ECONNREFUSED/) });
  });

  it('an unreachable provider with no cache is a usage error naming the URL and the cause', async () => {
    const out = tempDir('quorum-catalog-');
    const err = await loadCatalog(BASE, { apiKeyEnv: 'K', timeoutMs: 1000, out, fetch: fakeFetch(refused()).fn }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`Cannot reach ${BASE}/models (ECONNREFUSED); check the base URL (panel file baseURL or OPENROUTER_BASE_URL) and your network`);
    expect(existsSync(catalogCachePath(out, BASE))).toBe(false);
  });

  it('sorts provider answers: 404 and 401 are configuration, 5xx and non-JSON are provider failures', async () => {
    const out = tempDir('quorum-catalog-');
    const load = (res: Response, apiKey?: string) =>
      loadCatalog(BASE, { apiKeyEnv: 'MY_KEY', ...(apiKey && { apiKey }), timeoutMs: 1000, out, fetch: fakeFetch(res).fn }).then(
        () => new Error('expected a rejection'),
        (e: unknown) => e as Error,
      );
    const notFound = await load(new Response('nope', { status: 404 }));
    expect(notFound).toBeInstanceOf(UsageError);
    expect(notFound.message).toMatch(/HTTP 404, no model list there; check that the base URL is the API root/);
    const refusedKey = await load(new Response('{"error":{"message":"bad key sk-or-v1-secret_secret"}}', { status: 401 }), 'sk-or-v1-secret_secret');
    expect(refusedKey).toBeInstanceOf(UsageError);
    expect(refusedKey.message).toMatch(/the key in MY_KEY was refused/);
    const down = await load(new Response('{"error":{"message":"upstream sk-or-v1-secret_secret down"}}', { status: 503 }), 'sk-or-v1-secret_secret');
    expect(down).toBeInstanceOf(ProviderError);
    expect(down.message).toMatch(/HTTP 503/);
    expect(down.message).not.toContain('sk-or-v1-secret_secret');
    const garbage = await load(new Response('<html>bad gateway</html>', { status: 200 }));
    expect(garbage).toBeInstanceOf(ProviderError);
    expect(garbage.message).toMatch(/unreadable answer, expected JSON/);
  });

  it('gives up after the timeout with a usage error', async () => {
    const out = tempDir('quorum-catalog-');
    const never = (async (_url: unknown, init?: RequestInit) =>
      new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch;
    const started = Date.now();
    const err = await loadCatalog(BASE, { apiKeyEnv: 'K', timeoutMs: 50, out, fetch: never }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/no answer within 50 ms/);
  });
});

describe('providerGet: the last guard before a request leaves', () => {
  it('never sends a request (or a key) to a link-local or cloud-metadata address', async () => {
    const out = tempDir('quorum-catalog-');
    for (const base of ['http://169.254.169.254/latest', 'https://metadata.google.internal/v1', 'http://[fe80::1]/v1']) {
      const f = fakeFetch(ok(LIST));
      const err = await loadCatalog(base, { apiKeyEnv: 'MY_KEY', apiKey: 'sk-secret', timeoutMs: 1000, out, fetch: f.fn }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/a link-local or cloud-metadata address; quorum never sends requests there/);
      expect(f.calls).toEqual([]);
    }
  });
});
