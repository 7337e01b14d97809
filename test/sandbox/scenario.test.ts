import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { sandboxClaims } from '../../src/sandbox/answers.js';
import {
  SANDBOX_MINORITY_CLAIMS,
  SANDBOX_MODELS,
  SANDBOX_SHARED_FACTS,
  defaultScenario,
} from '../../src/sandbox/defaultScenario.js';
import { familyOf, loadScenario, parseScenario } from '../../src/sandbox/scenario.js';

const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
};

describe('parseScenario', () => {
  it('accepts a scenario using every field', () => {
    const scenario = parseScenario(
      {
        requireKey: 'sk-sandbox',
        echoKey: true,
        rateLimit: { requests: 5, windowMs: 1000 },
        models: [
          {
            model: 'acme/a',
            family: 'acme',
            latencyMs: 10,
            tokenDelayMs: 1,
            answer: 'x',
            answers: [{ when: 'capital', text: 'Paris' }],
            votes: 'same_all',
            voteAnswer: '{"votes": {}}',
            voteFault: 'http_503',
            reasoning: 'thinking',
            fault: 'rate_limit',
            faultTimes: 2,
            retryAfterS: 0.5,
            usage: { prompt_tokens: 1, completion_tokens: 2, cost: 0.001 },
          },
        ],
      },
      'inline',
    );
    expect(scenario.models[0]?.fault).toBe('rate_limit');
    expect(scenario.models[0]).toMatchObject({ votes: 'same_all', voteAnswer: '{"votes": {}}', voteFault: 'http_503' });
    expect(scenario.rateLimit).toEqual({ requests: 5, windowMs: 1000 });
  });

  it('names the source, the JSON path and the allowed faults for an unknown fault', () => {
    const err = errorOf(() => parseScenario({ models: [{ model: 'a' }, { model: 'b', fault: 'explode' }] }, 'bad.yaml'));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/^bad\.yaml: models\[1\]\.fault: expected one of .*"hang".*"auth"/);
    expect(err.message).not.toContain('\n');
  });

  it('names the allowed vote modes for an unknown votes value, and the faults for voteFault', () => {
    const err = errorOf(() => parseScenario({ models: [{ model: 'a', votes: 'lie' }] }, 's.yaml'));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(
      's.yaml: models[0].votes: expected one of "honest"|"agree_all"|"disagree_all"|"same_all"|"garbage"|"partial"|"invalid"',
    );
    expect(errorOf(() => parseScenario({ models: [{ model: 'a', voteFault: 'boom' }] }, 's')).message).toMatch(
      /^s: models\[0\]\.voteFault: expected one of "hang"\|.*"auth"$/,
    );
    expect(errorOf(() => parseScenario({ models: [{ model: 'a', voteAnswer: 3 }] }, 's')).message).toBe(
      's: models[0].voteAnswer: expected string, received number',
    );
  });

  it('says what type was expected for a wrongly typed field', () => {
    const err = errorOf(() => parseScenario({ models: [{ model: 'a', latencyMs: '5' }] }, 's.json'));
    expect(err.message).toBe('s.json: models[0].latencyMs: expected number, received string');
  });

  it('rejects unknown keys so typos surface', () => {
    const err = errorOf(() => parseScenario({ models: [{ model: 'a', latency: 5 }] }, 's.json'));
    expect(err.message).toBe('s.json: models[0]: unknown key "latency"');
  });

  it('rejects an empty model list, a duplicate model id and an invalid regex', () => {
    expect(errorOf(() => parseScenario({ models: [] }, 's')).message).toMatch(/^s: models: expected array to have >=1 items/);
    expect(errorOf(() => parseScenario({ models: [{ model: 'a' }, { model: 'a' }] }, 's')).message).toMatch(
      /^s: models\[1\]\.model: expected a unique model id/,
    );
    expect(errorOf(() => parseScenario({ models: [{ model: 'a', answers: [{ when: '(', text: '' }] }] }, 's')).message).toMatch(
      /^s: models\[0\]\.answers\[0\]\.when: expected a valid regular expression/,
    );
  });

  it('reports the top level when the value is not an object, and counts further problems', () => {
    expect(errorOf(() => parseScenario(5, 's')).message).toBe('s: (top level): expected object, received number');
    expect(errorOf(() => parseScenario({ models: [{ model: 1, latencyMs: -1 }] }, 's')).message).toMatch(/\(and 1 more problem\)$/);
  });
});

describe('loadScenario', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quorum-scenario-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads YAML', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(file, 'models:\n  - model: acme/a\n    fault: hang\n');
    expect((await loadScenario(file)).models).toEqual([{ model: 'acme/a', fault: 'hang' }]);
  });

  it('reads JSON', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ models: [{ model: 'acme/a' }] }));
    expect((await loadScenario(file)).models[0]?.model).toBe('acme/a');
  });

  it('names the file and the path for invalid content', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'models:\n  - model: acme/a\n    faultTimes: -1\n');
    await expect(loadScenario(file)).rejects.toThrow(`${file}: models[0].faultTimes: expected number to be >=0`);
  });

  it('names the file for a syntax error and a missing file', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ "models": [');
    await expect(loadScenario(file)).rejects.toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: expected valid JSON`));
    await expect(loadScenario(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: cannot read scenario file \(ENOENT\)/);
    await expect(loadScenario(join(dir, 'missing.yaml'))).rejects.toBeInstanceOf(UsageError);
  });
});

describe('defaultScenario', () => {
  it('is a valid scenario of the eight built-in models, one family each', () => {
    const scenario = parseScenario(defaultScenario(), 'default');
    expect(scenario.models.map((m) => m.model)).toEqual(SANDBOX_MODELS.map((m) => m.model));
    expect(new Set(scenario.models.map(familyOf)).size).toBe(8);
  });

  it('has distinct latencies between 40 and 300 ms', () => {
    const latencies = defaultScenario().models.map((m) => m.latencyMs ?? 0);
    expect(new Set(latencies).size).toBe(8);
    for (const l of latencies) {
      expect(l).toBeGreaterThanOrEqual(40);
      expect(l).toBeLessThanOrEqual(300);
    }
  });

  const normalise = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
  const claimsPerModel = (): Set<string>[] =>
    defaultScenario().models.map((m) => new Set(sandboxClaims(m.answer ?? '').map(normalise)));

  it('lets at least six of eight models state each shared fact', () => {
    const perModel = claimsPerModel();
    for (const fact of SANDBOX_SHARED_FACTS) {
      expect(perModel.filter((c) => c.has(normalise(fact))).length, fact).toBeGreaterThanOrEqual(6);
    }
  });

  it('has minority claims made by one or two models only', () => {
    const perModel = claimsPerModel();
    for (const claim of Object.values(SANDBOX_MINORITY_CLAIMS)) {
      const n = perModel.filter((c) => c.has(normalise(claim))).length;
      expect(n, claim).toBeGreaterThanOrEqual(1);
      expect(n, claim).toBeLessThanOrEqual(2);
    }
  });

  it('answers in several formats and talks only about the sandbox', () => {
    const answers = defaultScenario().models.map((m) => m.answer ?? '');
    expect(answers.some((a) => a.startsWith('{"claims"'))).toBe(true);
    expect(answers.some((a) => a.startsWith('```json'))).toBe(true);
    expect(answers.some((a) => /^- /m.test(a))).toBe(true);
    expect(answers.some((a) => /^1\. /m.test(a))).toBe(true);
    expect(answers.some((a) => !/[{\n]/.test(a))).toBe(true);
    for (const a of answers) expect(a).toMatch(/sandbox|simulated/i);
  });

  it('returns a fresh copy each time', () => {
    const a = defaultScenario();
    a.models[0]!.fault = 'hang';
    expect(defaultScenario().models[0]?.fault).toBeUndefined();
  });
});
