/**
 * Span attribute names. Model calls follow the OpenTelemetry GenAI semantic conventions; the
 * names are copied here rather than imported from `@opentelemetry/semantic-conventions/incubating`
 * because that entry point is unstable by design (its maintainers advise copying), and a test
 * checks the copies still match the installed package. `quorum.*` names are our own.
 */

/** The kind of GenAI operation; always `GEN_AI_OPERATION_CHAT` for a panel call. */
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
/** The GenAI provider as the conventions name it (`openai` for any OpenAI-compatible API). */
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
/** Why a span failed; we use the DESIGN.md failure kind (`timeout`, `rate_limited`, …). */
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';

/** Value of `gen_ai.operation.name` for a chat completion. */
export const GEN_AI_OPERATION_CHAT = 'chat';
/** Value of `gen_ai.provider.name` for OpenAI-compatible endpoints (OpenRouter, Ollama, sandbox). */
export const GEN_AI_PROVIDER_OPENAI = 'openai';

/** The panel port a span belongs to (integer). */
export const ATTR_QUORUM_PORT = 'quorum.port';
/** The model family of that port (`meta`, `deepseek`, …). */
export const ATTR_QUORUM_FAMILY = 'quorum.family';
/** Attempts a model call took, retries included (integer). */
export const ATTR_QUORUM_ATTEMPTS = 'quorum.attempts';
/** The run id, on the root span, so traces join `cloudevents.jsonl` by `runid`. */
export const ATTR_QUORUM_RUN_ID = 'quorum.run_id';
/** The run's status (`consensus`, `degraded`, `quorum_lost`), on the root and gather spans. */
export const ATTR_QUORUM_STATUS = 'quorum.status';
/** Provider-reported cost of a model call (float). */
export const ATTR_QUORUM_COST = 'quorum.cost';

/** Span names from DESIGN.md, so operators and queries cannot drift apart. */
export const SPAN_NAMES = {
  root: 'scatter_gather_research',
  scatter: 'scatter',
  queryModel: 'query_model',
  gather: 'gather',
  /** Round 2: the vote round's model calls hang under it (issue: consensus protocol). */
  voteRound: 'vote_round',
  /** Round 1's clustering when a vote round follows; the final tally is vote_consensus. */
  clusterClaims: 'cluster_claims',
  extractClaims: 'extract_claims',
  voteConsensus: 'vote_consensus',
  synthesizeOutput: 'synthesize_output',
} as const;
