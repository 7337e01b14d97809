/**
 * `quorum report`: reads the artifacts with the bundled queries (one session, one scope), builds
 * the page model, renders every chart to inline SVG and writes one self-contained HTML file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { nearby } from '../run/recordedRun.js';
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
  /** The consensus snapshot's cache folder (see ArtifactsDb); false reads every consensus.json. */
  cacheDir?: string | false;
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
  if (!statSync(out).isDirectory()) throw new UsageError(`${out} is not a folder; --out takes the artifacts folder (the one holding cloudevents.jsonl and runs/)`);
  const runIds = listDir(join(out, 'runs'));
  if (runIds.length === 0 && !existsSync(join(out, 'cloudevents.jsonl'))) {
    throw new UsageError(`No runs in ${out}: it holds no cloudevents.jsonl and no runs/; run quorum ask or quorum batch first, or point --out at the folder your runs wrote`);
  }
  const target = resolveTarget(out, o.target, runIds);

  const db = await ArtifactsDb.open(out, { cacheDir: o.cacheDir ?? false });
  const onAbort = () => db.interrupt();
  o.signal?.addEventListener('abort', onAbort);
  try {
    const meta = { generatedAt: formatNow((o.now ?? (() => new Date()))()), artifacts: out, version: packageVersion() };
    let scope: ReportScope;
    let model: PageModel;
    if (target.kind === 'run') {
      scope = { kind: 'run', runId: target.runId };
      const data = await loadRunData(new ScopedQueries(db, scope), target.runId);
      if (!data) throw new UsageError(`Run ${target.runId} has no record yet (no quorum.run.started event and no consensus.json); is it still starting?`);
      model = runPageModel(data, meta);
    } else if (target.kind === 'batch') {
      const members = (await new ScopedQueries(db, { kind: 'all' }).rows('report_batch_runs')).filter((r) => r.batchid === target.batchId).map((r) => String(r.runid));
      scope = { kind: 'batch', batchId: target.batchId, runIds: members };
      model = manyPageModel(await loadManyData(new ScopedQueries(db, scope), target.batchId), meta);
    } else {
      scope = { kind: 'all' };
      model = manyPageModel(await loadManyData(new ScopedQueries(db, scope)), meta);
    }

    const warnings: string[] = [];
    const svgs = new Map<string, RenderedFigure>();
    for (const figure of model.sections.flatMap((s) => s.figures)) {
      if (!figure.spec) continue;
      const chart = await renderSvg(figure.spec);
      warnings.push(...chart.warnings.map((w) => `${figure.id}: ${w}`));
      svgs.set(figure.id, chart);
    }
    const html = renderPage(model, svgs);
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

/** Checks a run or batch id against the folder, naming the ids nearby when it is unknown. */
function resolveTarget(out: string, target: ReportTarget, runIds: string[]): ResolvedTarget {
  if (target.kind === 'all') return target;
  if (target.kind === 'run') {
    if (target.runId === undefined) {
      const latest = [...runIds].sort().pop();
      if (!latest) throw new UsageError(`No run in ${join(out, 'runs')} yet; give --batch <id> or --all, or run quorum ask first`);
      return { kind: 'run', runId: latest };
    }
    const id = target.runId;
    if (!ID.test(id) || !runIds.includes(id)) throw new UsageError(unknownMessage('run id', id, join(out, 'runs'), runIds, 'runs'));
    return { kind: 'run', runId: id };
  }
  const batchIds = listDir(join(out, 'batches'));
  const id = target.batchId;
  if (!ID.test(id) || !batchIds.includes(id)) throw new UsageError(unknownMessage('batch id', id, join(out, 'batches'), batchIds, 'batches'));
  return { kind: 'batch', batchId: id };
}

function unknownMessage(what: string, id: string, dir: string, known: string[], plural: string): string {
  if (known.length === 0) return `Unknown ${what} ${id}: ${dir} holds no ${plural}; check --out`;
  const near = nearby(id, known);
  const sorted = [...known].sort();
  return `Unknown ${what} ${id} in ${dir}; ${near.length ? `nearby: ${near.join(', ')}` : `${known.length} ${plural} exist, the latest: ${sorted.slice(-3).join(', ')}`}`;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && ID.test(e.name))
      .map((e) => e.name);
  } catch {
    return [];
  }
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
