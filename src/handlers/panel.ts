import { existsSync, statSync } from 'node:fs';
import { stringify as toYaml } from 'yaml';
import { tap } from 'rxjs';
import { UsageError } from '../errors.js';
import { createOpenAICall } from '../models/openaiCall.js';
import { loadCatalog, freeModels, type Catalog, type CatalogModel, normaliseBaseURL } from '../panel/catalog.js';
import { checkPanel, judgeCheck, panelQuorum, unreachable, type CheckResult } from '../panel/check.js';
import { checkColumns, checkDetails, checkHeader, checkLine, verdictLines } from '../panel/checkReport.js';
import { defaultPanel, loadPanel, parsePanel } from '../panel/loadPanel.js';
import { isLoopbackURL, keyDestination } from '../panel/keyPolicy.js';
import { ProviderError } from '../panel/providerGet.js';
import { describeFreeQuota, fetchKeyInfo, freeQuota, type FreeQuota, type KeyInfo, plannedCalls, quotaWarning } from '../panel/quota.js';
import { suggestedPanelFile, suggestPanel, type CheckModels, type Pick } from '../panel/suggest.js';
import { resolveApiKeys } from '../run/apiKeys.js';
import { integerFlag } from '../run/parseOptions.js';
import { untilDone } from '../run/untilDone.js';
import { writeFileAtomic } from '../sinks/writeJsonAtomic.js';
import type { Panel } from '../types.js';
import type { CliContext } from '../commands/context.js';
import { quorumCommand } from '../render/invocation.js';
import { DEFAULT_SUGGEST_FILE, METADATA_TIMEOUT_MS, type PanelArgs } from '../commands/panel.js';

/** Ctrl-C during a command: exit 130, no file written. */
class Interrupted extends Error {}

/** `quorum panel`: loaded by src/commands/panel.ts when the command runs. */
export async function handler(args: PanelArgs, ctx: CliContext): Promise<void> {
  const timeoutMs = integerFlag('--timeout', args.timeout, { min: 1, example: 30000 });
  const suggest = integerFlag('--suggest', args.suggest, { min: 1, example: 6 });
  if (suggest === undefined) {
    if (args.to !== undefined) throw new UsageError('--to names the file --suggest writes; add --suggest N');
    if (args.force) throw new UsageError('--force lets --suggest overwrite its file; add --suggest N');
    if (args.check && args.free) {
      throw new UsageError('--check with --free would spend one request per free model; use --suggest N --check to check only the picks, or --check alone to check your panel');
    }
    if (args.refresh && !args.free) throw new UsageError('--refresh re-reads the model list of --free or --suggest; add one of them');
  }
  const panel = args.panel ? loadPanel(args.panel, ctx.env) : defaultPanel(ctx.env);
  try {
    if (suggest !== undefined) await suggestCommand(ctx, args, panel, suggest, timeoutMs);
    else if (args.free) await freeCommand(ctx, args, panel, timeoutMs);
    else if (args.check) await checkCommand(ctx, args, panel, timeoutMs);
    else await showCommand(ctx, args, panel, timeoutMs);
  } catch (error) {
    if (error instanceof Interrupted || ctx.signal.aborted) {
      ctx.stderr.write('Interrupted: nothing was written.\n');
      ctx.exitCode = 130;
      return;
    }
    // The provider answered wrongly: a failure (exit 1), not a usage error, and no stack.
    if (error instanceof ProviderError) {
      ctx.stderr.write(`Error: ${error.message}\n`);
      ctx.exitCode = 1;
      return;
    }
    throw error;
  }
}

// ── quorum panel ─────────────────────────────────────────────────────────────

interface QuotaReport {
  baseURL: string;
  /** The free-model quota, when `/key` answered. */
  freeModelRequests?: FreeQuota;
  credits?: { usage?: number; usageDaily?: number; limit?: number | null; limitRemaining?: number | null };
  /** Why there is no quota: no key, no /key endpoint, unreachable… */
  unavailable?: string;
  /** Set when a default ask (2 rounds) would need more free-model requests than remain. */
  warning?: string;
}

async function showCommand(ctx: CliContext, args: PanelArgs, panel: Panel, timeoutMs: number | undefined): Promise<void> {
  const q = panelQuorum(panel);
  const members = panel.members.map((m) => ({
    port: m.port,
    model: m.model,
    family: m.family,
    baseURL: m.baseURL,
    apiKeyEnv: m.apiKeyEnv,
    keySet: Boolean(ctx.env[m.apiKeyEnv]?.trim()),
  }));
  // Which variable is sent to which host: one entry per pair, in port order.
  const keys: { apiKeyEnv: string; sentTo: string; ports: number[] }[] = [];
  for (const m of panel.members) {
    const sentTo = keyDestination(m.baseURL);
    const same = keys.find((k) => k.apiKeyEnv === m.apiKeyEnv && k.sentTo === sentTo);
    if (same) same.ports.push(m.port);
    else keys.push({ apiKeyEnv: m.apiKeyEnv, sentTo, ports: [m.port] });
  }
  const quota = args.quota ? await quotaReports(ctx, panel, timeoutMs ?? METADATA_TIMEOUT_MS) : [];
  if (args.json) {
    ctx.stdout.write(`${JSON.stringify({ source: panel.source, quorum: q, members, keys, quota }, null, 2)}\n`);
    return;
  }
  const families = new Set(panel.members.map((m) => m.family)).size;
  const lines = [`Panel: ${panel.source}, ${members.length} members from ${families} famil${families === 1 ? 'y' : 'ies'}; a claim needs ${q} votes`, ''];
  lines.push(
    ...table(
      ['port', 'model', 'family', 'endpoint', 'key'],
      members.map((m) => [
        String(m.port),
        m.model,
        m.family,
        m.baseURL,
        m.keySet ? `${m.apiKeyEnv} set` : isLoopbackURL(m.baseURL) ? `${m.apiKeyEnv} not set (local: not needed)` : `${m.apiKeyEnv} NOT SET`,
      ]),
    ),
  );
  lines.push('', 'Keys sent (as Authorization: Bearer):', ...keys.map((k) => `  ${k.apiKeyEnv} -> ${k.sentTo} (port${k.ports.length === 1 ? '' : 's'} ${k.ports.join(', ')})`));
  const perFamily = countBy(panel.members.map((m) => m.family));
  const shared = [...perFamily].filter(([, n]) => n > 1);
  if (shared.length) lines.push('', `Note: ${shared.map(([f, n]) => `${n} members of family ${f}`).join(', ')}; one family tends to fail together and share mistakes.`);
  for (const r of quota) {
    lines.push('');
    if (r.unavailable) {
      lines.push(`Quota at ${r.baseURL}: ${r.unavailable}`);
      continue;
    }
    lines.push(`Quota at ${r.baseURL} (GET /key):`);
    if (r.freeModelRequests) lines.push(`  free-model requests: ${describeFreeQuota(r.freeModelRequests)}`);
    if (r.credits) lines.push(`  credits: ${describeCredits(r.credits)}`);
    if (r.warning) lines.push(`  Warning (quorum ask, 2 rounds): ${r.warning}`);
  }
  ctx.stdout.write(`${lines.join('\n')}\n`);
}

/** One report per endpoint the panel uses; never throws (the panel shows without a quota). */
async function quotaReports(ctx: CliContext, panel: Panel, timeoutMs: number): Promise<QuotaReport[]> {
  const byBase = new Map<string, string>();
  for (const m of panel.members) if (!byBase.has(normaliseBaseURL(m.baseURL))) byBase.set(normaliseBaseURL(m.baseURL), m.apiKeyEnv);
  return Promise.all(
    [...byBase].map(async ([baseURL, apiKeyEnv]): Promise<QuotaReport> => {
      const apiKey = ctx.env[apiKeyEnv]?.trim() || undefined;
      if (!apiKey && !isLoopbackURL(baseURL)) return { baseURL, unavailable: `not checked, ${apiKeyEnv} is not set` };
      let key: KeyInfo | undefined;
      try {
        key = await fetchKeyInfo(baseURL, { apiKey, apiKeyEnv, timeoutMs, signal: ctx.signal });
      } catch (error) {
        if (ctx.signal.aborted) throw new Interrupted();
        return { baseURL, unavailable: `unknown, ${(error as Error).message}` };
      }
      if (!key) return { baseURL, unavailable: 'unknown, this endpoint has no GET /key (OpenRouter has one; local servers usually have no quota)' };
      const credits = {
        ...(key.usage !== undefined && { usage: key.usage }),
        ...(key.usageDaily !== undefined && { usageDaily: key.usageDaily }),
        ...(key.limit !== undefined && { limit: key.limit }),
        ...(key.limitRemaining !== undefined && { limitRemaining: key.limitRemaining }),
      };
      const warning = quotaWarning(panel, plannedCalls(panel, { rounds: 2 }), key);
      return {
        baseURL,
        freeModelRequests: freeQuota(key),
        ...(Object.keys(credits).length > 0 && { credits }),
        ...(warning && { warning }),
      };
    }),
  );
}

function describeCredits(c: NonNullable<QuotaReport['credits']>): string {
  const parts: string[] = [];
  if (c.usage !== undefined) parts.push(`${c.usage} used${c.usageDaily !== undefined ? ` (${c.usageDaily} today)` : ''}`);
  if (c.limit !== undefined) parts.push(c.limit === null ? 'no key limit' : `key limit ${c.limit}${c.limitRemaining != null ? `, ${c.limitRemaining} left` : ''}`);
  return parts.join('; ') || 'not reported';
}

// ── quorum panel --check ─────────────────────────────────────────────────────

async function checkCommand(ctx: CliContext, args: PanelArgs, panel: Panel, timeoutMs: number | undefined): Promise<void> {
  const env = resolveApiKeys(panel, ctx.env);
  const columns = checkColumns(panel);
  if (!args.json) ctx.stdout.write(`${checkHeader(panel, timeoutMs, columns).join('\n')}\n`);
  // Each member's line as its result arrives: a slow or hung member never hides the others.
  const onResult = args.json ? undefined : (r: CheckResult) => void ctx.stdout.write(`${checkLine(r, columns)}\n`);
  const results = await runCheck(ctx, panel, env, timeoutMs, onResult);
  const verdict = judgeCheck(panel, results);
  if (args.json) ctx.stdout.write(`${JSON.stringify(results.map(checkJson), null, 2)}\n`);
  else {
    const details = checkDetails(results, verdict);
    ctx.stdout.write(`${[...(details.length ? ['', ...details] : []), '', ...verdictLines(verdict, quorumCommand('panel', '--free'))].join('\n')}\n`);
  }
  ctx.exitCode = verdict.passed ? 0 : 1;
}

/** Every member checked, in port order; throws {@link Interrupted} on Ctrl-C. `onResult` sees each as it arrives. */
async function runCheck(ctx: CliContext, panel: Panel, env: NodeJS.ProcessEnv, timeoutMs: number | undefined, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const done = await untilDone(
    checkPanel(panel, createOpenAICall({ env }), { ...(timeoutMs !== undefined && { timeoutMs }) }).pipe(
      tap((r) => {
        results.push(r);
        onResult?.(r);
      }),
    ),
    ctx.signal,
  );
  if (done.interrupted || ctx.signal.aborted) throw new Interrupted();
  return results.sort((a, b) => a.port - b.port);
}

function checkJson(r: CheckResult) {
  return { port: r.port, model: r.model, ok: r.ok, kind: r.kind, latencyMs: r.latencyMs, ...(r.attempts > 1 && { attempts: r.attempts }), ...(unreachable(r) && { unreachable: true, host: r.host }), ...(r.message && { message: r.message }) };
}

// ── quorum panel --free ──────────────────────────────────────────────────────

async function catalogFor(ctx: CliContext, args: PanelArgs, panel: Panel, timeoutMs: number | undefined): Promise<Catalog> {
  const apiKey = ctx.env[panel.apiKeyEnv]?.trim() || undefined;
  const catalog = await loadCatalog(panel.baseURL, {
    apiKeyEnv: panel.apiKeyEnv,
    ...(apiKey && { apiKey }),
    timeoutMs: timeoutMs ?? METADATA_TIMEOUT_MS,
    signal: ctx.signal,
    out: args.out,
    refresh: args.refresh,
  });
  if (catalog.staleBecause) ctx.stderr.write(`Warning: the model list could not be refreshed (${catalog.staleBecause}); using the one fetched ${catalog.fetchedAt}.\n`);
  if (catalog.cacheError) ctx.stderr.write(`Warning: the model list was not cached (${catalog.cacheError}).\n`);
  return catalog;
}

function fetchedNote(catalog: Catalog): string {
  return catalog.fromCache ? `cached list fetched ${catalog.fetchedAt}; --refresh fetches it again` : `fetched ${catalog.fetchedAt}`;
}

async function freeCommand(ctx: CliContext, args: PanelArgs, panel: Panel, timeoutMs: number | undefined): Promise<void> {
  const catalog = await catalogFor(ctx, args, panel, timeoutMs);
  const free = freeModels(catalog.models);
  if (args.json) {
    ctx.stdout.write(`${JSON.stringify(free.map((m) => ({ model: m.model, name: m.name, family: m.family, contextLength: m.contextLength })), null, 2)}\n`);
    return;
  }
  const lines = [`Free models at ${catalog.baseURL} (${fetchedNote(catalog)}):`, ''];
  if (free.length === 0) {
    lines.push(`None of the ${catalog.models.length} listed models is free (prompt and completion price both 0).`);
  } else {
    lines.push(...table(['model', 'family', 'context'], free.map((m) => [m.model, m.family, contextText(m)])));
    const families = new Set(free.map((m) => m.family)).size;
    lines.push('', `${free.length} free model${free.length === 1 ? '' : 's'} from ${families} famil${families === 1 ? 'y' : 'ies'}. ${quorumCommand('panel', '--suggest', String(Math.min(8, families)))} writes a panel of that many of them, one per family.`);
  }
  ctx.stdout.write(`${lines.join('\n')}\n`);
}

// ── quorum panel --suggest N ─────────────────────────────────────────────────

async function suggestCommand(ctx: CliContext, args: PanelArgs, panel: Panel, n: number, timeoutMs: number | undefined): Promise<void> {
  const to = args.to ?? DEFAULT_SUGGEST_FILE;
  if (existsSync(to)) {
    if (statSync(to).isDirectory()) throw new UsageError(`--to ${to} is a directory; give a file path, e.g. ${DEFAULT_SUGGEST_FILE}`);
    if (!args.force) throw new UsageError(`${to} already exists; pass --force to overwrite it, or --to another file`);
  }
  const yaml = /\.ya?ml$/i.test(to);
  if (!yaml && !/\.json$/i.test(to)) throw new UsageError(`--to ${to}: expected a .json, .yaml or .yml file name`);

  let check: CheckModels | undefined;
  if (args.check) {
    // The picks get checked as members of a panel on the endpoint they were listed at.
    const probe = (models: CatalogModel[]): Panel => ({
      source: 'suggest',
      baseURL: panel.baseURL,
      apiKeyEnv: panel.apiKeyEnv,
      timeoutMs: timeoutMs ?? panel.timeoutMs,
      members: models.map((m, port) => ({ port, model: m.model, family: m.family, baseURL: panel.baseURL, apiKeyEnv: panel.apiKeyEnv, timeoutMs: timeoutMs ?? panel.timeoutMs })),
    });
    const env = withKey(panel.baseURL, panel.apiKeyEnv, ctx.env);
    check = async (models) => {
      const panelOf = probe(models);
      const results = await runCheck(ctx, panelOf, env, timeoutMs);
      return new Map(
        results.map((r) => [
          models[r.port]!.model,
          r.ok ? { checked: true as const, ok: true as const, latencyMs: r.latencyMs } : { checked: true as const, ok: false as const, kind: r.kind!, ...(r.message && { message: r.message }) },
        ]),
      );
    };
  }

  const catalog = await catalogFor(ctx, args, panel, timeoutMs);
  const { picks, rejected } = await suggestPanel(catalog.models, n, check ? { check } : {});
  if (picks.length === 0) {
    ctx.stderr.write(
      `Error: no free model ${args.check ? 'passed the check' : 'is listed'} at ${catalog.baseURL}; nothing was written${args.check ? ' (try again later, or without --check)' : ''}.\n`,
    );
    ctx.exitCode = 1;
    return;
  }
  const file = suggestedPanelFile(picks, catalog.baseURL, panel.apiKeyEnv);
  parsePanel(file, to, ctx.env); // the file must load as a panel; a failure here is a bug
  await writeFileAtomic(to, yaml ? `# Suggested by quorum panel --suggest ${n} on ${new Date().toISOString()} from ${catalog.baseURL}\n${toYaml(file)}` : `${JSON.stringify(file, null, 2)}\n`);

  if (args.json) {
    const row = (p: Pick) => ({ model: p.model.model, family: p.model.family, contextLength: p.model.contextLength, check: healthText(p) });
    ctx.stdout.write(`${JSON.stringify({ file: to, members: picks.map((p, port) => ({ port, ...row(p) })), rejected: rejected.map(row) }, null, 2)}\n`);
    return;
  }
  const lines = [`Suggested panel from the free models at ${catalog.baseURL} (${fetchedNote(catalog)}):`, ''];
  lines.push(...table(['port', 'model', 'family', 'context', 'check'], picks.map((p, port) => [String(port), p.model.model, p.model.family, contextText(p.model), healthText(p)])));
  if (rejected.length) {
    lines.push('', `Passed over (failed the check): ${rejected.map((p) => `${p.model.model} (${healthText(p).replace('failed: ', '')})`).join(', ')}`);
  }
  lines.push('');
  if (picks.length < n) {
    const k = picks.length;
    lines.push(`Only ${k} of the ${n} seats asked for are filled: only ${k} famil${k === 1 ? 'y has' : 'ies have'} a free model${args.check ? ' that passed the check' : ''}.`);
  }
  const unchecked = picks.filter((p) => !p.health.checked).length;
  if (args.check && unchecked) lines.push(`${unchecked} pick${unchecked === 1 ? ' was' : 's were'} not checked: the check budget (3 requests per seat) ran out.`);
  lines.push(`Wrote ${to} (${picks.length} members, one per family). Use it: ${quorumCommand('ask', 'What is Raft?', '--panel', to)}`);
  ctx.stdout.write(`${lines.join('\n')}\n`);
}

function healthText(p: Pick): string {
  if (!p.health.checked) return 'not checked';
  return p.health.ok ? `ok (${p.health.latencyMs} ms)` : `failed: ${p.health.kind}`;
}

// ── helpers ──────────────────────────────────────────────────────────────────

/** `env` with the key `baseURL` needs: as given, a placeholder on loopback, else a UsageError naming the variable. */
function withKey(baseURL: string, apiKeyEnv: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env[apiKeyEnv]?.trim()) return env;
  if (isLoopbackURL(baseURL)) return { ...env, [apiKeyEnv]: 'no-key' };
  throw new UsageError(`Environment variable ${apiKeyEnv} is not set (needed to check models at ${baseURL}); export your API key, or drop --check`);
}

function contextText(m: CatalogModel): string {
  return m.contextLength === null ? '?' : m.contextLength.toLocaleString('en-US');
}

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** Left-aligned columns two spaces apart; a header line, then one line per row. */
function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...rows.map(line)];
}
