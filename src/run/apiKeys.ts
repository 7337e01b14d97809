import { UsageError } from '../errors.js';
import { isLoopbackURL } from '../panel/keyPolicy.js';
import type { Panel } from '../types.js';

/**
 * Fails early, naming the variable, when a member's API key is not set. Local servers (Ollama,
 * llama.cpp, vLLM on loopback) usually take no key, so a missing key there is filled with a
 * placeholder instead of stopping the run.
 */
export function resolveApiKeys(panel: Panel, env: NodeJS.ProcessEnv, offline = 'quorum ask "What is Raft?" --sandbox'): NodeJS.ProcessEnv {
  const filled: NodeJS.ProcessEnv = { ...env };
  for (const member of panel.members) {
    if (env[member.apiKeyEnv]?.trim()) continue;
    if (isLoopbackURL(member.baseURL)) {
      filled[member.apiKeyEnv] = 'no-key';
      continue;
    }
    throw new UsageError(
      `Environment variable ${member.apiKeyEnv} is not set (needed by port ${member.port}, ${member.model}); export your API key, or try it offline: ${offline}`,
    );
  }
  return filled;
}
