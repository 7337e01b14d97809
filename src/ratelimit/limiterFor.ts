import { RateLimiter } from './rateLimiter.js';
import type { Panel } from '../types.js';

/** OpenRouter's documented limit for `:free` models: 20 requests a minute, account-wide. */
export const OPENROUTER_FREE_RPM = 20;

/**
 * The limiter a batch or watch shares across all its calls: `--rpm` / `--model-rpm` when given;
 * otherwise OpenRouter's free-tier pace when the panel uses `:free` models there; otherwise none
 * configured, and the limiter learns from the server's 429s and X-RateLimit headers.
 */
export function limiterFor(panel: Panel, { rpm, modelRpm }: { rpm?: number; modelRpm?: number }): RateLimiter {
  const freeOnOpenRouter = panel.members.some((m) => m.model.endsWith(':free') && /(^|\.)openrouter\.ai$/.test(safeHost(m.baseURL)));
  const account = rpm ?? (freeOnOpenRouter ? OPENROUTER_FREE_RPM : undefined);
  return new RateLimiter({
    ...(account !== undefined && { account: { requests: account, windowMs: 60_000 } }),
    ...(modelRpm !== undefined && { perModel: { requests: modelRpm, windowMs: 60_000 } }),
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}
