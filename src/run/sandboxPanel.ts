import { defaultScenario } from '../sandbox/defaultScenario.js';
import type { Scenario } from '../sandbox/scenario.js';
import { startSandboxServer } from '../sandbox/server.js';
import type { Panel } from '../types.js';

const SANDBOX_KEY_ENV = 'QUORUM_SANDBOX_KEY';

/** An in-process sandbox server and the panel that points at it, for `ask --sandbox`. */
export async function startSandboxPanel(scenario: Scenario = defaultScenario()) {
  const server = await startSandboxServer({ scenario });
  const panel: Panel = {
    source: 'sandbox',
    baseURL: server.baseURL,
    apiKeyEnv: SANDBOX_KEY_ENV,
    timeoutMs: 10_000,
    members: scenario.models.map((m, port) => ({
      port,
      model: m.model,
      family: m.family ?? m.model.split('/')[0]!,
      baseURL: server.baseURL,
      apiKeyEnv: SANDBOX_KEY_ENV,
      timeoutMs: 10_000,
    })),
  };
  return { panel, baseURL: server.baseURL, env: { [SANDBOX_KEY_ENV]: 'sandbox' }, close: () => server.close() };
}
