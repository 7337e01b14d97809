import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICall } from '../../src/models/openaiCall.js';
import { sandboxClaims } from '../../src/sandbox/answers.js';
import { defaultScenario, SANDBOX_MODELS, SANDBOX_SHARED_FACTS } from '../../src/sandbox/defaultScenario.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { PanelMember } from '../../src/types.js';

describe('the default scenario through the real client', () => {
  let server: SandboxServer;
  const scenario = defaultScenario();
  beforeAll(async () => {
    // The default latencies (up to 300 ms) are for people watching; tests need none.
    for (const m of scenario.models) {
      m.latencyMs = 0;
      m.tokenDelayMs = 0;
    }
    server = await startSandboxServer({ scenario });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers every built-in model, most sharing the common facts', async () => {
    const call = createOpenAICall({ env: { SANDBOX_KEY: 'sandbox' } });
    const members: PanelMember[] = SANDBOX_MODELS.map((m, port) => ({
      port,
      ...m,
      baseURL: server.baseURL,
      apiKeyEnv: 'SANDBOX_KEY',
      timeoutMs: 5_000,
    }));
    const answers = await Promise.all(
      members.map((m) => call(m, { query: 'What is the sandbox?' }, { signal: new AbortController().signal })),
    );
    const normalise = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
    const claimSets = answers.map((a) => new Set(sandboxClaims(a.text).map(normalise)));
    for (const fact of SANDBOX_SHARED_FACTS) {
      expect(claimSets.filter((s) => s.has(normalise(fact))).length, fact).toBeGreaterThanOrEqual(6);
    }
  });
});
