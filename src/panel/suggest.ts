/**
 * `quorum panel --suggest N`: a panel of free models chosen for diversity. Models of one family
 * share training lineage, so they fail together and agree on the same mistakes: at most one
 * seat per family, the family's largest-context model, families with larger context first.
 */
import type { FailureKind } from '../types.js';
import { DEFAULT_API_KEY_ENV, DEFAULT_BASE_URL } from './defaultPanel.js';
import { byContext, type CatalogModel, normaliseBaseURL } from './catalog.js';
import { hostKind } from './keyPolicy.js';
import type { PanelFile } from './loadPanel.js';

/** How a pick fared in the check: not checked, healthy, or failed with a kind. */
export type PickHealth = { checked: false } | { checked: true; ok: true; latencyMs: number } | { checked: true; ok: false; kind: FailureKind; message?: string };

export interface Pick {
  model: CatalogModel;
  health: PickHealth;
}

/**
 * Picks up to `n` models, at most one per family: each family's best candidate not in
 * `failed`, families ranked by that candidate (larger context first, then id). Pure.
 */
export function pickDiverse(candidates: readonly CatalogModel[], n: number, failed: ReadonlySet<string> = new Set()): CatalogModel[] {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`Expected n to be an integer ≥ 1, got ${n}`);
  const best = new Map<string, CatalogModel>();
  for (const m of candidates) {
    if (failed.has(m.model)) continue;
    const current = best.get(m.family);
    if (!current || byContext(m, current) < 0) best.set(m.family, m);
  }
  return [...best.values()].sort(byContext).slice(0, n);
}

/** Checks models and says, per model id, whether each answered and how. */
export type CheckModels = (models: CatalogModel[]) => Promise<Map<string, PickHealth & { checked: true }>>;

export interface SuggestOptions {
  /** When set, picks are checked and failing ones replaced (next model of the family, or the next family). */
  check?: CheckModels;
  /**
   * Most models checked in all (each check is one request, which counts against a free
   * quota of maybe 50 a day). Default 3·n. Picks left unchecked when it runs out say so.
   */
  maxChecks?: number;
}

export interface Suggestion {
  /** The seats, in port order. */
  picks: Pick[];
  /** Models that failed the check and were passed over, in the order they were checked. */
  rejected: Pick[];
}

/**
 * Chooses `n` free models for a panel (see {@link pickDiverse}). With `check`, checks the picks
 * at once, drops the ones that fail and re-picks, round after round, until every pick has
 * answered, no candidate is left, or `maxChecks` is spent. May return fewer than `n` (too few
 * families, or too few healthy ones).
 */
export async function suggestPanel(candidates: readonly CatalogModel[], n: number, options: SuggestOptions = {}): Promise<Suggestion> {
  const free = candidates.filter((m) => m.free);
  if (!options.check) return { picks: pickDiverse(free, n).map((model) => ({ model, health: { checked: false } })), rejected: [] };
  const maxChecks = options.maxChecks ?? 3 * n;
  // Every model checked so far and how it fared: a model is never asked twice.
  const health = new Map<string, PickHealth & { checked: true }>();
  const failed = new Set<string>();
  const rejected: Pick[] = [];
  let spent = 0;
  for (;;) {
    const picks = pickDiverse(free, n, failed);
    const unchecked = picks.filter((m) => !health.has(m.model));
    const budget = maxChecks - spent;
    if (unchecked.length === 0 || budget <= 0) {
      return { picks: picks.map((model) => ({ model, health: health.get(model.model) ?? { checked: false } })), rejected };
    }
    const batch = unchecked.slice(0, budget);
    spent += batch.length;
    const results = await options.check(batch);
    for (const m of batch) {
      const h = results.get(m.model) ?? { checked: true as const, ok: false as const, kind: 'cancelled' as const };
      health.set(m.model, h);
      if (!h.ok) {
        failed.add(m.model);
        rejected.push({ model: m, health: h });
      }
    }
  }
}

/**
 * The panel file for the picks: ports in pick order; `baseURL` / `apiKeyEnv` only when they
 * differ from the defaults, so the file follows `OPENROUTER_BASE_URL` like the built-in panel.
 * `baseURL` is that of a panel that loaded, so plain http to a host other than loopback was
 * allowed by its file: the suggested file says `allowInsecureHttp: true` too, or it would not load.
 */
export function suggestedPanelFile(picks: readonly Pick[], baseURL: string, apiKeyEnv: string): PanelFile {
  const insecure = URL.canParse(baseURL) && new URL(baseURL).protocol === 'http:' && hostKind(new URL(baseURL)) === 'remote';
  return {
    ...(insecure && { allowInsecureHttp: true }),
    ...(normaliseBaseURL(baseURL) !== DEFAULT_BASE_URL && { baseURL: normaliseBaseURL(baseURL) }),
    ...(apiKeyEnv !== DEFAULT_API_KEY_ENV && { apiKeyEnv }),
    members: picks.map((p, port) => ({ port, model: p.model.model, family: p.model.family })),
  };
}
