/**
 * The report's pure parts, without a browser or artifacts: escaping, the HTML structure, the
 * scope rewrite of the bundled queries, and the chart specs (rendered to SVG in Node).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as charts from '../../src/report/charts.js';
import { escapeHtml, html, trustedHtml } from '../../src/report/html.js';
import type { ManyReportData, RunReportData } from '../../src/report/data.js';
import { manyPageModel, renderPage, runPageModel, tableHtml, type PageModel } from '../../src/report/page.js';
import { SCOPE_FILTERS, scopedSql, scopeVariables, viewNames } from '../../src/report/scope.js';
import { hasActiveContent, renderSvg } from '../../src/report/svg.js';
import { describeSql, listQueries, QUERIES_DIR } from '../../src/sql/catalog.js';
import { splitStatements } from '../../src/sql/statements.js';

const SCRIPT = '<script>window.__pwned=1</script>';

describe('escaping', () => {
  it('escapes the five characters that matter in content and quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  });

  it('html`` escapes every interpolated string, keeps SafeHtml, joins lists and drops nullish values', () => {
    const inner = html`<b>${SCRIPT}</b>`;
    const out = html`<p title="${'" onmouseover="x'}">${inner}${[SCRIPT, 1, null, undefined, false]}</p>`.value;
    expect(out).toBe(
      '<p title="&quot; onmouseover=&quot;x"><b>&lt;script&gt;window.__pwned=1&lt;/script&gt;</b>&lt;script&gt;window.__pwned=1&lt;/script&gt;1</p>',
    );
    expect(trustedHtml('<svg></svg>').value).toBe('<svg></svg>');
  });

  it('tables escape their cells', () => {
    const out = tableHtml({ columns: ['<th>'], rows: [[SCRIPT]] }).value;
    expect(out).not.toMatch(/<script/i);
    expect(out).toContain('&lt;script&gt;');
  });

  it('tells active SVG content from escaped text that merely looks like it', () => {
    expect(hasActiveContent('<svg><script>x()</script></svg>')).toBe(true);
    expect(hasActiveContent('<svg><rect onload="x()"/></svg>')).toBe(true);
    expect(hasActiveContent('<svg><a href="https://example.com"><text>x</text></a></svg>')).toBe(true);
    expect(hasActiveContent('<svg><image href="http://x/y.png"/></svg>')).toBe(true);
    expect(hasActiveContent('<svg><g aria-label="&lt;img onerror=x&gt; a=b"><text>onerror=x &lt;script&gt;</text></g></svg>')).toBe(false);
  });
});

describe('scoping the bundled queries', () => {
  const views = viewNames();

  it('knows how to scope every view of views.sql except the span and blackboard logs', () => {
    expect(views.length).toBeGreaterThan(5);
    expect(views.filter((v) => !(v in SCOPE_FILTERS)).sort()).toEqual(['blackboard', 'spans']);
  });

  it('runs a query verbatim for the whole folder', () => {
    const sql = readFileSync(join(QUERIES_DIR, 'model_latency.sql'), 'utf8');
    expect(scopedSql(sql, { kind: 'all' }, views)).toBe(sql);
  });

  it("shadows each view a query reads with the scope's rows, keeping the query's own CTEs and body", () => {
    const plain = scopedSql('SELECT port, count(*) FROM model_calls GROUP BY port;', { kind: 'run', runId: 'r1' }, views);
    expect(plain).toBe(
      "WITH model_calls AS (SELECT * FROM main.model_calls WHERE list_contains(getvariable('report_scope_runs'), runid))\nSELECT port, count(*) FROM model_calls GROUP BY port",
    );
    const withCte = scopedSql('-- comment\nWITH x AS (SELECT * FROM runs)\nSELECT * FROM x JOIN consensus USING (runid)', { kind: 'batch', batchId: 'b', runIds: ['r1'] }, views);
    expect(withCte).toMatch(/^WITH runs AS \(SELECT \* FROM main\.runs WHERE list_contains\(getvariable\('report_scope_runs'\), runid\)\),\n\s+consensus AS \(SELECT \* FROM main\.consensus WHERE .*\),\nx AS \(SELECT \* FROM runs\)\nSELECT \* FROM x JOIN consensus USING \(runid\)$/);
    // A query that names its own CTE like a view keeps it.
    expect(scopedSql('WITH runs AS (SELECT 1 AS runid) SELECT * FROM runs', { kind: 'run', runId: 'r' }, views)).toBe('WITH runs AS (SELECT 1 AS runid) SELECT * FROM runs');
    expect(scopedSql('WITH RECURSIVE t(n) AS (SELECT 1) SELECT * FROM t, members', { kind: 'run', runId: 'r' }, views)).toMatch(/^WITH RECURSIVE members AS \(SELECT \* FROM main\.members WHERE/);
  });

  it('refuses to scope a query over a view it cannot restrict, or more than one statement', () => {
    expect(() => scopedSql('SELECT * FROM spans', { kind: 'run', runId: 'r' }, views)).toThrow(/spans/);
    expect(() => scopedSql('SELECT 1; SELECT 2', { kind: 'run', runId: 'r' }, views)).toThrow(/one statement/);
  });

  it('quotes run and batch ids in the scope variables', () => {
    expect(scopeVariables({ kind: 'batch', batchId: "b'1", runIds: ["r'1", 'r2'] })).toEqual([
      "SET VARIABLE report_scope_runs = ['r''1', 'r2']::VARCHAR[]",
      "SET VARIABLE report_scope_batch = 'b''1'",
    ]);
    expect(scopeVariables({ kind: 'all' })[0]).toBe('SET VARIABLE report_scope_runs = []::VARCHAR[]');
  });

  it("gives every report query one statement and a first-line comment saying what it answers", () => {
    const reportQueries = listQueries().filter((q) => q.name.startsWith('report_'));
    expect(reportQueries.map((q) => q.name)).toEqual(
      expect.arrayContaining(['report_batch_runs', 'report_batches', 'report_calls', 'report_claims', 'report_failures_over_time', 'report_runs', 'report_totals', 'report_usage', 'report_vote_matrix']),
    );
    for (const q of reportQueries) {
      const sql = readFileSync(q.path, 'utf8');
      expect(describeSql(sql).length, q.name).toBeGreaterThan(20);
      expect(splitStatements(sql), q.name).toHaveLength(1);
      expect(() => scopedSql(sql, { kind: 'run', runId: 'r' }, views), q.name).not.toThrow();
    }
  });
});

describe('the page', () => {
  const model: PageModel = {
    title: `report ${SCRIPT}`,
    heading: `Run ${SCRIPT}`,
    banner: { tone: 'warn', status: 'DEGRADED', headline: `Partial result ${SCRIPT}`, details: [SCRIPT] },
    notice: 'SANDBOX',
    facts: [['Question', SCRIPT]],
    tiles: [['Calls', '12']],
    sections: [
      {
        id: 'claims',
        title: 'Claims',
        figures: [
          { id: 'support', spec: charts.supportChart([{ label: 'c1', text: SCRIPT, kind: 'consensus', support: 3 }], 4, 3), sources: ['report_claims'] },
          { id: 'votes', empty: `Nothing ${SCRIPT}`, sources: ['report_vote_matrix'], table: { columns: ['a'], rows: [[SCRIPT]] } },
        ],
        body: html`<p class="claim-text">${SCRIPT}</p>`,
      },
    ],
    queries: ['report_claims', 'report_vote_matrix'],
    scope: 'run r1',
    generatedAt: '2026-01-01 00:00:00 UTC',
    artifacts: `/tmp/${SCRIPT}`,
    version: '0.1.0',
  };

  it('is one document with a no-script, no-fetch policy, the banner first and every text escaped', async () => {
    const svg = await renderSvg(model.sections[0]!.figures[0]!.spec!);
    const page = renderPage(model, new Map([['support', svg]]));
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">`);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<link|<img|<iframe|src=|href=|url\(/i);
    expect(page.indexOf('class="banner warn"')).toBeLessThan(page.indexOf('<main>'));
    expect(page).toContain('data-status="DEGRADED"');
    expect(page.match(/&lt;script&gt;window.__pwned=1&lt;\/script&gt;/g)!.length).toBeGreaterThanOrEqual(8);
    expect(page).toMatch(/<figure class="chart" data-chart="support" id="chart-support"><svg[^>]*>/);
    expect(page).toContain('<figure class="chart empty" data-chart="votes" id="chart-votes"><p>Nothing &lt;script&gt;');
    expect(page).toContain('<code>quorum sql report_claims</code>');
  });
});

describe('the status banner never lets a partial result look complete', () => {
  const meta = { generatedAt: 'now', artifacts: 'a', version: '0' };
  const run = (over: Record<string, unknown>): RunReportData => ({
    kind: 'run',
    runId: 'r1',
    run: { runid: 'r1', status: 'consensus', has_consensus: true, query: 'q', configured: 6, required: 6, responders: 8, panel: 8, min_responders: 5, failures: [], agreement: [], rounds: 1, ...over } as never,
    claims: [],
    votes: [],
    calls: [],
    usage: [],
    models: new Map(),
    queries: [],
  });

  it("shows the chair's answer under the consensus claims, or why there is none", () => {
    const body = (over: Record<string, unknown>) => String(runPageModel(run(over), meta).sections.find((s) => s.id === 'claims')!.body);
    expect(body({ synthesis_model: 'chair/m', synthesis_text: 'Port 8080 [c1] <i>x</i>.' })).toContain('<h3>Answer by the chair (chair/m, from the consensus claims only)</h3><blockquote class="chair claim-text">Port 8080 [c1] &lt;i&gt;x&lt;/i&gt;.</blockquote>');
    expect(body({ synthesis_model: 'chair/m', synthesis_error: 'timeout' })).toContain('The chair (chair/m) wrote no answer: timeout; the consensus above stands.');
    expect(body({})).not.toContain('chair');
  });

  it('says CONSENSUS only when the whole quorum held', () => {
    expect(runPageModel(run({}), meta).banner).toMatchObject({ tone: 'ok', status: 'CONSENSUS', headline: '8 of 8 ports answered; a claim needs 6 votes.' });
  });

  it('marks a degraded run as partial and names the ports that failed', () => {
    const b = runPageModel(run({ status: 'degraded', responders: 7, required: 6, failures: [{ port: 5, model: 'm/5', kind: 'timeout', attempts: 1, message: 'x', round: null }] }), meta).banner;
    expect(b).toMatchObject({ tone: 'warn', status: 'DEGRADED' });
    expect(b.headline).toMatch(/^Partial result: only 7 of 8 ports answered/);
    expect(b.details).toEqual(['No answer from port 5 (m/5): timeout.']);
  });

  it('says a lost quorum has no consensus, and a run that ended without a result has none either', () => {
    expect(runPageModel(run({ status: 'quorum_lost', responders: 3 }), meta).banner).toMatchObject({ tone: 'bad', status: 'QUORUM LOST', headline: 'No consensus: only 3 of 8 ports answered, 5 needed. Every claim below is dissent.' });
    const failed = runPageModel(run({ status: 'interrupted', has_consensus: false, required: null, responders: null }), meta);
    expect(failed.banner).toMatchObject({ tone: 'bad', status: 'INTERRUPTED' });
    expect(failed.banner.headline).toMatch(/^No result: the run ended interrupted without writing a consensus.json/);
    expect(failed.sections.find((s) => s.id === 'claims')!.figures[0]!.empty).toMatch(/No consensus.json/);
  });

  const many = (batch: Record<string, number>, outcome: string | null): ManyReportData => ({
    kind: 'batch',
    batchId: 'b1',
    batches: [{ batchid: 'b1', outcome, query: 'q', consensus: 0, degraded: 0, no_claims: 0, quorum_lost: 0, ...batch }],
    totals: { runs: 0, chunks: 0, calls: 10, failed_calls: 0 },
    rates: [], slowest: [], failuresOverTime: [], failures: [], lone: [], agreement: [], latency: [], usage: [], conclusions: [], queries: [],
  });

  it('counts a batch by chunk verdict: lost and no-claim chunks are PARTIAL, degraded ones DEGRADED, undecided ones INCOMPLETE', () => {
    const ok = manyPageModel(many({ chunks: 3, consensus: 3 }, 'completed'), meta).banner;
    expect(ok).toMatchObject({ tone: 'ok', status: 'CONSENSUS', headline: 'Every chunk reached consensus with the whole panel answering.' });
    const lost = manyPageModel(many({ chunks: 3, consensus: 2, quorum_lost: 1 }, 'completed'), meta).banner;
    expect(lost).toMatchObject({ tone: 'bad', status: 'PARTIAL', headline: '1 of 3 chunks reached no consensus; 2 did.' });
    expect(lost.details[0]).toBe('3 chunks: 2 consensus, 0 degraded, 0 with no claim at the quorum, 1 quorum lost.');
    expect(manyPageModel(many({ chunks: 3, consensus: 2, degraded: 1 }, 'completed'), meta).banner).toMatchObject({ tone: 'warn', status: 'DEGRADED' });
    // A degraded chunk with no consensus claim concluded nothing: never "reached consensus".
    const empty = manyPageModel(many({ chunks: 3, no_claims: 3 }, 'completed'), meta).banner;
    expect(empty).toMatchObject({ tone: 'bad', status: 'PARTIAL', headline: '3 of 3 chunks reached no consensus; 0 did.' });
    // Interrupted: what is decided and what is left, not "0 of N have no consensus".
    const interrupted = manyPageModel(many({ chunks: 147, consensus: 66 }, 'interrupted'), meta).banner;
    expect(interrupted).toMatchObject({ tone: 'bad', status: 'INCOMPLETE', headline: '66 of 147 chunks decided; 81 not decided yet: the batch was interrupted; --resume finishes them.' });
    // Resumed to the end: the latest session's ending counts.
    expect(manyPageModel(many({ chunks: 147, consensus: 147 }, 'completed'), meta).banner.status).toBe('CONSENSUS');
    const unfinished = manyPageModel(many({ chunks: 2, consensus: 1 }, null), meta).banner;
    expect(unfinished).toMatchObject({ tone: 'bad', status: 'INCOMPLETE' });
    expect(unfinished.details[1]).toMatch(/has not ended/);
  });
});

describe('chart specs', () => {
  const verdicts = charts.VERDICTS;
  const cases: [string, ReturnType<typeof charts.supportChart>][] = [
    ['support', charts.supportChart([{ label: 'c1', text: SCRIPT, kind: 'consensus', support: 7 }, { label: 'd1', text: 'lone', kind: 'dissent', support: 1 }], 8, 6)],
    ['votes', charts.voteMatrixChart(verdicts.map((v, port) => ({ label: 'c1', port, verdict: v, detail: null })), ['c1'], 5, true)],
    ['agreement', charts.agreementChart([{ a: 0, b: 1, agreement: 0.5 }, { a: 1, b: 0, agreement: 0.5 }, { a: 0, b: 0, agreement: null }], [0, 1], 'x')],
    ['latency', charts.latencyChart([{ port: 0, model: 'm/0', round: 1, outcome: 'answered', latencyMs: 20 }, { port: 1, model: 'm/1', round: 1, outcome: 'timeout', latencyMs: 900 }, { port: 0, model: 'm/0', round: 2, outcome: 'malformed', latencyMs: 10 }], 2)],
    ['tokens', charts.tokensChart([{ label: 'port 0', inputTokens: 10, outputTokens: 4, cost: 0.001 }], 'Tokens')],
    ['cost', charts.costChart([{ label: 'port 0', inputTokens: 10, outputTokens: 4, cost: null }], 'Cost')],
    ['rate', charts.consensusRateChart([{ index: 1, label: 'a', status: 'consensus', rate: 0.5 }, { index: 2, label: 'b', status: 'quorum_lost', rate: 0 }], 'chunk')],
    ['slowest', charts.slowestChart([{ label: 'a.md · 1', durationMs: 900, round1Ms: 600, voteMs: 200, gatherMs: 100, slowest: 'port 3' }])],
    ['failures', charts.failuresOverTimeChart([{ model: 'm/1', startMs: 0, endMs: 1000, kind: 'http', failures: 2 }, { model: 'm/1', startMs: 0, endMs: 1000, kind: 'timeout', failures: 1 }])],
    ['lone', charts.loneDissentersChart([{ label: '0 · m/0', lone: 2, claims: 8, share: 0.25 }])],
    ['model latency', charts.modelLatencyChart([{ label: '0 · m/0', p50: 30, p95: 80 }])],
  ];

  it.each(cases)('%s renders to an SVG with a title, axes or a legend, and no warning', async (_name, spec) => {
    const chart = await renderSvg(spec);
    expect(chart.warnings).toEqual([]);
    expect(chart.svg).toMatch(/^<svg /);
    expect(chart.width).toBeGreaterThan(100);
    expect(chart.height).toBeGreaterThan(60);
    expect(chart.svg).toContain('role-title');
    expect(chart.svg).toMatch(/role-axis|role-legend/);
    expect(hasActiveContent(chart.svg)).toBe(false);
  });

  it('names claims by their id in the support chart, never by cut text that reads alike', async () => {
    const chart = await renderSvg(cases[0]![1]);
    expect(chart.svg).toContain('>c1</text>');
    expect(chart.svg).toContain('>d1</text>');
    expect(chart.svg).not.toContain('&lt;script');
  });

  it('writes text from models (a model id) into the SVG as escaped text', async () => {
    const chart = await renderSvg(charts.loneDissentersChart([{ label: charts.portLabel(0, '<script>x</script>'), lone: 1, claims: 2, share: 0.5 }]));
    expect(chart.svg).not.toMatch(/<script/i);
    expect(chart.svg).toContain('&lt;script&gt;');
  });

  it('formats durations and costs for people', () => {
    expect(charts.formatMs(1506)).toBe('1,506 ms');
    expect(charts.formatMs(12_345)).toBe('12.3 s');
    expect(charts.formatCost(0.00030000000000000003)).toBe('$0.0003');
    expect(charts.formatCost(1.5)).toBe('$1.5');
    expect(charts.formatCost(null)).toBe('–');
  });
});
