import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { integerFlag } from '../run/parseOptions.js';
import { legacyFolderMessage } from '../runlog/legacy.js';
import { LOG_FILES, type RunLine } from '../runlog/lines.js';
import { linesFromEnd } from '../runlog/runIds.js';
import { quorumCommand } from '../render/invocation.js';
import type { CliContext } from '../commands/context.js';
import { DEFAULT_RUNS_LIMIT, type RunsArgs } from '../commands/runs.js';

export interface RunRow {
  /** When the run was decided (its finishedAt), ISO 8601. */
  time: string;
  status: string;
  /** Consensus claims. */
  claims: number;
  query: string;
  runId: string;
  batchId?: string;
  chunk?: string;
  sandbox: boolean;
}

/** `quorum runs`: loaded by src/commands/runs.ts when the command runs. */
export async function handler(args: RunsArgs, ctx: CliContext): Promise<void> {
  const limit = integerFlag('--limit', args.limit, { min: 1, example: 50 }) ?? DEFAULT_RUNS_LIMIT;
  const legacy = legacyFolderMessage(args.out);
  if (legacy !== undefined) throw new UsageError(legacy);
  if (!existsSync(args.out)) throw new UsageError(`Artifacts folder ${args.out} does not exist; run ${quorumCommand('ask', 'What is Raft?', '--sandbox')} first, or point --out at the folder your runs wrote`);
  const { rows, more } = await recentRuns(args.out, limit);
  if (args.json) {
    ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    ctx.stdout.write(`No run decided in ${args.out} yet (${LOG_FILES.runs} holds none). Try: ${quorumCommand('ask', 'What is Raft?', '--sandbox', ...outFlag(args.out))}\n`);
    return;
  }
  const width = ctx.stdout.isTTY && ctx.stdout.columns ? ctx.stdout.columns : 120;
  const lines = runsTable(rows, width);
  lines.push('');
  if (more) {
    lines.push(
      `The ${rows.length} most recent; more with --limit N, or with SQL: ${quorumCommand('sql', ...outFlag(args.out), '-c', `SELECT finished_at, status, query, runid FROM consensus ORDER BY finished_at DESC LIMIT 100`)}`,
    );
  }
  lines.push(`One run: ${quorumCommand('show', rows[0]!.runId, ...outFlag(args.out))}`);
  ctx.stdout.write(`${lines.join('\n')}\n`);
}

/** `--out` as the user must repeat it, or nothing for the default folder. */
function outFlag(out: string): string[] {
  return out === './artifacts' || out === 'artifacts' ? [] : ['--out', out];
}

/**
 * The last `limit` run lines, newest first, read from the end of runs.jsonl: a log of 64,000
 * runs costs what one of `limit` does. `more` when an older run line exists.
 */
export async function recentRuns(out: string, limit: number): Promise<{ rows: RunRow[]; more: boolean }> {
  const rows: RunRow[] = [];
  const path = join(out, LOG_FILES.runs);
  if (!existsSync(path)) return { rows, more: false };
  for await (const text of linesFromEnd(path)) {
    let line: RunLine;
    try {
      line = JSON.parse(text) as RunLine;
    } catch {
      continue; // damage from an older writer: the line before it is the next run
    }
    if (line === null || typeof line !== 'object' || typeof line.runId !== 'string') continue;
    if (rows.length === limit) return { rows, more: true };
    rows.push(rowOf(line));
  }
  return { rows, more: false };
}

function rowOf(line: RunLine): RunRow {
  return {
    time: String(line.finishedAt ?? line.startedAt ?? ''),
    status: String(line.status ?? 'unknown'),
    claims: Array.isArray(line.claims) ? line.claims.length : 0,
    query: String(line.query ?? ''),
    runId: line.runId,
    ...(line.batchId && { batchId: line.batchId }),
    ...(line.chunk && { chunk: `${line.chunk.source}` }),
    sandbox: line.sandbox === true,
  };
}

/** The table for people: one line per run, the question cut so a line fits `width` columns. */
export function runsTable(rows: RunRow[], width: number): string[] {
  const cells = rows.map((r) => [shortTime(r.time), r.sandbox ? `${r.status} (sandbox)` : r.status, String(r.claims), r.runId]);
  const headers = ['time', 'status', 'claims', 'run id'];
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  // time, status and claims, then the question, then the run id (whole: it is what gets pasted).
  const fixed = widths[0]! + widths[1]! + widths[2]! + widths[3]! + 4 * 2;
  const questionWidth = Math.max(12, width - fixed - 1);
  const line = (c: string[], q: string) => [c[0]!.padEnd(widths[0]!), c[1]!.padEnd(widths[1]!), c[2]!.padStart(widths[2]!), q.padEnd(questionWidth), c[3]!].join('  ').trimEnd();
  return [
    line(headers, 'question'.slice(0, questionWidth)),
    ...rows.map((r, i) => line(cells[i]!, cut(oneLine(r.chunk ? `${r.query} [${r.chunk}]` : r.query), questionWidth))),
  ];
}

/** `2026-12-06T06:31:02.114Z` → `2026-12-06 06:31Z` (UTC, as the run log records it). */
function shortTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}Z` : iso;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** At most `max` characters (code points), the last one an ellipsis when cut. */
export function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}
