/**
 * The built-in panel: eight free OpenRouter models, one per family, so that no two seats share
 * training lineage. Free models come and go; `quorum panel --free` (and a panel file) replace them.
 * Families are the vendor before the `/`, as `familyOf` derives them for `--free`, `--suggest`
 * and panel files, so one vendor has one family name everywhere.
 */
export const DEFAULT_BASE_URL = 'https://openrouter.ai/api/v1';
export const DEFAULT_API_KEY_ENV = 'OPENROUTER_API_KEY';
export const DEFAULT_TIMEOUT_MS = 30_000;

export const DEFAULT_MEMBERS: readonly { model: string; family: string }[] = [
  { model: 'meta-llama/llama-3.3-70b-instruct:free', family: 'meta-llama' },
  { model: 'deepseek/deepseek-chat-v3-0324:free', family: 'deepseek' },
  { model: 'google/gemma-3-27b-it:free', family: 'google' },
  { model: 'mistralai/mistral-small-3.2-24b-instruct:free', family: 'mistralai' },
  { model: 'qwen/qwen3-235b-a22b:free', family: 'qwen' },
  { model: 'moonshotai/kimi-k2:free', family: 'moonshotai' },
  { model: 'z-ai/glm-4.5-air:free', family: 'z-ai' },
  { model: 'openai/gpt-oss-20b:free', family: 'openai' },
];
