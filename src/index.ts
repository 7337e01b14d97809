/**
 * quorum as a library: the operators, pipelines, pure logic and sinks behind the CLI.
 * `quorum sql` and `quorum report` have their own entry points, `quorum/sql` (DuckDB) and
 * `quorum/report` (Vega, DuckDB), so importing `quorum` loads neither.
 */
export * from './types.js';
export { ModelCallError, UsageError, QuorumLostError, redact } from './errors.js';

export { abortable } from './operators/abortable.js';
export { timeoutCall, type TimeoutCallOptions } from './operators/timeoutCall.js';
export { retryBackoff, backoffDelay, isRetryable, type RetryBackoffOptions } from './operators/retryBackoff.js';
export { toOutcome, type ToOutcomeOptions } from './operators/toOutcome.js';
export { scatter, type ScatterOptions } from './operators/scatter.js';
export { cutStragglers, type CutStragglersOptions } from './operators/cutStragglers.js';
export { gatherVotes, type GatherOptions, type GatheredVotes } from './operators/gatherVotes.js';

export { portCall, type PortCallOptions } from './pipelines/portCall.js';
export { askPipeline, type AskOptions, type AskObserver } from './pipelines/ask.js';

export { extractClaims } from './claims/extract.js';
export { claimSimilarity, sameClaim } from './claims/similarity.js';
export { supportScore } from './claims/supportScore.js';
export { tally, type TallyOptions } from './claims/tally.js';
export { defaultQuorum, defaultMinResponders, requiredVotes, validateQuorum } from './claims/quorumRules.js';

export type { ModelCall, CallHooks, RawAnswer } from './models/call.js';
export { createOpenAICall } from './models/openaiCall.js';
export { buildMessages } from './models/prompt.js';
export { classifyError } from './models/classify.js';

export { defaultPanel, loadPanel, parsePanel } from './panel/loadPanel.js';

export type { Sink } from './sinks/sink.js';
export { JsonlSink, InMemorySink, readJsonl } from './sinks/jsonlSink.js';
export { LogWriter, type LogWriterOptions } from './runlog/logWriter.js';
export { LOG_FILES, type LogName, type RunLine, type AnswerLine, type BatchLine, type SeatRecord } from './runlog/lines.js';
export { readLog, findRunLine, answersOf, type LogRead } from './runlog/readLog.js';
export { EVENT_TYPES, makeEvent, type QuorumEvent } from './events.js';
export { createTracing, type Tracing } from './tracing/tracing.js';
export { JsonlSpanExporter } from './tracing/jsonlSpanExporter.js';

export { runAsk, type RunAskOptions, type RunAskResult } from './run/runAsk.js';
export { startSandboxServer, type SandboxServer } from './sandbox/server.js';
export { defaultScenario } from './sandbox/defaultScenario.js';
export { parseScenario, loadScenario, type Scenario } from './sandbox/scenario.js';
export { main } from './cli.js';

export { askRun, type AskRunContext } from './run/runAsk.js';
export { runReplay, type RunReplayOptions, type RunReplayResult } from './run/runReplay.js';
export { replayPipeline } from './pipelines/replay.js';
export { voteRound, type VoteRoundOptions, type CastBallot, type VotedResult } from './operators/voteRound.js';
export { synthesize, type SynthesizeOptions } from './operators/synthesize.js';
export { pullMerge } from './operators/pullMerge.js';
export { parseBallot, type Ballot, type Vote } from './claims/ballot.js';
export { candidatePool, type Candidate } from './claims/candidates.js';
export { tallyVotes, type VoteTallyInput } from './claims/tallyVotes.js';
export { createMatcher } from './claims/similarity.js';

export { checkPanel, checkPassed, panelQuorum, CHECK_REQUEST, type CheckResult, type CheckOptions } from './panel/check.js';
export { loadCatalog, parseCatalog, freeModels, catalogCachePath, type Catalog, type CatalogModel } from './panel/catalog.js';
export { suggestPanel, pickDiverse, suggestedPanelFile, type Pick, type Suggestion } from './panel/suggest.js';
export { fetchKeyInfo, parseKeyInfo, freeQuota, plannedCalls, quotaWarning, quotaWarningFor, type KeyInfo, type FreeQuota } from './panel/quota.js';
export { ProviderError } from './panel/providerGet.js';
export { RateLimiter, QuotaExhaustedError, type RateLimiterOptions } from './batch/rateLimiter.js';
export { rateLimit } from './operators/rateLimit.js';
export { runBatch, type RunBatchOptions, type RunBatchResult } from './run/runBatch.js';
export { runWatch, type RunWatchOptions } from './run/runWatch.js';
export { chunkFile, chunkLines, chunkId, estimateTokens, SkipFile, type Chunk } from './batch/chunker.js';
export { resolveInputs } from './batch/inputs.js';
