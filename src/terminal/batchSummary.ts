/**
 * What a batch prints when it ends: what it concluded (the verdict, the first chunks' first
 * consensus claims, then where the rest is), what it spent (calls, failures by model, tokens,
 * cost) and the next commands. Built from the run log (src/report/batchLog.ts) with the counting
 * rules of src/report/outcome.ts, so it says what summary.md, `quorum report --batch` and
 * `quorum sql report_batches` say, also after a `--resume`.
 */
import type { BatchSummary } from '../report/batchLog.js';
import { batchVerdict, costText, decidedChunks, undecidedChunks, VERDICT_WORDS } from '../report/outcome.js';
import { invocation } from '../render/invocation.js';
import type { BatchTotals } from '../types.js';
import { displayWidth, oneLine } from './width.js';
import { wrapLines } from './wrapLines.js';

export interface SessionFacts {
  /** This process's wall time. */
  wallMs: number;
  /** Chunks this session decided, and those decided before it (a resume). */
  decidedNow: number;
  alreadyDone: number;
  skippedFiles: number;
}

export interface SummaryOptions {
  /** summary.md, as the user should open it. */
  summaryFile?: string;
  /** The `--out` given, for the printed commands (omitted when it is the default). */
  out: string;
  /** Terminal width; default 100. */
  columns?: number;
  /** Chunks listed, and consensus claims per chunk; default 3 and 3. */
  chunks?: number;
  claims?: number;
  /** How a printed command starts; default `quorum`. */
  command?: string;
  /** The command that resumes this batch, shown when chunks are undecided. */
  resume?: string;
}

export function formatBatchSummary(s: BatchSummary, session: SessionFacts, o: SummaryOptions): string {
  const columns = Math.max(40, o.columns ?? 100);
  // In the form the user ran quorum (`npx quorum`, `node dist/bin/cli.js`…), so it pastes and runs.
  const cmd = o.command ?? invocation();
  const v = batchVerdict(s.counts, { end: s.end });
  const lines: string[] = [''];
  if (s.sandbox) lines.push('SANDBOX: simulated models answered, not real ones.');
  lines.push(`${v.status} — batch ${s.batchId} ${s.end === 'running' ? 'ended' : s.end}`);
  lines.push(...wrapLines(v.headline, columns));
  lines.push(...wrapLines(v.counts, columns));

  const listed = s.chunks.slice(0, o.chunks ?? 3);
  if (listed.length) {
    lines.push('', `What the chunks concluded${s.chunks.length > listed.length ? ` (the first ${listed.length} of ${s.chunks.length})` : ''}:`);
    const perChunk = o.claims ?? 3;
    for (const c of listed) {
      lines.push(...wrapLines(`  ${oneLine(c.source)} · chunk ${c.chunkId.slice(0, 8)} · ${VERDICT_WORDS[c.verdict]} · ${c.claims.length} consensus, ${c.dissent} dissent`, columns, '      '));
      c.claims.slice(0, perChunk).forEach((claim, i) => {
        const label = `    [c${i + 1}] `;
        const text = `${label}${oneLine(claim.text)} (${claim.support}/${c.panel})`;
        lines.push(...wrapLines(text, columns, ' '.repeat(displayWidth(label))));
      });
      if (c.claims.length > perChunk) lines.push(`    … ${c.claims.length - perChunk} more claim${c.claims.length - perChunk === 1 ? '' : 's'}`);
    }
    const rest = s.chunks.length - listed.length;
    const where = o.summaryFile ? ` in ${o.summaryFile}` : '';
    if (rest > 0) lines.push(`  … ${rest} more chunk${rest === 1 ? '' : 's'}${where}`);
    else if (where) lines.push(`  Every chunk's claims, dissent and failures${where}`);
  }

  const t = s.calls;
  const rows: [string, string][] = [
    ['model calls', `${fmt(t.calls)} (${fmt(t.requests)} requests, retries included)`],
    ['failed calls', fmt(t.failedCalls)],
  ];
  const failures = [...t.failuresByModel].sort(([, a], [, b]) => total(b) - total(a));
  for (const [model, kinds] of failures) rows.push([rows.length === 2 ? 'failures by model' : '', `${oneLine(model)}: ${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}`]);
  rows.push(['tokens in / out', `${fmt(t.inputTokens)} / ${fmt(t.outputTokens)}`], ['cost', costText(t.cost)]);
  rows.push(['this session', `${session.decidedNow} chunk${session.decidedNow === 1 ? '' : 's'} decided${session.alreadyDone ? `, ${session.alreadyDone} decided before (resumed)` : ''}, wall time ${duration(session.wallMs / 1000)}`]);
  if (session.skippedFiles) rows.push(['files skipped', String(session.skippedFiles)]);
  const w = Math.max(...rows.map(([k]) => k.length));
  lines.push('', ...rows.flatMap(([k, val]) => wrapLines(`  ${k.padEnd(w)}  ${val}`, columns, ' '.repeat(w + 4))));

  const out = o.out === 'artifacts' || o.out === './artifacts' ? '' : ` --out ${shellWord(o.out)}`;
  lines.push('', 'Next:');
  if (undecidedChunks(s.counts) > 0 && o.resume) lines.push(`  finish it:           ${o.resume}`);
  lines.push(`  the report:          ${cmd} report --batch ${s.batchId}${out}`);
  lines.push(`  every chunk as rows: ${cmd} sql report_conclusions${out}`);
  if (s.chunks[0]) lines.push(`  one chunk in full:   ${cmd} show ${s.chunks[0].runId}${out}`);
  return `${lines.join('\n')}\n`;
}

function total(kinds: Map<string, number>): number {
  let n = 0;
  for (const v of kinds.values()) n += v;
  return n;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `--json`'s `batch`: the whole batch by the same rules (a resumed batch's earlier sessions too). */
export function batchJson(s: BatchSummary, summaryFile?: string): Record<string, unknown> {
  const v = batchVerdict(s.counts, { end: s.end });
  const t = s.calls;
  return {
    verdict: v.status,
    headline: v.headline,
    chunks: s.counts.chunks,
    decided: decidedChunks(s.counts),
    undecided: undecidedChunks(s.counts),
    consensus: s.counts.consensus,
    degraded: s.counts.degraded,
    noClaims: s.counts.noClaims,
    quorumLost: s.counts.quorumLost,
    calls: t.calls,
    failedCalls: t.failedCalls,
    requests: t.requests,
    failuresByModel: Object.fromEntries([...t.failuresByModel].map(([m, kinds]) => [m, Object.fromEntries(kinds)])),
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    cost: t.cost,
    sandbox: s.sandbox,
    sessions: s.sessions,
    ...(summaryFile && { summaryFile }),
  };
}

/** This session's counts alone: printed only when the run log could not be read back (a full disk). */
export function formatTotals(t: BatchTotals, wallMs: number): string {
  const rows: [string, string][] = [
    ['chunks', String(t.chunks)],
    ['consensus', String(t.consensus)],
    ['degraded', String(t.degraded)],
    ['quorum lost', String(t.quorumLost)],
    ['failed', String(t.failed)],
    ['already decided', String(t.alreadyDone)],
    ['files skipped', String(t.skippedFiles)],
    ['requests', String(t.calls)],
    ['tokens in / out', `${t.inputTokens} / ${t.outputTokens}`],
    ['cost', costText(t.cost)],
    ['wall time', duration(wallMs / 1000)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n')}\n`;
}
