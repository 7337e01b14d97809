import type { ModelRequest, PanelMember, Usage } from '../types.js';

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
