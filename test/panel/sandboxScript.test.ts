import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseScenario, type Scenario } from '../../src/sandbox/scenario.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
const start = async (scenario: Scenario) => (server = await startSandboxServer({ scenario: parseScenario(scenario, 'test') }));
const get = async (s: SandboxServer, path: string) => {
  const res = await fetch(`${s.baseURL}${path}`);
  return { status: res.status, body: (await res.json()) as any };
};

describe('sandbox: scripted GET /models and GET /key', () => {
  it('serves a scripted catalog, filling OpenRouter defaults and keeping extra fields', async () => {
    const s = await start({
      models: [{ model: 'acme/a:free' }],
      catalog: [
        { id: 'acme/a:free', context_length: 8000 },
        { id: 'acme/paid', name: 'Acme Paid', context_length: null, pricing: { prompt: '0.000003', completion: '0.000015' }, top_provider: { is_moderated: false } },
      ],
    });
    const { status, body } = await get(s, '/models');
    expect(status).toBe(200);
    expect(body.data).toEqual([
      { id: 'acme/a:free', name: 'Sandbox: acme/a:free', context_length: 8000, pricing: { prompt: '0', completion: '0' } },
      { id: 'acme/paid', name: 'Acme Paid', context_length: null, pricing: { prompt: '0.000003', completion: '0.000015' }, top_provider: { is_moderated: false } },
    ]);
  });

  it('lists the models when no catalog is scripted, as before', async () => {
    const s = await start({ models: [{ model: 'acme/a' }, { model: 'beta/b' }] });
    expect((await get(s, '/models')).body.data.map((m: { id: string }) => m.id)).toEqual(['acme/a', 'beta/b']);
  });

  it('merges scripted key fields over the generated ones', async () => {
    const s = await start({ models: [{ model: 'acme/a' }], key: { is_free_tier: false, free_model_daily_requests: { used: 47, limit: 50, remaining: 3 } } });
    expect((await get(s, '/key')).body).toEqual({
      data: {
        label: 'sandbox',
        limit: null,
        limit_remaining: null,
        usage: 0,
        is_free_tier: false,
        rate_limit: { requests: -1, interval: '10s' },
        free_model_daily_requests: { used: 47, limit: 50, remaining: 3 },
      },
    });
  });

  it('answers 404 for /key when key is false, as a provider without the endpoint', async () => {
    const s = await start({ models: [{ model: 'acme/a' }], key: false });
    expect((await get(s, '/key')).status).toBe(404);
    expect((await get(s, '/auth/key')).status).toBe(404);
  });

  it('validates the scripted fields, naming the path', () => {
    const bad = (extra: Record<string, unknown>) => () => parseScenario({ models: [{ model: 'a/b' }], ...extra }, 's.yaml');
    expect(bad({ catalog: [{ name: 'no id' }] })).toThrow(/^s\.yaml: catalog\[0\]\.id: /);
    expect(bad({ catalog: [{ id: 'a/b', pricing: { prompt: 'free' } }] })).toThrow(/catalog\[0\]\.pricing\.prompt: expected a price as a decimal string/);
    expect(bad({ catalog: [{ id: 'a/b' }, { id: 'a/b' }] })).toThrow(/catalog\[1\]\.id: expected a unique model id/);
    expect(bad({ key: { free_model_daily_requests: { used: 1, limit: 50 } } })).toThrow(/key\.free_model_daily_requests\.remaining/);
    expect(bad({ key: true })).toThrow(UsageError);
    expect(bad({ key: true })).toThrow(/^s\.yaml: key: expected an object of GET \/key fields, or false/);
  });
});
