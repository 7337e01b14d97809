/**
 * The record types every part of quorum shares. Sinks, queries and users' scripts read these
 * names, so they are defined once here (see DESIGN.md for the wire contracts).
 */

/** One panel seat. A port is the member's stable index: one port, one vote. */
export interface PanelMember {
  port: number;
  model: string;
  family: string;
  baseURL: string;
  apiKeyEnv: string;
  timeoutMs: number;
  maxTokens?: number;
  temperature?: number;
}

export interface Panel {
  /** Where the panel came from: a file path, or "built-in" / "sandbox". */
  source: string;
  baseURL: string;
  apiKeyEnv: string;
  /** Configured quorum from the file (votes required when every member answers), if any. */
  quorum?: number;
  timeoutMs: number;
  /** Retry policy for every call (the panel file's `retry`); defaults apply to absent fields. */
  retry?: RetryPolicy;
  members: PanelMember[];
}

/** How failed calls are retried: see `retryBackoff` for each field's meaning and default. */
export interface RetryPolicy {
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  retryAfterCapMs?: number;
}

export const FAILURE_KINDS = [
  'timeout',
  'rate_limited',
  'http',
  'network',
  'malformed',
  'empty',
  'auth',
  'cancelled',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/**
 * What a response's `X-RateLimit-*` headers said, for the shared rate limiter. Every field is
 * optional: providers send some, all or none of them.
 */
export interface RateLimitHeaders {
  /** `X-RateLimit-Limit`: requests the server allows per window (the window itself is not sent). */
  limit?: number;
  /** `X-RateLimit-Remaining`: requests left in the current window, counting this one as spent. */
  remaining?: number;
  /** `X-RateLimit-Reset` as an epoch in ms (sent as epoch ms, epoch s, or seconds from now). */
  resetAtMs?: number;
}

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  /** Provider-reported cost in credits/USD (OpenRouter's `usage.cost`). */
  cost?: number;
}

/** The question one run asks of every port. */
export interface ModelRequest {
  query: string;
  /** Document text given with --context; always wrapped as data, never as instructions. */
  context?: { source: string; text: string };
  /** Set for the vote round: the candidates to vote on, instead of asking for claims. */
  ballot?: { id: string; text: string }[];
  /** Set for the chair: the consensus claims to write the answer from, instead of asking for claims. */
  synthesis?: { id: string; text: string }[];
}

interface OutcomeBase {
  port: number;
  model: string;
  family: string;
  /** Wall time from the first attempt's start to the outcome, in ms. */
  latencyMs: number;
  attempts: number;
}

export interface ModelSuccess extends OutcomeBase {
  ok: true;
  text: string;
  usage: Usage;
  finishReason?: string;
  /** Provider's generation id, for auditing against the provider's logs. */
  responseId?: string;
}

export interface ModelFailure extends OutcomeBase {
  ok: false;
  kind: FailureKind;
  /** One line, safe to print: never contains the API key. */
  message: string;
  status?: number;
}

export type ModelOutcome = ModelSuccess | ModelFailure;

/** Progress a port reports while it runs, for the live terminal view. */
export type PortPhase = 'waiting' | 'streaming' | 'done' | 'failed';

export type RunStatus = 'consensus' | 'degraded' | 'quorum_lost';

export interface QuorumInfo {
  /** Votes required with the whole panel answering (DESIGN: q). */
  configured: number;
  /** Votes required given who actually answered (q, or q' when degraded). */
  required: number;
  responders: number;
  panel: number;
  /** Fewest responders for any consensus (default: strict majority of the panel). */
  minResponders: number;
}

export interface ClaimRecord {
  text: string;
  support: number;
  ports: number[];
  /** Every wording the supporting ports used, for the record. */
  wordings?: { port: number; text: string }[];
  /**
   * One-round runs: ports that did not propose the fact but whose answer states it (counted in
   * `ports` and `support`), each with the sentence of its own that carries it.
   */
  attested?: { port: number; text: string }[];
  /** Soft support: proposers count 1, every other responder its evidence (0–1). Ranks ties. */
  strength?: number;
  /** Two-round runs: the candidate id(s) this fact was put to the vote as (`c1`, …). */
  ids?: string[];
  /** Two-round runs: the ports that proposed it in round 1. */
  proposers?: number[];
  /** Two-round runs: every voter's verdict on it, so each verdict can be audited. */
  votes?: VoteRecord;
}

/** Which ports voted how on one fact in round 2; `abstained` voters had no usable ballot. */
export interface VoteRecord {
  agree: number[];
  disagree: number[];
  unsure: number[];
  abstained: number[];
}

export interface FailureRecord {
  port: number;
  model: string;
  kind: FailureKind;
  attempts: number;
  message?: string;
  /** 2 when the port answered round 1 but failed the vote round (it abstains); absent for round 1. */
  round?: 2;
}

export interface ConsensusResult {
  status: RunStatus;
  quorum: QuorumInfo;
  claims: ClaimRecord[];
  dissent: ClaimRecord[];
  failures: FailureRecord[];
  /** agreement[i][j]: share of claims made by port i or j that both make (Jaccard); null for a port with no answer. */
  agreement: (number | null)[][];
  /** Vote rounds this result came from (1: claims from answers; 2: propose, then vote). */
  rounds?: 1 | 2;
  /** Two-round runs: round-1 responders that cast no usable ballot in round 2. */
  abstentions?: number[];
  /** Two-round runs: how many candidates were put to the vote. */
  candidates?: number;
  /**
   * Two-round runs: round-1 facts that were not put to the vote (the pool was full), strongest
   * first, with their round-1 support. Absent when every fact was.
   */
  leftOut?: ClaimRecord[];
  /**
   * Ports whose (round-1) answer the model cut at its output limit (finish_reason `length`) or
   * quorum cut at its answer size cap (finish reason `answer_cap`), in port order; the last,
   * unfinished claim of each was dropped. Absent when none was cut.
   */
  truncated?: number[];
}

export interface ConsensusDocument extends ConsensusResult {
  runId: string;
  query: string;
  chunk: { source: string; id: string } | null;
  startedAt: string;
  finishedAt: string;
  sandbox: boolean;
  /** Set on a replay: the run whose recorded answers were re-gathered. */
  replayOf?: string;
  /** `quorum watch`: the runs on the file's earlier content that this run replaces. */
  supersedes?: string[];
  /** The chair's prose answer (`--synthesize`), citing consensus claims as [c<k>]. */
  synthesis?: { model: string; text: string } | { model: string; error: string };
}

/**
 * One chunk's (or one skipped file's) result in a batch, as the batch pipeline emits it and the
 * progress line, the totals and the summary read it. Here, not in terminal/, because the
 * pipeline below the terminal produces it.
 */
export interface ChunkReport {
  source: string;
  index: number;
  chunkId: string;
  /** A run status, or why the chunk has no fresh consensus. */
  status: RunStatus | 'skipped' | 'already-done' | 'failed';
  claims?: number;
  calls?: number;
  durationMs?: number;
  message?: string;
  /** Failure kinds of this chunk's calls, by model. */
  failures?: { model: string; kind: string }[];
  /** What the chunk's calls used. */
  usage?: { calls: number; inputTokens: number; outputTokens: number; cost: number };
}

export interface BatchTotals {
  chunks: number;
  consensus: number;
  degraded: number;
  quorumLost: number;
  failed: number;
  skippedFiles: number;
  alreadyDone: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
}

export const emptyTotals = (): BatchTotals => ({ chunks: 0, consensus: 0, degraded: 0, quorumLost: 0, failed: 0, skippedFiles: 0, alreadyDone: 0, calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 });
