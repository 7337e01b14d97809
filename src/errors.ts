import type { FailureKind, RateLimitHeaders } from './types.js';

/**
 * A model call that failed, already classified into a DESIGN.md failure kind. Thrown inside
 * the call's Observable; the retry operator reads `retryAfterMs`, the outcome operator turns
 * it into a `ModelFailure` value so the stream goes on.
 */
export class ModelCallError extends Error {
  override readonly name = 'ModelCallError';
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly status?: number,
    /** Server-requested wait before a retry (Retry-After / X-RateLimit-Reset), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /**
   * The failed response's `X-RateLimit-*` headers, when it got that far; set after
   * construction by the call that saw them, for the shared rate limiter to learn from.
   */
  rateLimit?: RateLimitHeaders;
}

/** Bad usage, input or configuration: the CLI prints the message alone and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The artifacts folder could not take what a run had to record (a full disk, an I/O error): the
 * CLI prints the message alone, one line naming the folder and what failed, and exits 1.
 */
export class ArtifactsError extends Error {
  override readonly name = 'ArtifactsError';
}

/** No consensus was possible: too few ports answered. Exit 1. */
export class QuorumLostError extends Error {
  override readonly name = 'QuorumLostError';
}

/** Removes anything that looks like a credential from text bound for a log or artifact. */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out
    // Not inside a word: "ask-RCWDGHQM.js" is a file name, not a key.
    .replace(/(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}/g, 'sk-[redacted]')
    .replace(/Bearer\s+[A-Za-z0-9._~+/=-]{8,}/gi, 'Bearer [redacted]');
}
