/**
 * OpenRouter's daily quota on free models, read from `GET /key`, and the warning a run or batch
 * prints before it starts when it would need more requests than remain.
 *
 * What OpenRouter documents (and this module assumes):
 * - Requests to `:free` model variants are limited per account and UTC day: 50 a day for an
 *   account that has bought less than 10 credits, 1000 a day from 10 credits bought; all free
 *   models share that one count. (There is also a per-minute limit, 20 requests.)
 * - Newer `/key` answers carry the count itself, `free_model_daily_requests: {used, limit,
 *   remaining}` (OpenRouter caches it for about a minute). When it is there, it is reported as is.
 * - Older answers only carry `is_free_tier` (true: the account never bought credits) and credit
 *   figures, not requests used today. Then the daily limit is an estimate (50 on the free tier;
 *   50 or 1000 otherwise, depending on credits bought, which `/key` does not show) and what
 *   remains is unknown; the output says so.
 */
import type { Panel } from '../types.js';
import { normaliseBaseURL } from './catalog.js';
import { ProviderError, providerGet, type ProviderGetOptions } from './providerGet.js';

/** Free-model requests a day for an account below 10 credits bought, and from 10 on. */
export const FREE_DAILY_LIMIT_LOW = 50;
export const FREE_DAILY_LIMIT_HIGH = 1000;

/** What `GET /key` says about the key, OpenRouter's fields renamed; absent fields stay absent. */
export interface KeyInfo {
  /** The endpoint it was read from: the quota applies to members on this base URL. */
  baseURL: string;
  /** Credit limit of the key (USD), null for none. */
  limit?: number | null;
  /** Credits left under that limit, null for no limit. */
  limitRemaining?: number | null;
  /** Credits used, all time and today (UTC). */
  usage?: number;
  usageDaily?: number;
  /** True when the account never bought credits. */
  isFreeTier?: boolean;
  /** The provider's own count of free-model requests today, when it reports one. */
  freeModelDailyRequests?: { used: number; limit: number; remaining: number };
}

/**
 * The free-model daily quota as far as it can be known: `exact` when the provider reported
 * its count; otherwise `limit` is an estimate (null: 50 or 1000, not knowable from `/key`)
 * and what remains today is unknown.
 */
export type FreeQuota =
  | { exact: true; limit: number; used: number; remaining: number }
  | { exact: false; limit: number | null; basis: string };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Reads `GET <baseURL>/key`. Resolves to undefined when the provider has no such endpoint (404).
 * @throws UsageError (unreachable, key refused) or ProviderError (error status, unreadable body).
 */
export async function fetchKeyInfo(baseURL: string, opts: ProviderGetOptions): Promise<KeyInfo | undefined> {
  const base = normaliseBaseURL(baseURL);
  const body = await providerGet(base, '/key', opts);
  if (body === undefined) return undefined;
  return parseKeyInfo(body, base);
}

/** Reads an OpenRouter-shaped `/key` answer (`{data: {...}}`). */
export function parseKeyInfo(body: unknown, baseURL: string): KeyInfo {
  const data = body !== null && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
  if (data === null || typeof data !== 'object') throw new ProviderError(`GET ${baseURL}/key: unreadable key info, expected {"data": {...}}`);
  const d = data as Record<string, unknown>;
  const info: KeyInfo = { baseURL: normaliseBaseURL(baseURL) };
  if (d.limit === null || num(d.limit) !== undefined) info.limit = d.limit as number | null;
  if (d.limit_remaining === null || num(d.limit_remaining) !== undefined) info.limitRemaining = d.limit_remaining as number | null;
  if (num(d.usage) !== undefined) info.usage = d.usage as number;
  if (num(d.usage_daily) !== undefined) info.usageDaily = d.usage_daily as number;
  if (typeof d.is_free_tier === 'boolean') info.isFreeTier = d.is_free_tier;
  const daily = d.free_model_daily_requests as Record<string, unknown> | null | undefined;
  if (daily && typeof daily === 'object') {
    const used = num(daily.used);
    const limit = num(daily.limit);
    const remaining = num(daily.remaining) ?? (used !== undefined && limit !== undefined ? Math.max(0, limit - used) : undefined);
    if (used !== undefined && limit !== undefined && remaining !== undefined) info.freeModelDailyRequests = { used, limit, remaining };
  }
  return info;
}

/** The free-model daily quota: the provider's count when reported, else the documented rule. */
export function freeQuota(key: KeyInfo): FreeQuota {
  const reported = key.freeModelDailyRequests;
  if (reported) return { exact: true, ...reported };
  if (key.isFreeTier === true) {
    return { exact: false, limit: FREE_DAILY_LIMIT_LOW, basis: `estimated: ${FREE_DAILY_LIMIT_LOW}/day on the free tier (no credits bought); requests used today are not reported` };
  }
  return {
    exact: false,
    limit: null,
    basis: `estimated: ${FREE_DAILY_LIMIT_LOW}/day below 10 credits bought, ${FREE_DAILY_LIMIT_HIGH}/day from 10; the provider reports neither the tier nor requests used today`,
  };
}

/** One line for people: "3 of 50 left today (47 used; provider's count, resets 00:00 UTC)". */
export function describeFreeQuota(quota: FreeQuota): string {
  if (quota.exact) return `${quota.remaining} of ${quota.limit} left today (${quota.used} used; the provider's count, resets at 00:00 UTC)`;
  return `${quota.limit ?? `${FREE_DAILY_LIMIT_LOW} or ${FREE_DAILY_LIMIT_HIGH}`} a day, unknown how many left today (${quota.basis})`;
}

/** Members whose calls count against `key`'s free-model quota: `:free` models on its endpoint. */
export function freeMembers(panel: Panel, key: KeyInfo): number {
  const base = normaliseBaseURL(key.baseURL);
  return panel.members.filter((m) => m.model.endsWith(':free') && normaliseBaseURL(m.baseURL) === base).length;
}

export interface PlannedCallsOptions {
  /** Vote rounds of each question (2: every responder also votes). Default 2. */
  rounds?: 1 | 2;
  /** Questions asked, e.g. a batch's chunks. Default 1. */
  questions?: number;
  /** A chair writes the answer (`--synthesize`): one more call per question. Default false. */
  synthesize?: boolean;
}

/**
 * Fewest model calls a run makes: every member once per round per question, plus the chair.
 * Retries come on top (up to `retry.maxRetries` more per failed call).
 */
export function plannedCalls(panel: Panel, { rounds = 2, questions = 1, synthesize = false }: PlannedCallsOptions = {}): number {
  return questions * (panel.members.length * rounds + (synthesize ? 1 : 0));
}

/**
 * The warning to print before a run that would need more free-model requests than remain
 * today, or undefined when it fits (or nothing is known that says it does not).
 *
 * `plannedCalls` counts calls across the whole panel (see {@link plannedCalls}); the share
 * that goes to `:free` members on `keyInfo`'s endpoint is what counts. With the provider's
 * count, the warning fires when that share exceeds what remains; with only an estimated
 * limit, when it exceeds the limit itself (and the text says it is an estimate).
 */
export function quotaWarning(panel: Panel, plannedCalls: number, keyInfo: KeyInfo | undefined): string | undefined {
  if (!keyInfo || panel.members.length === 0 || !(plannedCalls > 0)) return undefined;
  const free = freeMembers(panel, keyInfo);
  if (free === 0) return undefined;
  const freeCalls = Math.ceil((plannedCalls * free) / panel.members.length);
  const needs = `This needs at least ${freeCalls} request${freeCalls === 1 ? '' : 's'} to free models (${free} of ${panel.members.length} members are :free; retries need more)`;
  const after = 'free members will fail as rate_limited (429) once the quota runs out';
  const quota = freeQuota(keyInfo);
  if (quota.exact) {
    if (freeCalls <= quota.remaining) return undefined;
    return `${needs}, but only ${quota.remaining} of today's ${quota.limit} remain (the provider's count, resets at 00:00 UTC); ${after}.`;
  }
  if (quota.limit !== null) {
    if (freeCalls <= quota.limit) return undefined;
    return `${needs}, more than the ${quota.limit} a day the free tier allows (${quota.basis}); ${after}.`;
  }
  if (freeCalls > FREE_DAILY_LIMIT_HIGH) {
    return `${needs}, more than the ${FREE_DAILY_LIMIT_HIGH} a day even an account with 10+ credits gets; ${after}.`;
  }
  if (freeCalls > FREE_DAILY_LIMIT_LOW) {
    return `${needs}, more than the ${FREE_DAILY_LIMIT_LOW} a day an account with less than 10 credits bought gets (${quota.basis}); ${after}.`;
  }
  return undefined;
}

export interface QuotaWarningForOptions {
  /** Deadline for `GET /key`. Default 5000 ms: a warning must not hold up the run for long. */
  timeoutMs?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/**
 * Before a run: reads `GET /key` at the panel's base URL and returns {@link quotaWarning}'s
 * text, or undefined. Best effort, never throws: no `:free` member there, no key, no `/key`
 * endpoint, or any failure to read it all mean no warning, and the run goes ahead.
 */
export async function quotaWarningFor(panel: Panel, env: NodeJS.ProcessEnv, plannedCalls: number, opts: QuotaWarningForOptions = {}): Promise<string | undefined> {
  const base = normaliseBaseURL(panel.baseURL);
  const member = panel.members.find((m) => m.model.endsWith(':free') && normaliseBaseURL(m.baseURL) === base);
  const apiKey = member ? env[member.apiKeyEnv]?.trim() : undefined;
  if (!member || !apiKey) return undefined;
  try {
    const key = await fetchKeyInfo(base, { apiKey, apiKeyEnv: member.apiKeyEnv, timeoutMs: opts.timeoutMs ?? 5000, ...(opts.signal && { signal: opts.signal }), ...(opts.fetch && { fetch: opts.fetch }) });
    return quotaWarning(panel, plannedCalls, key);
  } catch {
    return undefined;
  }
}
