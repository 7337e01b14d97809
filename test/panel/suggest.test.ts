import { describe, expect, it } from 'vitest';
import type { CatalogModel } from '../../src/panel/catalog.js';
import { parsePanel } from '../../src/panel/loadPanel.js';
import { pickDiverse, suggestedPanelFile, suggestPanel, type CheckModels } from '../../src/panel/suggest.js';

const model = (id: string, contextLength: number | null, free = true): CatalogModel => ({
  model: id,
  name: id,
  family: id.split('/')[0]!,
  contextLength,
  pricing: free ? { prompt: '0', completion: '0' } : { prompt: '0.001', completion: '0.001' },
  free,
});

const CATALOG = [
  model('acme/small:free', 8_000),
  model('acme/large:free', 128_000),
  model('acme/mid:free', 32_000),
  model('beta/one:free', 64_000),
  model('gamma/one:free', null),
  model('delta/paid', 1_000_000, false),
  model('eps/one:free', 16_000),
];

/** A check that fails the given ids (as `http`) and passes the rest, recording what it was asked. */
function fakeCheck(failing: string[]) {
  const asked: string[][] = [];
  const check: CheckModels = async (models) => {
    asked.push(models.map((m) => m.model));
    return new Map(models.map((m) => [m.model, failing.includes(m.model) ? { checked: true as const, ok: false as const, kind: 'http' as const } : { checked: true as const, ok: true as const, latencyMs: 5 }]));
  };
  return { check, asked };
}

describe('pickDiverse', () => {
  it('takes one model per family, the largest context, families with larger context first', () => {
    expect(pickDiverse(CATALOG.filter((m) => m.free), 8).map((m) => m.model)).toEqual(['acme/large:free', 'beta/one:free', 'eps/one:free', 'gamma/one:free']);
  });

  it('stops at n', () => {
    expect(pickDiverse(CATALOG, 2).map((m) => m.model)).toEqual(['delta/paid', 'acme/large:free']);
  });

  it('skips models that failed, falling back to the family’s next', () => {
    expect(pickDiverse(CATALOG, 1, new Set(['acme/large:free', 'delta/paid'])).map((m) => m.model)).toEqual(['beta/one:free']);
    expect(pickDiverse(CATALOG.filter((m) => m.family === 'acme'), 3, new Set(['acme/large:free'])).map((m) => m.model)).toEqual(['acme/mid:free']);
  });

  it('rejects a non-positive n', () => {
    expect(() => pickDiverse(CATALOG, 0)).toThrow(/Expected n to be an integer ≥ 1, got 0/);
  });
});

describe('suggestPanel', () => {
  it('one family with three free models gives one seat; paid models never get one', async () => {
    const { picks, rejected } = await suggestPanel(CATALOG, 3);
    expect(picks.map((p) => p.model.model)).toEqual(['acme/large:free', 'beta/one:free', 'eps/one:free']);
    expect(picks.every((p) => !p.health.checked)).toBe(true);
    expect(rejected).toEqual([]);
  });

  it('with a check, replaces a failing pick by the next model of its family and checks only what it must', async () => {
    const { check, asked } = fakeCheck(['acme/large:free']);
    const { picks, rejected } = await suggestPanel(CATALOG, 3, { check });
    expect(picks.map((p) => p.model.model)).toEqual(['beta/one:free', 'acme/mid:free', 'eps/one:free']);
    expect(picks.every((p) => p.health.checked && p.health.ok)).toBe(true);
    expect(rejected.map((p) => p.model.model)).toEqual(['acme/large:free']);
    expect(asked).toEqual([['acme/large:free', 'beta/one:free', 'eps/one:free'], ['acme/mid:free']]);
  });

  it('moves to the next family when a whole family fails, and returns fewer seats when none is left', async () => {
    const { check } = fakeCheck(['acme/large:free', 'acme/mid:free', 'acme/small:free', 'gamma/one:free']);
    const { picks } = await suggestPanel(CATALOG, 4, { check });
    expect(picks.map((p) => p.model.model)).toEqual(['beta/one:free', 'eps/one:free']);
  });

  it('stops checking at maxChecks and marks what it could not check', async () => {
    const { check, asked } = fakeCheck(['acme/large:free', 'acme/mid:free']);
    const { picks } = await suggestPanel(CATALOG, 2, { check, maxChecks: 3 });
    expect(asked.flat()).toHaveLength(3);
    expect(picks.map((p) => [p.model.model, p.health.checked])).toEqual([
      ['beta/one:free', true],
      ['eps/one:free', false],
    ]);
  });
});

describe('suggestedPanelFile', () => {
  const picks = [{ model: model('acme/large:free', 1), health: { checked: false as const } }, { model: model('beta/one:free', 1), health: { checked: false as const } }];

  it('writes ports in pick order and leaves default endpoint and key variable out', () => {
    expect(suggestedPanelFile(picks, 'https://openrouter.ai/api/v1/', 'OPENROUTER_API_KEY')).toEqual({
      members: [
        { port: 0, model: 'acme/large:free', family: 'acme' },
        { port: 1, model: 'beta/one:free', family: 'beta' },
      ],
    });
  });

  it('keeps another endpoint and key variable, and loads as a panel', () => {
    const file = suggestedPanelFile(picks, 'http://127.0.0.1:8080/v1', 'MY_KEY');
    expect(file).toMatchObject({ baseURL: 'http://127.0.0.1:8080/v1', apiKeyEnv: 'MY_KEY' });
    const panel = parsePanel(file, 'suggested', {});
    expect(panel.members.map((m) => [m.port, m.model, m.baseURL, m.apiKeyEnv])).toEqual([
      [0, 'acme/large:free', 'http://127.0.0.1:8080/v1', 'MY_KEY'],
      [1, 'beta/one:free', 'http://127.0.0.1:8080/v1', 'MY_KEY'],
    ]);
  });

  it('carries allowInsecureHttp over from a panel on plain http to a LAN host, so the file loads', () => {
    const file = suggestedPanelFile(picks, 'http://192.168.1.20:11434/v1', 'OLLAMA_KEY');
    expect(file).toMatchObject({ allowInsecureHttp: true, baseURL: 'http://192.168.1.20:11434/v1', apiKeyEnv: 'OLLAMA_KEY' });
    expect(parsePanel(file, 'suggested', {}).members.map((m) => m.baseURL)).toEqual(['http://192.168.1.20:11434/v1', 'http://192.168.1.20:11434/v1']);
    expect(suggestedPanelFile(picks, 'http://127.0.0.1:8080/v1', 'MY_KEY')).not.toHaveProperty('allowInsecureHttp');
  });
});
