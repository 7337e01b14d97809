/**
 * What a report shows, read with the bundled queries (`queries/*.sql`, as `quorum sql` runs them)
 * within the report's scope. Rows are kept as the queries return them; the page and the charts
 * only pick, label and lay them out.
 */
import type { SqlValue } from '../sql/values.js';
import { type Row, type ScopedQueries } from './scope.js';

export interface RunReportData {
  kind: 'run';
  runId: string;
  /** report_runs: the run's row. */
  run: Row;
  /** report_claims: its claims, consensus first. */
  claims: Row[];
  /** report_vote_matrix: one row per claim and port. */
  votes: Row[];
  /** report_calls: every call of the run. */
  calls: Row[];
  /** tokens_cost: per port and model. */
  usage: Row[];
  /** The panel's models by port (from the calls and failures). */
  models: Map<number, string>;
  queries: string[];
}

export interface ManyReportData {
  kind: 'batch' | 'all';
  /** The batch id, for a batch report. */
  batchId?: string;
  /** report_batches: the batch's row (batch report), or every batch (all). */
  batches: Row[];
  /** report_totals: one row. */
  totals: Row;
  /** consensus_rate: one row per run, in start order. */
  rates: Row[];
  /** slowest_chunks: the 20 slowest. */
  slowest: Row[];
  /** report_failures_over_time. */
  failuresOverTime: Row[];
  /** model_failures. */
  failures: Row[];
  /** lone_dissenters. */
  lone: Row[];
  /** agreement_matrix. */
  agreement: Row[];
  /** model_latency. */
  latency: Row[];
  /** report_usage. */
  usage: Row[];
  /** report_conclusions: what every decided run (a batch: chunk) concluded, grouped by source. */
  conclusions: Row[];
  /** A batch's summary.md, when it was written. */
  summaryFile?: string;
  queries: string[];
}

export type ReportData = RunReportData | ManyReportData;

export async function loadRunData(q: ScopedQueries, runId: string): Promise<RunReportData | undefined> {
  const run = (await q.rows('report_runs')).find((r) => r.runid === runId);
  if (!run) return undefined;
  const claims = await q.rows('report_claims');
  const votes = await q.rows('report_vote_matrix');
  const calls = await q.rows('report_calls');
  const usage = await q.rows('tokens_cost');
  const models = new Map<number, string>();
  for (const r of [...calls, ...usage]) if (typeof r.port === 'number' && typeof r.model === 'string') models.set(r.port, r.model);
  for (const f of list(run.failures)) {
    const o = f as Record<string, SqlValue>;
    if (typeof o.port === 'number' && typeof o.model === 'string' && !models.has(o.port)) models.set(o.port, o.model);
  }
  return { kind: 'run', runId, run, claims, votes, calls, usage, models, queries: [...q.used] };
}

export async function loadManyData(q: ScopedQueries, batchId?: string): Promise<ManyReportData> {
  const batches = (await q.rows('report_batches')).filter((b) => batchId === undefined || b.batchid === batchId);
  const [totals] = await q.rows('report_totals');
  return {
    kind: batchId === undefined ? 'all' : 'batch',
    ...(batchId !== undefined && { batchId }),
    batches,
    totals: totals ?? {},
    rates: await q.rows('consensus_rate'),
    slowest: await q.rows('slowest_chunks'),
    failuresOverTime: await q.rows('report_failures_over_time'),
    failures: await q.rows('model_failures'),
    lone: await q.rows('lone_dissenters'),
    agreement: await q.rows('agreement_matrix'),
    latency: await q.rows('model_latency'),
    usage: await q.rows('report_usage'),
    conclusions: await q.rows('report_conclusions'),
    queries: [...q.used],
  };
}

export function list(v: SqlValue | undefined): SqlValue[] {
  return Array.isArray(v) ? v : [];
}

export function num(v: SqlValue | undefined): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

export function str(v: SqlValue | undefined): string | null {
  return typeof v === 'string' ? v : v === null || v === undefined ? null : String(v);
}

export function nums(v: SqlValue | undefined): number[] {
  return list(v).map((x) => num(x)).filter((x): x is number => x !== null);
}
