import { describe, expect, it } from 'vitest';
import { parsePanel } from '../../src/panel/loadPanel.js';
import { describeFreeQuota, freeMembers, freeQuota, parseKeyInfo, plannedCalls, quotaWarning, quotaWarningFor, type KeyInfo } from '../../src/panel/quota.js';
import { ProviderError } from '../../src/panel/providerGet.js';

const BASE = 'https://openrouter.ai/api/v1';
const panelOf = (models: string[], extra: Record<string, unknown> = {}) => parsePanel({ baseURL: BASE, members: models.map((model) => ({ model })), ...extra }, 'test', {});
const eightFree = panelOf(Array.from({ length: 8 }, (_, i) => `f${i}/m:free`));
const key = (over: Partial<KeyInfo> = {}): KeyInfo => ({ baseURL: BASE, ...over });

describe('parseKeyInfo', () => {
  it("reads OpenRouter's /key answer, including the free-model daily count", () => {
    const info = parseKeyInfo(
      {
        data: {
          label: 'sk-or-v1-abc...xyz',
          limit: null,
          limit_remaining: null,
          usage: 1.5,
          usage_daily: 0.25,
          is_free_tier: false,
          rate_limit: { requests: -1, interval: '10s' },
          free_model_daily_requests: { used: 10, limit: 1000, remaining: 990 },
        },
      },
      `${BASE}/`,
    );
    expect(info).toEqual({ baseURL: BASE, limit: null, limitRemaining: null, usage: 1.5, usageDaily: 0.25, isFreeTier: false, freeModelDailyRequests: { used: 10, limit: 1000, remaining: 990 } });
    expect(JSON.stringify(info)).not.toContain('sk-or');
  });

  it('reads an older answer without the count, and rejects one without data', () => {
    expect(parseKeyInfo({ data: { usage: 0, is_free_tier: true } }, BASE)).toEqual({ baseURL: BASE, usage: 0, isFreeTier: true });
    expect(() => parseKeyInfo({ label: 'x' }, BASE)).toThrow(ProviderError);
  });
});

describe('freeQuota: reported when the provider counts, an honest estimate otherwise', () => {
  it("reports the provider's count as exact", () => {
    const q = freeQuota(key({ freeModelDailyRequests: { used: 47, limit: 50, remaining: 3 } }));
    expect(q).toEqual({ exact: true, used: 47, limit: 50, remaining: 3 });
    expect(describeFreeQuota(q)).toBe("3 of 50 left today (47 used; the provider's count, resets at 00:00 UTC)");
  });

  it('estimates 50 a day on the free tier and says requests used today are unknown', () => {
    const q = freeQuota(key({ isFreeTier: true }));
    expect(q).toMatchObject({ exact: false, limit: 50 });
    expect(describeFreeQuota(q)).toMatch(/^50 a day, unknown how many left today \(estimated: .*not reported\)$/);
  });

  it('does not pretend to know the limit of an account that bought credits', () => {
    const q = freeQuota(key({ isFreeTier: false }));
    expect(q).toMatchObject({ exact: false, limit: null });
    expect(describeFreeQuota(q)).toMatch(/^50 or 1000 a day, unknown how many left today/);
  });
});

describe('quotaWarning', () => {
  const counted = (remaining: number) => key({ freeModelDailyRequests: { used: 50 - remaining, limit: 50, remaining } });

  it('plans N·rounds calls per question, plus the chair', () => {
    expect(plannedCalls(eightFree)).toBe(16);
    expect(plannedCalls(eightFree, { rounds: 1 })).toBe(8);
    expect(plannedCalls(eightFree, { rounds: 2, questions: 10, synthesize: true })).toBe(170);
  });

  it('warns when a run needs more free-model requests than remain today', () => {
    expect(quotaWarning(eightFree, 16, counted(16))).toBeUndefined();
    const w = quotaWarning(eightFree, 16, counted(15));
    expect(w).toMatch(/^This needs at least 16 requests to free models \(8 of 8 members are :free; retries need more\), but only 15 of today's 50 remain/);
    expect(w).toMatch(/rate_limited \(429\)/);
  });

  it('counts only the :free members on the endpoint the key belongs to', () => {
    const mixed = parsePanel(
      {
        baseURL: BASE,
        members: [{ model: 'a/x:free' }, { model: 'b/y:free' }, { model: 'c/paid' }, { model: 'd/local:free', baseURL: 'http://127.0.0.1:11434/v1' }],
      },
      'test',
      {},
    );
    expect(freeMembers(mixed, key())).toBe(2);
    // 8 planned calls over 4 members: 2 free members make 4 of them.
    expect(quotaWarning(mixed, 8, counted(4))).toBeUndefined();
    expect(quotaWarning(mixed, 8, counted(3))).toMatch(/at least 4 requests to free models \(2 of 4 members/);
    expect(quotaWarning(panelOf(['c/paid']), 100, counted(0))).toBeUndefined();
  });

  it('with only an estimate, warns when the run exceeds the daily limit itself, and says it is an estimate', () => {
    const freeTier = key({ isFreeTier: true });
    expect(quotaWarning(eightFree, 16, freeTier)).toBeUndefined();
    expect(quotaWarning(eightFree, 8 * 2 * 4, freeTier)).toMatch(/more than the 50 a day the free tier allows \(estimated: /);
    const paid = key({ isFreeTier: false });
    expect(quotaWarning(eightFree, 48, paid)).toBeUndefined();
    expect(quotaWarning(eightFree, 64, paid)).toMatch(/more than the 50 a day an account with less than 10 credits bought gets/);
    expect(quotaWarning(eightFree, 1008, paid)).toMatch(/more than the 1000 a day even an account with 10\+ credits gets/);
  });

  it('says nothing without key info or planned calls', () => {
    expect(quotaWarning(eightFree, 16, undefined)).toBeUndefined();
    expect(quotaWarning(eightFree, 0, counted(0))).toBeUndefined();
  });
});

describe('quotaWarningFor: the one call ask and batch make before a run', () => {
  const keyAnswer = (remaining: number) =>
    (async () => new Response(JSON.stringify({ data: { is_free_tier: true, free_model_daily_requests: { used: 50 - remaining, limit: 50, remaining } } }), { status: 200 })) as typeof fetch;
  const env = { OPENROUTER_API_KEY: 'sk-or-v1-test' };

  it('warns from the provider’s count', async () => {
    expect(await quotaWarningFor(eightFree, env, 16, { fetch: keyAnswer(3) })).toMatch(/only 3 of today's 50 remain/);
    expect(await quotaWarningFor(eightFree, env, 16, { fetch: keyAnswer(20) })).toBeUndefined();
  });

  it('never throws and asks nothing without a :free member or a key', async () => {
    let asked = 0;
    const counting = (async () => {
      asked++;
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    expect(await quotaWarningFor(eightFree, env, 16, { fetch: counting })).toBeUndefined();
    expect(asked).toBe(1);
    expect(await quotaWarningFor(eightFree, {}, 16, { fetch: counting })).toBeUndefined();
    expect(await quotaWarningFor(panelOf(['a/paid']), env, 16, { fetch: counting })).toBeUndefined();
    expect(asked).toBe(1);
  });
});
