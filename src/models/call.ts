import type { ModelRequest, PanelMember, Usage } from '../types.js';

/** What one successful model call returns, before the operators add timing and attempts. */
export interface RawAnswer {
  text: string;
  usage: Usage;
  finishReason?: string;
  responseId?: string;
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
