import type { ModelRequest, PanelMember, RateLimitHeaders, Usage } from '../types.js';

/**
 * Longest answer kept, in UTF-16 code units (about 1 MB of text; a model's longest real output is
 * about half of it). A longer answer is cut here while it arrives: the request is aborted, the
 * text kept is at most this long, and its finish reason is {@link ANSWER_CAP_FINISH_REASON}.
 * docs/CONTRACTS.md "Quorum" records it.
 */
export const MAX_ANSWER_CHARS = 1_000_000;

/**
 * The finish reason of an answer quorum cut at {@link MAX_ANSWER_CHARS} (not a provider's own).
 * Such an answer is truncated like one with finish_reason `length`: see `isCut` in claims/tally.
 */
export const ANSWER_CAP_FINISH_REASON = 'answer_cap';

/**
 * Largest unstreamed response body read, in bytes: room for a {@link MAX_ANSWER_CHARS} answer in
 * any JSON escaping. A bigger body is not read on: the request is aborted and the call is `malformed`.
 */
export const maxBodyBytes = (maxAnswerChars: number): number => 8 * maxAnswerChars + 65_536;

/** What one successful model call returns, before the operators add timing and attempts. */
export interface RawAnswer {
  text: string;
  usage: Usage;
  finishReason?: string;
  responseId?: string;
  /** The response's rate-limit headers, when it carried any. */
  rateLimit?: RateLimitHeaders;
}

export interface CallHooks {
  /** Aborting it must abort the HTTP request: unsubscription relies on it. */
  signal: AbortSignal;
  /** Called when the first token arrives (streaming) — for the live terminal view. */
  onFirstToken?: () => void;
}

/**
 * One request to one panel member. Rejects with a `ModelCallError` (classified kind) on any
 * failure. Implementations must not retry: retries live in operators (virtual-time testable).
 */
export type ModelCall = (member: PanelMember, request: ModelRequest, hooks: CallHooks) => Promise<RawAnswer>;
