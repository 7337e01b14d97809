/**
 * One vendor, one family name (issue 12, item 10): the built-in panel said `meta` and `mistral`
 * where `panel --free`, `--suggest` and panel files say `meta-llama` and `mistralai` (the vendor
 * before the `/`), so one vendor showed under two names.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMBERS } from '../../src/panel/defaultPanel.js';
import { familyOf } from '../../src/models/family.js';
import { defaultScenario } from '../../src/sandbox/defaultScenario.js';
import { startSandboxServer } from '../../src/sandbox/server.js';
import { spawnCli, tempDir } from '../helpers/cli.js';

describe('family names', () => {
  it('the built-in panel uses the family a panel file or the model list would derive', () => {
    for (const m of DEFAULT_MEMBERS) expect(m.family, m.model).toBe(familyOf(m.model));
    expect(new Set(DEFAULT_MEMBERS.map((m) => m.family)).size).toBe(DEFAULT_MEMBERS.length);
  });

  it('`quorum panel` and `quorum panel --free` name each built-in model by the same family (real binary, sandbox provider)', async () => {
    const server = await startSandboxServer({ scenario: defaultScenario() });
    try {
      const env = { OPENROUTER_BASE_URL: server.baseURL, OPENROUTER_API_KEY: 'sk-test-families' };
      const out = tempDir();
      const [shown, free] = await Promise.all([
        spawnCli(['panel', '--json', '--no-quota', '--out', out], env).done,
        spawnCli(['panel', '--free', '--json', '--out', out], env).done,
      ]);
      expect(shown.code).toBe(0);
      expect(free.code).toBe(0);
      const panelFamilies = Object.fromEntries((JSON.parse(shown.stdout) as { members: { model: string; family: string }[] }).members.map((m) => [m.model, m.family]));
      const freeFamilies = Object.fromEntries((JSON.parse(free.stdout) as { model: string; family: string }[]).map((m) => [m.model, m.family]));
      expect(freeFamilies).toEqual(panelFamilies);
      expect(panelFamilies['meta-llama/llama-3.3-70b-instruct:free']).toBe('meta-llama');
      expect(panelFamilies['mistralai/mistral-small-3.2-24b-instruct:free']).toBe('mistralai');
    } finally {
      await server.close();
    }
  }, 30_000);
});
