/**
 * A batch's summary.md: per source file and chunk, the verdict, the consensus claims with their
 * support, the dissent count, the failures and the chair's answer, then the next commands. Built
 * from the run log (src/report/batchLog.ts), never from per-run files, with the counting rules of
 * src/report/outcome.ts. Written at every batch end (completed, interrupted, stopped), atomically.
 *
 * A file is read, not scrolled through on a terminal, so it holds every chunk's claims in full;
 * at 10,000 chunks of five claims it is a few MB of plain Markdown.
 */
import { join } from 'node:path';
import type { BatchSummary, ChunkConclusion } from './batchLog.js';
import { readBatchSummary } from './batchLog.js';
import { batchVerdict, CHUNK_VERDICTS, costText, undecidedChunks, VERDICT_WORDS } from './outcome.js';
import { writeFileAtomic } from '../sinks/writeJsonAtomic.js';
import { invocation } from '../render/invocation.js';
import { escapeMarkdown, escapeProse } from '../render/consensusMarkdown.js';

/**
 * Where batch `batchId`'s summary.md goes in the artifacts folder `out`. Not under `batches/`:
 * that is where quorum 0.1 kept its ledgers, and `quorum migrate` reads every folder there.
 */
export function batchSummaryPath(out: string, batchId: string): string {
  return join(out, 'summaries', batchId, 'summary.md');
}

export interface SummaryMarkdownOptions {
  /** The `--out` as given, for the printed commands. */
  out: string;
  /** How a printed command starts; default: the way quorum was invoked (src/render/invocation.ts). */
  command?: string;
  /** The command that resumes the batch, when some chunks are undecided. */
  resume?: string;
}

export function batchSummaryMarkdown(s: BatchSummary, o: SummaryMarkdownOptions): string {
  const cmd = o.command ?? invocation();
  const v = batchVerdict(s.counts, { end: s.end });
  const lines: string[] = [`# Batch ${s.batchId}: ${v.status}`, ''];
  if (s.sandbox) lines.push('> **SANDBOX**: simulated models answered, not real ones.', '');
  lines.push(`**Question:** ${escapeMarkdown(s.query)}`, '');
  lines.push(`**Verdict:** ${escapeMarkdown(v.headline)}`, '');
  lines.push(`**Chunks:** ${escapeMarkdown(v.counts)}`, '');
  const t = s.calls;
  lines.push(`**Calls:** ${t.calls} to panel ports (${t.requests} requests, retries included), ${t.failedCalls} failed; tokens in / out ${t.inputTokens} / ${t.outputTokens}; cost ${costText(t.cost)}.`, '');
  if (t.failuresByModel.size) {
    lines.push('**Failed calls by model:**', '');
    for (const [model, kinds] of t.failuresByModel) lines.push(`- ${escapeMarkdown(model)}: ${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    lines.push('');
  }
  lines.push(`**Sessions:** ${s.sessions}${s.sessions > 1 ? ' (resumed)' : ''}; latest ${s.end === 'running' ? 'has not ended (running, or killed)' : s.end}${s.message ? `: ${escapeMarkdown(s.message)}` : ''}.`, '');

  const bySource = new Map<string, ChunkConclusion[]>();
  for (const c of s.chunks) bySource.set(c.source, [...(bySource.get(c.source) ?? []), c]);
  if (bySource.size) lines.push('Every chunk\'s conclusions follow, grouped by source file; a chunk\'s full record (every wording, vote and answer) is `' + `${cmd} show <run id>` + '`.', '');
  for (const [source, chunks] of bySource) {
    lines.push(`## ${escapeMarkdown(source)}`, '', countLine(chunks), '');
    chunks.forEach((c, i) => lines.push(...chunkSection(c, i + 1)));
  }

  const undecided = undecidedChunks(s.counts);
  if (undecided > 0) {
    lines.push('## Undecided chunks', '', `${undecided} of ${s.counts.chunks} chunks have no result yet (${s.end === 'completed' ? 'they failed' : 'the batch did not reach them'}); \`--resume\` redoes exactly those.`, '');
  }

  const out = o.out === 'artifacts' || o.out === './artifacts' ? '' : ` --out ${shellWord(o.out)}`;
  lines.push('## Next steps', '', '```sh');
  if (undecided > 0 && o.resume) lines.push(`${o.resume}   # finish the undecided chunks`);
  lines.push(`${cmd} report --batch ${s.batchId}${out}   # the HTML report`);
  lines.push(`${cmd} sql report_conclusions${out}   # one row per chunk`);
  if (s.chunks[0]) lines.push(`${cmd} show ${s.chunks[0].runId}${out}   # one chunk's run in full`);
  lines.push('```', '');
  return lines.join('\n');
}

function countLine(chunks: readonly ChunkConclusion[]): string {
  const n = Object.fromEntries(CHUNK_VERDICTS.map((k) => [k, chunks.filter((c) => c.verdict === k).length]));
  return `${chunks.length} chunk${chunks.length === 1 ? '' : 's'} decided: ${CHUNK_VERDICTS.filter((k) => n[k]).map((k) => `${n[k]} ${VERDICT_WORDS[k]}`).join(', ')}.`;
}

function chunkSection(c: ChunkConclusion, n: number): string[] {
  const lines = [`### ${n}. Chunk \`${c.chunkId}\`: ${VERDICT_WORDS[c.verdict]}`, ''];
  lines.push(`Run \`${c.runId}\`: ${c.responders} of ${c.panel} ports answered; a claim needed ${c.required} votes. ${c.claims.length} consensus claim${c.claims.length === 1 ? '' : 's'}, ${c.dissent} dissent.`, '');
  c.claims.forEach((claim, i) => lines.push(`${i + 1}. ${escapeMarkdown(claim.text)} (${claim.support}/${c.panel})`));
  if (c.claims.length) lines.push('');
  if (c.failures.length) {
    lines.push(`Failures: ${c.failures.map((f) => `port ${f.port} ${escapeMarkdown(f.model)} ${f.round === 2 ? 'vote round ' : ''}${f.kind}`).join('; ')}.`, '');
  }
  if (c.synthesis) {
    if ('text' in c.synthesis) lines.push(`Answer (by the chair, ${escapeMarkdown(c.synthesis.model)}, from the consensus claims only):`, '', ...escapeProse(c.synthesis.text).flatMap((p) => [`> ${p}`, '>']).slice(0, -1), '');
    else lines.push(`The chair (${escapeMarkdown(c.synthesis.model)}) wrote no answer: ${escapeMarkdown(c.synthesis.error)}.`, '');
  }
  return lines;
}

function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Reads batch `batchId` from the logs in `out` and writes its summary.md (atomically: a reader
 * never sees half a file). Returns the summary and the file, or undefined for an unknown batch.
 */
export async function writeBatchSummary(out: string, batchId: string, o: Omit<SummaryMarkdownOptions, 'out'> & { shownOut?: string } = {}): Promise<{ summary: BatchSummary; file: string } | undefined> {
  const summary = await readBatchSummary(out, batchId);
  if (!summary) return undefined;
  const file = batchSummaryPath(out, batchId);
  await writeFileAtomic(file, batchSummaryMarkdown(summary, { ...o, out: o.shownOut ?? out }));
  return { summary, file };
}

