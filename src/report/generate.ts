/**
 * `quorum report`: reads the artifacts with the bundled queries (one session, one scope), builds
 * the page model, renders every chart to inline SVG and writes one self-contained HTML file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { nearby } from '../runlog/recordedRun.js';
import { legacyFolderMessage } from '../runlog/legacy.js';
import { type BatchLine, LOG_FILES } from '../runlog/lines.js';
import { readLog } from '../runlog/readLog.js';
import { batchSummaryPath } from './batchSummaryMarkdown.js';
import { writeFileAtomic } from '../sinks/writeJsonAtomic.js';
import { ArtifactsDb } from '../sql/artifactsDb.js';
import { loadManyData, loadRunData } from './data.js';
import { manyPageModel, renderPage, runPageModel, type PageModel, type RenderedFigure } from './page.js';
import { ScopedQueries, type ReportScope } from './scope.js';
import { renderSvg } from './svg.js';

export type ReportTarget = { kind: 'run'; runId?: string } | { kind: 'batch'; batchId: string } | { kind: 'all' };

export interface ReportOptions {
  /** The artifacts folder (`--out`). */
  out: string;
  target: ReportTarget;
  /** Where to write the page; `-` writes nothing (the caller prints `html`). Default `<out>/reports/<name>.html`. */
  to?: string;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface ReportResult {
  /** The file written (absent for `to: '-'`). */
  file?: string;
  html: string;
  model: PageModel;
  scope: ReportScope;
  /** Chart renderer warnings (none expected). */
  warnings: string[];
}

const ID = /^[\w.-]+$/;

export async function generateReport(o: ReportOptions): Promise<ReportResult> {
  const out = o.out;
  if (!existsSync(out)) throw new UsageError(`Artifacts folder ${out} does not exist; run quorum ask or quorum batch first, or point --out at the folder your runs wrote`);
  if (!statSync(out).isDirectory()) throw new UsageError(`${out} is not a folder; --out takes the artifacts folder (the one holding runs.jsonl and cloudevents.jsonl)`);
  const legacy = legacyFolderMessage(out);
  if (legacy !== undefined) throw new UsageError(legacy);
  if (!existsSync(join(out, LOG_FILES.runs)) && !existsSync(join(out, LOG_FILES.events))) {
    throw new UsageError(`No runs in ${out}: it holds no ${LOG_FILES.runs} and no ${LOG_FILES.events}; run quorum ask or quorum batch first, or point --out at the folder your runs wrote`);
  }

  const db = await ArtifactsDb.open(out);
  const onAbort = () => db.interrupt();
  o.signal?.addEventListener('abort', onAbort);
  // A Ctrl-C while DuckDB was starting came before the listener.
  if (o.signal?.aborted) db.interrupt();
  try {
    const target = await resolveTarget(db, out, o.target);
    const meta = { generatedAt: formatNow((o.now ?? (() => new Date()))()), artifacts: out, version: packageVersion() };
    let scope: ReportScope;
    let model: PageModel;
    if (target.kind === 'run') {
      scope = { kind: 'run', runId: target.runId };
      const data = await loadRunData(new ScopedQueries(db, scope), target.runId);
      if (!data) throw new UsageError(`Run ${target.runId} has no record yet (no quorum.run.started event and no line in ${LOG_FILES.runs}); is it still starting?`);
      model = runPageModel(data, meta);
    } else if (target.kind === 'batch') {
      const fromEvents = (await new ScopedQueries(db, { kind: 'all' }).rows('report_batch_runs')).filter((r) => r.batchid === target.batchId).map((r) => String(r.runid));
      // ID admits no quote, so the batch id can stand in the SQL text.
      const decided = await ids(db, `SELECT runid AS id FROM consensus WHERE batch_id = '${target.batchId}'`);
      const members = [...new Set([...fromEvents, ...decided])];
      scope = { kind: 'batch', batchId: target.batchId, runIds: members };
      const summaryFile = batchSummaryPath(out, target.batchId);
      model = manyPageModel({ ...(await loadManyData(new ScopedQueries(db, scope), target.batchId)), ...(existsSync(summaryFile) && { summaryFile }) }, meta);
    } else {
      scope = { kind: 'all' };
      model = manyPageModel(await loadManyData(new ScopedQueries(db, scope)), meta);
    }

    const warnings: string[] = [];
    const svgs = new Map<string, RenderedFigure>();
    for (const figure of model.sections.flatMap((s) => s.figures)) {
      if (!figure.spec) continue;
      // Charts render in JavaScript, which DuckDB's interrupt does not reach.
      if (o.signal?.aborted) throw new ReportInterrupted();
      const chart = await renderSvg(figure.spec);
      warnings.push(...chart.warnings.map((w) => `${figure.id}: ${w}`));
      svgs.set(figure.id, chart);
    }
    const html = renderPage(model, svgs);
    if (o.signal?.aborted) throw new ReportInterrupted();
    if (o.to === '-') return { html, model, scope, warnings };
    const file = resolve(o.to ?? join(out, 'reports', `${defaultName(target)}.html`));
    await writeFileAtomic(file, html);
    return { file, html, model, scope, warnings };
  } catch (error) {
    if (o.signal?.aborted) throw new ReportInterrupted();
    throw error;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    db.close();
  }
}

export class ReportInterrupted extends Error {
  override readonly name = 'ReportInterrupted';
  constructor() {
    super('Interrupted: no report was written');
  }
}

type ResolvedTarget = { kind: 'run'; runId: string } | { kind: 'batch'; batchId: string } | { kind: 'all' };

/**
 * Checks a run or batch id against what the logs record, naming the ids nearby when it is
 * unknown. Runs are the decided ones (runs.jsonl) and those the events know of (interrupted or
 * still running); batches are those the events, the run lines or batches.jsonl name.
 */
async function resolveTarget(db: ArtifactsDb, out: string, target: ReportTarget): Promise<ResolvedTarget> {
  if (target.kind === 'all') return target;
  // A run is known by its run line, or (interrupted, still running) by its start event.
  const RUN_IDS = `SELECT runid AS id FROM consensus UNION SELECT runid FROM events WHERE type = 'quorum.run.started'`;
  if (target.kind === 'run') {
    const id = target.runId;
    if (id === undefined) {
      // Run ids begin with their start time: the greatest is the latest.
      const [latest] = await ids(db, `SELECT max(id) FROM (${RUN_IDS})`);
      if (!latest) throw new UsageError(`No run recorded in ${out} yet; give --batch <id> or --all, or run quorum ask first`);
      return { kind: 'run', runId: latest };
    }
    // ID admits no quote, so the id can stand in the SQL text. Each check stops at the first hit,
    // which costs a fraction of listing every id; the list is for naming the ids nearby.
    if (ID.test(id)) {
      for (const sql of [`SELECT runid FROM consensus WHERE runid = '${id}' LIMIT 1`, `SELECT runid FROM events WHERE runid = '${id}' AND type = 'quorum.run.started' LIMIT 1`]) {
        if ((await ids(db, sql)).length > 0) return { kind: 'run', runId: id };
      }
    }
    throw new UsageError(unknownMessage('run id', id, out, await ids(db, RUN_IDS), 'runs'));
  }
  const batchIds = [...new Set([...(await ids(db, `SELECT batchid AS id FROM batches UNION SELECT batch_id FROM consensus`)), ...(await loggedBatchIds(out))])];
  const id = target.batchId;
  if (!ID.test(id) || !batchIds.includes(id)) throw new UsageError(unknownMessage('batch id', id, out, batchIds, 'batches'));
  return { kind: 'batch', batchId: id };
}

async function ids(db: ArtifactsDb, sql: string): Promise<string[]> {
  return (await db.query(sql, 'report ids')).rows.map((r) => r[0]).filter((v): v is string => typeof v === 'string' && ID.test(v));
}

async function loggedBatchIds(out: string): Promise<string[]> {
  const { records } = await readLog<BatchLine>(join(out, LOG_FILES.batches));
  return records.map((r) => r.batchId).filter((v): v is string => typeof v === 'string' && ID.test(v));
}

function unknownMessage(what: string, id: string, out: string, known: string[], plural: string): string {
  if (known.length === 0) return `Unknown ${what} ${id}: ${out} records no ${plural}; check --out`;
  const near = nearby(id, known);
  const sorted = [...known].sort();
  return `Unknown ${what} ${id} in ${out}; ${near.length ? `nearby: ${near.join(', ')}` : `${known.length} ${plural} exist, the latest: ${sorted.slice(-3).join(', ')}`}`;
}

function defaultName(target: ResolvedTarget): string {
  return target.kind === 'run' ? `run-${target.runId}` : target.kind === 'batch' ? `batch-${target.batchId}` : 'all';
}

function formatNow(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
}

let version: string | undefined;
function packageVersion(): string {
  if (version === undefined) {
    try {
      // src/report/ and dist/report/ are both two levels below the package root.
      const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
      version = String((JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
