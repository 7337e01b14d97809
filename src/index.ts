/**
 * quorum as a library: the pipelines, the RxJS operators they are made of, the claim matcher and
 * the types a caller needs to drive them. Every name here is a semver promise, so the list is
 * short and written down (test/api.test.ts fails on a name added or dropped by accident).
 * The rest has entry points of its own, each loading only what it needs: `quorum/sql` (DuckDB),
 * `quorum/report` (Vega, DuckDB), `quorum/sandbox` (the offline provider), `quorum/cli` (`main`).
 * Importing `quorum` loads neither DuckDB nor Vega.
 */

// Pipelines: the commands as RxJS streams, each cancelled by unsubscribing.
/** Asks every panel member, cuts stragglers, gathers claims, and (round 2) puts them to a vote. */
export { askPipeline, type AskOptions, type AskObserver, type AskResult } from './pipelines/ask.js';
/** Gathers a recorded run again from its logged answers and ballots, with no model call. */
export { replayPipeline } from './pipelines/replay.js';
/** `quorum batch` as a stream: chunks pulled only as slots free up, one report per chunk, cancellable. */
export { batchPipeline } from './pipelines/batch.js';
/** `quorum watch` as a stream: each written or changed file researched, a newer change cancelling the older. */
export { watchPipeline } from './pipelines/watch.js';
/** Reads a run back from the run log in an `--out` folder, as `replayPipeline` takes it. */
export { loadRecordedRun, type RecordedRun } from './runlog/recordedRun.js';
/** One member's call as a stream of exactly one outcome: rate limit, timeout, retries, classification. */
export { portCall } from './pipelines/portCall.js';

// Operators: plain RxJS operators, each marble-tested in virtual time.
/** Sends each request to every panel member and emits their outcomes as they arrive. */
export { scatter } from './operators/scatter.js';
/** Fails an attempt that has not answered in time with a `ModelCallError` of kind `timeout`. */
export { timeoutCall } from './operators/timeoutCall.js';
/** Retries retryable failures with capped exponential backoff, honouring `Retry-After`. */
export { retryBackoff } from './operators/retryBackoff.js';
/** Turns a member's raw answer or error into a `ModelOutcome` value: failures are values, not errors. */
export { toOutcome } from './operators/toOutcome.js';
/** Once a quorum has answered, waits a grace period, then cancels the rest as `cancelled` outcomes. */
export { cutStragglers } from './operators/cutStragglers.js';
/** Collects the round-1 outcomes into claims and a tally. */
export { gatherVotes } from './operators/gatherVotes.js';
/** Round 2: puts the round-1 candidates to a vote of every responder and tallies the ballots. */
export { voteRound } from './operators/voteRound.js';
/** Adds a chair's prose answer written from the consensus claims. */
export { synthesize } from './operators/synthesize.js';
/** Like `mergeMap` over an async iterable, pulling the next item only when a slot frees up. */
export { pullMerge } from './operators/pullMerge.js';
/** Holds each call to `model` until the shared `RateLimiter` grants it a slot. */
export { rateLimit } from './operators/rateLimit.js';

// The matcher and the vote: pure functions.
/** Splits an answer into its atomic claims (lists, prose sentences, reasoning stripped). */
export { extractClaims } from './claims/extract.js';
/** How alike two claims are, 0–1, with the default matcher. */
export { claimSimilarity, sameClaim, createMatcher } from './claims/similarity.js';
/** How strongly some passages (another answer's sentences) back a claim, 0–1. */
export { supportScore } from './claims/supportScore.js';
/** The round-1 decision: which claims a quorum of the answers make, and who dissents. */
export { tally } from './claims/tally.js';

// Models, panels and the limiter a pipeline is given.
/** A `ModelCall` backed by the `openai` SDK, for any OpenAI-compatible endpoint (streams by default). */
export { createOpenAICall } from './models/openaiCall.js';
/** How a pipeline reaches a model: one request in, one raw answer (or a `ModelCallError`) out. */
export type { ModelCall } from './models/call.js';
/** The built-in panel, a panel file read from disk, or a parsed panel object. */
export { defaultPanel, loadPanel, parsePanel } from './panel/loadPanel.js';
/** One limiter shared by every call of a run or a batch: even spacing, learns limits from 429s. */
export { RateLimiter } from './ratelimit/rateLimiter.js';

// Errors a caller may tell apart.
/** A failed model call, with its `FailureKind` (timeout, rate_limited, http, …) and `Retry-After`. */
export { ModelCallError, UsageError } from './errors.js';

// Records.
/** A panel, its members (one port, one vote), a request, an outcome, and a decided result. */
export type { Panel, PanelMember, ModelRequest, ModelOutcome, ConsensusResult, ClaimRecord } from './types.js';
