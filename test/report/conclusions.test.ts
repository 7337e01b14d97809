/**
 * The one definition of a chunk's and a batch's outcome and of a call (src/report/outcome.ts),
 * and the report's "what the chunks concluded" at the size a real batch reaches.
 */
import { describe, expect, it } from 'vitest';
import type { ManyReportData } from '../../src/report/data.js';
import { batchVerdict, chunkVerdict, costText, emptyTally, tallyCall } from '../../src/report/outcome.js';
import { manyPageModel, renderPage } from '../../src/report/page.js';

describe('one definition of what a chunk and a batch concluded', () => {
  it('a decided run with no consensus claim concluded nothing, whatever its status', () => {
    expect(chunkVerdict('consensus', 3)).toBe('consensus');
    expect(chunkVerdict('degraded', 2)).toBe('degraded');
    expect(chunkVerdict('degraded', 0)).toBe('no_claims');
    expect(chunkVerdict('consensus', 0)).toBe('no_claims');
    expect(chunkVerdict('quorum_lost', 0)).toBe('quorum_lost');
  });

  it('a resumed batch is judged by its chunks and its latest session, not by the session that was interrupted', () => {
    const all = { chunks: 147, consensus: 147, degraded: 0, noClaims: 0, quorumLost: 0 };
    expect(batchVerdict(all, { end: 'completed' })).toMatchObject({ status: 'CONSENSUS', tone: 'ok' });
    const half = { ...all, consensus: 66 };
    expect(batchVerdict(half, { end: 'interrupted' })).toMatchObject({
      status: 'INCOMPLETE',
      headline: '66 of 147 chunks decided; 81 not decided yet: the batch was interrupted; --resume finishes them.',
      counts: '147 chunks: 66 consensus, 0 degraded, 0 with no claim at the quorum, 0 quorum lost, 81 undecided.',
    });
    expect(batchVerdict(half, { end: 'running' }).headline).toMatch(/is running, or was killed/);
    // Completed with chunks missing: those failed.
    expect(batchVerdict({ ...all, consensus: 146 }, { end: 'completed' }).headline).toBe('146 of 147 chunks decided; 1 failed, with no result; --resume finishes them.');
  });

  it('a degraded batch whose chunks have no consensus claim never reads as reaching consensus', () => {
    const v = batchVerdict({ chunks: 3, consensus: 0, degraded: 0, noClaims: 3, quorumLost: 0 }, { end: 'completed' });
    expect(v).toMatchObject({ status: 'PARTIAL', tone: 'bad', headline: '3 of 3 chunks reached no consensus; 0 did.' });
    expect(batchVerdict({ chunks: 3, consensus: 1, degraded: 2, noClaims: 0, quorumLost: 0 }, { end: 'completed' })).toMatchObject({ status: 'DEGRADED', headline: 'Every chunk reached consensus, 2 of them with ports missing.' });
  });

  it('counts a call once whatever its retries, and its attempts as requests; failures by model and kind', () => {
    const t = emptyTally();
    tallyCall(t, { type: 'quorum.model.responded', data: { model: 'a', attempts: 3, inputTokens: 10, outputTokens: 2, cost: 0.001 } });
    tallyCall(t, { type: 'quorum.model.failed', data: { model: 'b', kind: 'timeout', attempts: 1 } });
    tallyCall(t, { type: 'quorum.vote.cast', data: { model: 'b', ok: false, kind: 'malformed', attempts: 2 } });
    tallyCall(t, { type: 'quorum.vote.cast', data: { model: 'a', ok: true, attempts: 1 } });
    tallyCall(t, { type: 'quorum.run.completed', data: {} });
    expect(t).toMatchObject({ calls: 4, failedCalls: 2, requests: 7, inputTokens: 10, outputTokens: 2, cost: 0.001 });
    expect([...t.failuresByModel.get('b')!]).toEqual([['timeout', 1], ['malformed', 1]]);
  });

  it('writes a cost people can read: never 0.000000', () => {
    expect(costText(null)).toBe('none reported');
    expect(costText(0)).toBe('$0');
    expect(costText(0.000123456)).toBe('$0.000123');
    expect(costText(1.23456)).toBe('$1.2346');
  });
});

describe("the report's conclusions at 10,000 chunks", () => {
  const meta = { generatedAt: 'now', artifacts: 'a', version: '0' };
  const rows = Array.from({ length: 10_000 }, (_, i) => ({
    runid: `run-${i}`,
    batchid: 'b1',
    source: `docs/file-${String(Math.floor(i / 200)).padStart(2, '0')}.md`,
    chunk_id: i.toString(16).padStart(16, '0'),
    status: 'consensus',
    verdict: i % 10 === 0 ? 'no_claims' : 'consensus',
    responders: 8,
    panel: 8,
    required: 6,
    consensus: i % 10 === 0 ? 0 : 3,
    dissent: 2,
    failures: 0,
    claims: i % 10 === 0 ? [] : [{ text: `Claim one of chunk ${i}.`, support: 8 }, { text: `Claim two of chunk ${i}.`, support: 7 }, { text: `Claim three of chunk ${i}.`, support: 6 }],
    sandbox: true,
    synthesis_model: null,
    synthesis_text: null,
    synthesis_error: null,
  }));
  const data: ManyReportData = {
    kind: 'batch',
    batchId: 'b1',
    batches: [{ batchid: 'b1', outcome: 'completed', query: 'q', chunks: 10_000, consensus: 9_000, degraded: 0, no_claims: 1_000, quorum_lost: 0 }],
    totals: { runs: 10_000, calls: 80_000, failed_calls: 0 },
    rates: [], slowest: [], failuresOverTime: [], failures: [], lone: [], agreement: [], latency: [], usage: [],
    conclusions: rows,
    summaryFile: 'artifacts/summaries/b1/summary.md',
    queries: [],
  };

  it('lists every file, inlines a bounded number of chunks, and says where the rest are', () => {
    const model = manyPageModel(data, meta);
    expect(model.notice).toBe('SANDBOX: every chunk here was answered by simulated models, not real ones.');
    expect(model.banner).toMatchObject({ status: 'PARTIAL', headline: '1000 of 10000 chunks reached no consensus; 9000 did.' });
    const page = renderPage(model, new Map());
    expect(page.match(/<details class="source"/g)).toHaveLength(50);
    expect(page.match(/<li class="chunk /g)!.length).toBe(400);
    expect(page).toContain('9600 chunks are counted but not inlined, to keep the page light; all are in <code>artifacts/summaries/b1/summary.md</code> and <code>quorum sql report_conclusions</code>.');
    expect(page).toContain('160 more chunks of this file are not shown here');
    expect(page).toContain('<span class="file">docs/file-49.md</span> — 200 chunks: 180 consensus, 20 no claim reached the quorum');
    // A page a browser opens at once: well under a few MB.
    expect(page.length).toBeLessThan(1_500_000);
    expect(page).not.toMatch(/<script/i);
  });
});

describe("the chair's answer in the report", () => {
  it('shows it under the claims of its run, escaped, and says when the chair wrote none', () => {
    const meta = { generatedAt: 'now', artifacts: 'a', version: '0' };
    const row = (runid: string, extra: Record<string, unknown>) => ({ runid, batchid: null, source: null, chunk_id: null, status: 'consensus', verdict: 'consensus', responders: 8, panel: 8, required: 6, consensus: 1, dissent: 0, failures: 0, claims: [{ text: 'A fact.', support: 8 }], sandbox: false, synthesis_model: null, synthesis_text: null, synthesis_error: null, ...extra });
    const data: ManyReportData = {
      kind: 'all', batches: [], totals: { runs: 2, verdict_consensus: 2, without_result: 0, calls: 16, failed_calls: 0 },
      rates: [], slowest: [], failuresOverTime: [], failures: [], lone: [], agreement: [], latency: [], usage: [],
      conclusions: [row('r1', { synthesis_model: 'chair/m', synthesis_text: 'A fact [c1] <b>bold</b>.' }), row('r2', {})],
      queries: [],
    };
    const page = renderPage(manyPageModel(data, meta), new Map());
    expect(page).toContain('<p class="chair-by">Answer by the chair (chair/m):</p><blockquote class="chair claim-text">A fact [c1] &lt;b&gt;bold&lt;/b&gt;.</blockquote>');
    expect(page.match(/class="chair-by"/g)).toHaveLength(1);
    expect(page).toContain('<span class="file">(no document: the question alone)</span> — 2 runs: 2 consensus');
  });
});
