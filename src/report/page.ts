/**
 * The report page: pure functions from the queries' rows to a page model (banner, facts, sections
 * of figures and tables, each figure with its Vega-Lite spec), and from a model plus the rendered
 * SVGs to one self-contained HTML document. No script, no external resource: a Content Security
 * Policy of `default-src 'none'` makes sure the page can neither run code nor fetch anything.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { SqlValue } from '../sql/values.js';
import {
  agreementChart,
  consensusRateChart,
  costChart,
  failuresOverTimeChart,
  formatCost,
  formatMs,
  latencyChart,
  loneDissentersChart,
  modelLatencyChart,
  portLabel,
  shorten,
  slowestChart,
  supportChart,
  tokensChart,
  voteMatrixChart,
  type AgreementCell,
  type UsageBar,
  type Verdict,
  VERDICTS,
} from './charts.js';
import { list, num, nums, str, type ManyReportData, type RunReportData } from './data.js';
import { html, trustedHtml, type HtmlValue, type SafeHtml } from './html.js';
import { batchVerdict, CHUNK_VERDICTS, decidedChunks, type ChunkVerdict, VERDICT_WORDS } from './outcome.js';
import type { Row } from './scope.js';

export type Tone = 'ok' | 'warn' | 'bad' | 'neutral';

export interface Banner {
  tone: Tone;
  /** The status in one word or two, upper case: CONSENSUS, DEGRADED, QUORUM LOST… */
  status: string;
  headline: string;
  details: string[];
}

export interface Table {
  columns: string[];
  /** Right-aligned columns. */
  numeric?: boolean[];
  rows: HtmlValue[][];
  /** Rows left out (the table shows the first ones). */
  omitted?: number;
}

export interface Figure {
  /** Stable id, also `data-chart` in the page (the browser tests look for it). */
  id: string;
  /** Absent when there is nothing to draw; `empty` then says why. */
  spec?: TopLevelSpec;
  empty?: string;
  /** The bundled queries the numbers come from. */
  sources: string[];
  table?: Table;
}

export interface Section {
  id: string;
  title: string;
  intro?: SafeHtml;
  figures: Figure[];
  /** Markup after the figures (claim lists, tables). */
  body?: SafeHtml;
}

export interface PageModel {
  /** The document's <title>. */
  title: string;
  heading: string;
  banner: Banner;
  notice?: string;
  facts: [string, HtmlValue][];
  tiles?: [string, string][];
  sections: Section[];
  /** Where the numbers come from (query names) and in which scope. */
  queries: string[];
  scope: string;
  generatedAt: string;
  artifacts: string;
  version: string;
}

export interface RenderedFigure {
  svg: string;
}

const MAX_TABLE_ROWS = 200;

// ------------------------------------------------------------------ one run

export function runPageModel(d: RunReportData, meta: { generatedAt: string; artifacts: string; version: string }): PageModel {
  const r = d.run;
  const status = str(r.status) ?? 'unfinished';
  const panel = num(r.panel) ?? Math.max(0, ...[...d.models.keys()].map((p) => p + 1));
  const required = num(r.required);
  const rounds = num(r.rounds);
  const failures = list(r.failures).map((f) => f as Record<string, SqlValue>);
  const banner = runBanner(r, status, failures);

  const facts: [string, HtmlValue][] = [['Question', str(r.query) ?? '(not recorded)']];
  const source = str(r.source);
  const chunkId = str(r.chunk_id);
  if (source) facts.push([chunkId && chunkId !== 'context' ? 'Chunk' : 'Context', chunkId && chunkId !== 'context' ? `${source} (chunk ${chunkId})` : source]);
  else facts.push(['Context', 'none (the question alone)']);
  facts.push(['Run', d.runId]);
  if (str(r.batchid)) facts.push(['Batch', str(r.batchid)]);
  if (str(r.replay_of)) facts.push(['Replay of', `${str(r.replay_of)} (recorded answers gathered again; no model was called)`]);
  facts.push(['Started', formatTime(num(r.started_ms))]);
  if (num(r.duration_ms) !== null) facts.push(['Duration', formatMs(num(r.duration_ms))]);
  if (panel) {
    facts.push([
      'Panel',
      `${panel} ports${num(r.configured) !== null ? `; quorum ${num(r.configured)} of ${panel} with every port answering` : ''}${num(r.min_responders) !== null ? `, at least ${num(r.min_responders)} must answer` : ''}`,
    ]);
  }
  if (rounds !== null) facts.push(['Rounds', rounds === 2 ? `2: the answers proposed ${num(r.candidates) ?? 0} candidate claims, then every responder voted` : '1: claims counted in the answers']);
  if (str(r.synthesis_model)) facts.push(['Chair', str(r.synthesis_text) !== null ? `${str(r.synthesis_model)} wrote a prose answer from the consensus claims (below them)` : `${str(r.synthesis_model)} wrote no answer; the consensus stands`]);

  const claimFigures: Figure[] = [];
  const consensusClaims = d.claims.filter((c) => c.kind === 'consensus');
  const dissent = d.claims.filter((c) => c.kind === 'dissent');
  claimFigures.push(
    d.claims.length
      ? {
          id: 'support',
          spec: supportChart(
            d.claims.map((c) => ({ label: str(c.label)!, text: str(c.text) ?? '', kind: c.kind === 'consensus' ? 'consensus' : 'dissent', support: num(c.support) ?? 0 })),
            panel,
            status === 'quorum_lost' ? null : required,
          ),
          sources: ['report_claims'],
          table: {
            columns: ['Claim', 'Text', 'Support', 'Kind'],
            numeric: [false, false, true, false],
            rows: d.claims.map((c) => [str(c.label), html`<span class="claim-text">${str(c.text) ?? ''}</span>`, `${num(c.support) ?? 0} of ${panel}`, str(c.kind)]),
          },
        }
      : { id: 'support', empty: r.has_consensus ? 'No claim could be extracted from any answer.' : 'No consensus.json was written for this run, so it has no claims.', sources: ['report_claims'] },
  );
  const claimsBody = html`
    <h3>Consensus claims (${consensusClaims.length})</h3>
    ${consensusClaims.length ? claimList(consensusClaims, panel, required) : html`<p class="empty">${status === 'quorum_lost' ? 'None: the quorum was lost, so every claim is dissent.' : 'No claim reached the quorum.'}</p>`}
    ${chairAnswer(r)}
    <h3>Dissent, below the quorum (${dissent.length})</h3>
    ${dissent.length ? claimList(dissent, panel, required) : html`<p class="empty">None.</p>`}`;

  const labels = d.claims.map((c) => str(c.label)!);
  const voteFigure: Figure = d.votes.length
    ? {
        id: 'votes',
        spec: voteMatrixChart(
          d.votes.map((v) => ({ label: str(v.label)!, port: num(v.port)!, verdict: toVerdict(v.verdict), detail: str(v.detail) })),
          labels,
          panel,
          d.claims.some((c) => c.agree !== null),
        ),
        sources: ['report_vote_matrix'],
        table: {
          columns: ['Claim', ...Array.from({ length: panel }, (_, p) => `Port ${p}`)],
          rows: labels.map((label) => [
            label,
            ...Array.from({ length: panel }, (_, p) => {
              const cell = d.votes.find((v) => v.label === label && v.port === p);
              return cell ? `${str(cell.verdict)}${str(cell.detail) ? ` (${str(cell.detail)})` : ''}` : '';
            }),
          ]),
        },
      }
    : { id: 'votes', empty: 'No claims, so no votes to show.', sources: ['report_vote_matrix'] };

  const matrix = list(r.agreement).map((row) => list(row).map((v) => num(v)));
  const agreementCells: AgreementCell[] = matrix.flatMap((row, a) => row.map((v, b) => ({ a, b, agreement: v })));
  const agreementFigure: Figure = matrix.length
    ? {
        id: 'agreement',
        spec: agreementChart(agreementCells, matrix.map((_, p) => p), 'Share of the claims either port makes that both make (Jaccard); grey: the port gave no answer'),
        sources: ['report_runs'],
        table: {
          columns: ['Port', ...matrix.map((_, p) => String(p))],
          numeric: [false, ...matrix.map(() => true)],
          rows: matrix.map((row, a) => [String(a), ...row.map((v) => (v === null ? '–' : v.toFixed(2)))]),
        },
      }
    : { id: 'agreement', empty: 'No agreement matrix was recorded (no consensus.json).', sources: ['report_runs'] };

  const calls = d.calls.map((c) => ({ port: num(c.port)!, model: str(c.model), round: num(c.round) ?? 1, outcome: str(c.outcome) ?? 'unknown', latencyMs: num(c.latency_ms) }));
  const latencyFigure: Figure = calls.length
    ? { id: 'latency', spec: latencyChart(calls, panel, d.models), sources: ['report_calls'] }
    : { id: 'latency', empty: 'No model call was recorded for this run (a replay calls no model).', sources: ['report_calls'] };
  const usage: UsageBar[] = d.usage.map((u) => ({ label: portLabel(num(u.port)!, str(u.model)), inputTokens: num(u.input_tokens), outputTokens: num(u.output_tokens), cost: num(u.cost) }));
  const hasTokens = usage.some((u) => (u.inputTokens ?? 0) + (u.outputTokens ?? 0) > 0);
  const hasCost = usage.some((u) => u.cost !== null);
  const usageFigures: Figure[] = [
    hasTokens ? { id: 'tokens', spec: tokensChart(usage, 'Tokens per port'), sources: ['tokens_cost'] } : { id: 'tokens', empty: 'No provider reported token usage for this run.', sources: ['tokens_cost'] },
    hasCost ? { id: 'cost', spec: costChart(usage, 'Cost per port'), sources: ['tokens_cost'] } : { id: 'cost', empty: 'No provider reported a cost for this run.', sources: ['tokens_cost'] },
  ];

  const portsBody = html`
    <h3>Ports</h3>
    ${tableHtml(portTable(d, panel))}
    ${failures.length ? html`<h3>Failures (${failures.length})</h3>${tableHtml(failureTable(failures))}` : ''}`;

  return {
    title: `quorum report — run ${d.runId} — ${banner.status}`,
    heading: `Run ${d.runId}`,
    banner,
    ...(r.sandbox === true && { notice: 'SANDBOX: these answers come from simulated models, not real ones.' }),
    facts,
    sections: [
      { id: 'claims', title: 'Claims', figures: claimFigures, body: claimsBody },
      { id: 'votes', title: 'Votes', intro: html`<p>How each port stood on each claim. Claim labels are those of the lists above and of consensus.md.</p>`, figures: [voteFigure] },
      { id: 'agreement', title: 'Agreement between ports', figures: [agreementFigure] },
      { id: 'ports', title: 'Latency, tokens and cost', figures: [latencyFigure, ...usageFigures], body: portsBody },
    ],
    queries: d.queries,
    scope: `run ${d.runId}`,
    ...meta,
  };
}

function runBanner(r: Row, status: string, failures: Record<string, SqlValue>[]): Banner {
  const responders = num(r.responders);
  const panel = num(r.panel);
  const required = num(r.required);
  const failed = failures.filter((f) => f.round === null || f.round === undefined);
  const voteFailed = failures.filter((f) => f.round === 2);
  const details: string[] = [];
  if (failed.length) details.push(`No answer from ${failed.map((f) => `port ${num(f.port)} (${str(f.model)}): ${str(f.kind)}`).join('; ')}.`);
  if (voteFailed.length) details.push(`Failed the vote round and abstained: ${voteFailed.map((f) => `port ${num(f.port)} (${str(f.kind)})`).join('; ')}.`);
  switch (status) {
    case 'consensus':
      return { tone: 'ok', status: 'CONSENSUS', headline: `${responders} of ${panel} ports answered; a claim needs ${required} votes.`, details };
    case 'degraded':
      return {
        tone: 'warn',
        status: 'DEGRADED',
        headline: `Partial result: only ${responders} of ${panel} ports answered; a claim needs ${required} votes (scaled from ${num(r.configured)}).`,
        details,
      };
    case 'quorum_lost':
      return {
        tone: 'bad',
        status: 'QUORUM LOST',
        headline: `No consensus: only ${responders} of ${panel} ports answered, ${num(r.min_responders)} needed. Every claim below is dissent.`,
        details,
      };
    default:
      return {
        tone: 'bad',
        status: status === 'unfinished' ? 'UNFINISHED' : status.toUpperCase(),
        headline: `No result: the run ${status === 'unfinished' ? 'has not finished' : `ended ${status}`} without writing a consensus.json. What its ports did is below.`,
        details,
      };
  }
}

/** The chair's prose answer (`--synthesize`), or why there is none; nothing when no chair was asked. */
function chairAnswer(r: Row): SafeHtml | string {
  const model = str(r.synthesis_model);
  if (!model) return '';
  const text = str(r.synthesis_text);
  if (text === null) return html`<h3>Answer by the chair</h3><p class="empty">The chair (${model}) wrote no answer${str(r.synthesis_error) ? `: ${str(r.synthesis_error)}` : ''}; the consensus above stands.</p>`;
  return html`<h3>Answer by the chair (${model}, from the consensus claims only)</h3><blockquote class="chair claim-text">${text}</blockquote>`;
}

function claimList(claims: Row[], panel: number, required: number | null): SafeHtml {
  return html`<ol class="claims">${claims.map((c) => {
    const support = num(c.support) ?? 0;
    const voters: string[] = [];
    const agree = nums(c.agree);
    if (c.agree === null) voters.push(`made by ${portsText(nums(c.ports))}`);
    else {
      voters.push(`agree: ${portsText(agree)}`);
      if (nums(c.disagree).length) voters.push(`disagree: ${portsText(nums(c.disagree))}`);
      if (nums(c.unsure).length) voters.push(`unsure: ${portsText(nums(c.unsure))}`);
      if (nums(c.abstained).length) voters.push(`no usable ballot: ${portsText(nums(c.abstained))}`);
      if (nums(c.proposers).length) voters.push(`proposed by ${portsText(nums(c.proposers))}`);
    }
    return html`<li id="claim-${str(c.label)}" class="claim ${str(c.kind)}">
      <span class="label">${str(c.label)}</span>
      <span class="claim-text">${str(c.text)}</span>
      <span class="support">${support} of ${panel} ports${required !== null ? ` (needs ${required})` : ''}</span>
      <span class="voters">${voters.join(' · ')}</span>
    </li>`;
  })}</ol>`;
}

function portsText(ports: number[]): string {
  return ports.length ? `port${ports.length > 1 ? 's' : ''} ${ports.join(', ')}` : 'none';
}

function toVerdict(v: SqlValue | undefined): Verdict {
  return (VERDICTS as readonly string[]).includes(String(v)) ? (v as Verdict) : 'silent';
}

function portTable(d: RunReportData, panel: number): Table {
  const rows: HtmlValue[][] = [];
  for (let p = 0; p < panel; p++) {
    const q = d.calls.find((c) => c.port === p && num(c.round) === 1);
    const v = d.calls.find((c) => c.port === p && num(c.round) === 2);
    const u = d.usage.find((x) => x.port === p);
    const outcome = (c: Row | undefined) => (c ? `${str(c.outcome)}, ${formatMs(num(c.latency_ms))}${(num(c.attempts) ?? 1) > 1 ? `, ${num(c.attempts)} attempts` : ''}` : '–');
    rows.push([String(p), d.models.get(p) ?? '', outcome(q), outcome(v), fmtInt(num(u?.input_tokens)), fmtInt(num(u?.output_tokens)), formatCost(num(u?.cost))]);
  }
  return { columns: ['Port', 'Model', 'Question round', 'Vote round', 'Input tokens', 'Output tokens', 'Cost'], numeric: [true, false, false, false, true, true, true], rows };
}

function failureTable(failures: Record<string, SqlValue>[]): Table {
  return {
    columns: ['Port', 'Model', 'Round', 'Kind', 'Attempts', 'Message'],
    numeric: [true, false, true, false, true, false],
    rows: failures.map((f) => [String(num(f.port)), str(f.model), f.round === 2 ? '2 (vote)' : '1', str(f.kind), String(num(f.attempts) ?? ''), str(f.message) ?? '']),
  };
}

// ------------------------------------------------------------------ a batch, or everything

export function manyPageModel(d: ManyReportData, meta: { generatedAt: string; artifacts: string; version: string }): PageModel {
  const t = d.totals;
  const batch = d.kind === 'batch' ? d.batches[0] : undefined;
  const what = d.kind === 'batch' ? 'chunk' : 'run';
  const banner = manyBanner(d);

  const facts: [string, HtmlValue][] = [];
  if (d.kind === 'batch') {
    facts.push(['Batch', d.batchId!]);
    facts.push(['Question', str(batch?.query) ?? '(not recorded)']);
    if (batch) facts.push(['Input', `${num(batch.files) ?? '?'} files, ${num(batch.chunks) ?? '?'} chunks`]);
    facts.push(['Latest session', str(batch?.outcome) ?? 'has not ended: running, or killed (resume it with quorum batch … --resume)']);
    if (d.summaryFile) facts.push(['Summary', html`<code>${d.summaryFile}</code>: every chunk's conclusions as Markdown`]);
  } else {
    facts.push(['Artifacts', meta.artifacts]);
    facts.push(['Batches', String(d.batches.length)]);
  }
  facts.push(['First run started', formatTime(num(t.first_started_ms))]);
  facts.push(['Last run completed', formatTime(num(t.last_completed_ms))]);
  if (num(t.replays)) facts.push(['Replays', `${num(t.replays)} (they re-gather recorded answers and call no model)`]);

  const tiles: [string, string][] = [
    ['Runs', fmtInt(num(t.runs))],
    ...(num(t.chunks) ? ([['Chunks', fmtInt(num(t.chunks))]] as [string, string][]) : []),
    ['Calls', fmtInt(num(t.calls))],
    ['Requests (with retries)', fmtInt(num(t.attempts))],
    ['Failed calls', fmtInt(num(t.failed_calls))],
    ['Input tokens', fmtInt(num(t.input_tokens))],
    ['Output tokens', fmtInt(num(t.output_tokens))],
    ['Cost', formatCost(num(t.cost))],
  ];

  const points = d.rates.map((r, i) => ({ index: i + 1, label: str(r.chunk) ?? str(r.runid) ?? '', status: str(r.status) ?? 'unfinished', rate: num(r.rate) }));
  const rateFigure: Figure = points.length
    ? {
        id: 'consensus-rate',
        spec: consensusRateChart(points, what),
        sources: ['consensus_rate'],
        table: {
          columns: ['#', 'Run', 'Chunk', 'Status', 'Consensus', 'Dissent', 'Rate', 'Answered'],
          numeric: [true, false, false, false, true, true, true, true],
          rows: d.rates.map((r, i) => [String(i + 1), str(r.runid), str(r.chunk) ?? '', str(r.status), fmtInt(num(r.consensus)), fmtInt(num(r.dissent)), pct(num(r.rate)), `${num(r.responders)} of ${num(r.panel)}`]),
        },
      }
    : { id: 'consensus-rate', empty: 'No run wrote a consensus.json.', sources: ['consensus_rate'] };

  const slowRows = d.slowest.map((s) => ({
    label: str(s.chunk) ? `${shorten(baseName(str(s.chunk)!), 30)} · ${shortRun(str(s.runid)!)}` : str(s.runid)!,
    durationMs: num(s.duration_ms) ?? 0,
    round1Ms: num(s.round1_ms),
    voteMs: num(s.vote_ms),
    gatherMs: num(s.gather_ms),
    slowest: num(s.slowest_port) !== null ? `port ${num(s.slowest_port)}` : null,
  }));
  const slowFigure: Figure = slowRows.length
    ? {
        id: 'slowest',
        spec: slowestChart(slowRows, what),
        sources: ['slowest_chunks'],
        table: {
          columns: ['Run', 'Chunk', 'Status', 'Duration', 'Question round', 'Vote round', 'Gather', 'Slowest port'],
          numeric: [false, false, false, true, true, true, true, false],
          rows: d.slowest.map((s) => [str(s.runid), str(s.chunk) ?? '', str(s.status), formatMs(num(s.duration_ms)), formatMs(num(s.round1_ms)), formatMs(num(s.vote_ms)), formatMs(num(s.gather_ms)), num(s.slowest_port) !== null ? `port ${num(s.slowest_port)} (${str(s.slowest_model)}), ${formatMs(num(s.slowest_ms))}` : '']),
        },
      }
    : { id: 'slowest', empty: 'No run has completed yet.', sources: ['slowest_chunks'] };

  const slices = d.failuresOverTime.map((f) => ({ model: str(f.model) ?? '?', startMs: num(f.slice_start_ms)!, endMs: num(f.slice_end_ms)!, kind: str(f.kind) ?? 'unknown', failures: num(f.failures) ?? 0 }));
  const failureFigure: Figure = {
    id: 'failures-over-time',
    ...(slices.length ? { spec: failuresOverTimeChart(slices) } : { empty: 'No call failed.' }),
    sources: ['report_failures_over_time', 'model_failures'],
    ...(d.failures.length && {
      table: {
        columns: ['Model', 'Port', 'Kind', 'Failures', 'Of them in the vote round', 'Runs', 'Calls', 'Rate', 'Last message'],
        numeric: [false, true, false, true, true, true, true, true, false],
        rows: d.failures.map((f) => [str(f.model), String(num(f.port)), str(f.kind), fmtInt(num(f.failures)), fmtInt(num(f.vote_round)), fmtInt(num(f.runs)), fmtInt(num(f.calls)), pct(num(f.rate)), str(f.last_message) ?? '']),
      },
    }),
  };

  const loneRows = d.lone.map((l) => ({ label: portLabel(num(l.port)!, str(l.model)), lone: num(l.lone_claims) ?? 0, claims: num(l.claims) ?? 0, share: num(l.lone_share) }));
  const loneFigure: Figure = loneRows.length
    ? {
        id: 'lone-dissenters',
        spec: loneDissentersChart(loneRows),
        sources: ['lone_dissenters'],
        table: {
          columns: ['Port', 'Model', 'Lone claims', 'Claims', 'Share', 'Runs', 'Latest lone claim'],
          numeric: [true, false, true, true, true, true, false],
          rows: d.lone.map((l) => [String(num(l.port)), str(l.model), fmtInt(num(l.lone_claims)), fmtInt(num(l.claims)), pct(num(l.lone_share)), fmtInt(num(l.runs)), html`<span class="claim-text">${str(l.example) ?? ''}</span>`]),
        },
      }
    : { id: 'lone-dissenters', empty: 'No claims recorded.', sources: ['lone_dissenters'] };

  const ports = [...new Set(d.agreement.flatMap((a) => [num(a.port_a)!, num(a.port_b)!]))].sort((x, y) => x - y);
  const cells: AgreementCell[] = d.agreement.flatMap((a) => [
    { a: num(a.port_a)!, b: num(a.port_b)!, agreement: num(a.agreement) },
    { a: num(a.port_b)!, b: num(a.port_a)!, agreement: num(a.agreement) },
  ]);
  const agreementFigure: Figure = cells.length
    ? {
        id: 'agreement',
        spec: agreementChart(cells, ports, 'Over every run where both answered: the share of the claims either port makes that both make (Jaccard); the diagonal is left blank'),
        sources: ['agreement_matrix'],
        table: {
          columns: ['Port A', 'Model A', 'Port B', 'Model B', 'Runs', 'Shared', 'Either', 'Agreement'],
          numeric: [true, false, true, false, true, true, true, true],
          rows: d.agreement.map((a) => [String(num(a.port_a)), str(a.model_a), String(num(a.port_b)), str(a.model_b), fmtInt(num(a.runs)), fmtInt(num(a.shared)), fmtInt(num(a.either)), num(a.agreement)?.toFixed(3) ?? '–']),
        },
      }
    : { id: 'agreement', empty: 'No two ports answered the same run.', sources: ['agreement_matrix'] };

  const latencyRows = d.latency.map((l) => ({ label: portLabel(num(l.port)!, str(l.model)), p50: num(l.p50_ms) ?? 0, p95: num(l.p95_ms) ?? 0 }));
  const latencyFigure: Figure = latencyRows.length
    ? {
        id: 'model-latency',
        spec: modelLatencyChart(latencyRows),
        sources: ['model_latency'],
        table: {
          columns: ['Model', 'Port', 'Calls', 'p50', 'p95', 'Max'],
          numeric: [false, true, true, true, true, true],
          rows: d.latency.map((l) => [str(l.model), String(num(l.port)), fmtInt(num(l.calls)), formatMs(num(l.p50_ms)), formatMs(num(l.p95_ms)), formatMs(num(l.max_ms))]),
        },
      }
    : { id: 'model-latency', empty: 'No call was answered.', sources: ['model_latency'] };

  const usage: UsageBar[] = d.usage.map((u) => ({ label: portLabel(num(u.port)!, str(u.model)), inputTokens: num(u.input_tokens), outputTokens: num(u.output_tokens), cost: num(u.cost) }));
  const usageTable: Table = {
    columns: ['Port', 'Model', 'Calls', 'Failed', 'Attempts', 'Input tokens', 'Output tokens', 'Cost'],
    numeric: [true, false, true, true, true, true, true, true],
    rows: d.usage.map((u) => [String(num(u.port)), str(u.model), fmtInt(num(u.calls)), fmtInt(num(u.failed)), fmtInt(num(u.attempts)), fmtInt(num(u.input_tokens)), fmtInt(num(u.output_tokens)), formatCost(num(u.cost))]),
  };
  const usageFigures: Figure[] = [
    usage.some((u) => (u.inputTokens ?? 0) + (u.outputTokens ?? 0) > 0)
      ? { id: 'tokens', spec: tokensChart(usage, 'Tokens per model'), sources: ['report_usage'], table: usageTable }
      : { id: 'tokens', empty: 'No provider reported token usage.', sources: ['report_usage'], table: usageTable },
    usage.some((u) => u.cost !== null) ? { id: 'cost', spec: costChart(usage, 'Cost per model'), sources: ['report_usage'] } : { id: 'cost', empty: 'No provider reported a cost.', sources: ['report_usage'] },
  ];

  const heading = d.kind === 'batch' ? `Batch ${d.batchId}` : 'All runs';
  const simulated = d.conclusions.filter((c) => c.sandbox === true).length;
  const notice =
    simulated === 0
      ? undefined
      : simulated === d.conclusions.length
        ? `SANDBOX: every ${what} here was answered by simulated models, not real ones.`
        : `SANDBOX: ${simulated} of ${d.conclusions.length} ${what}s here were answered by simulated models, not real ones.`;
  return {
    title: `quorum report — ${heading.toLowerCase()} — ${banner.status}`,
    heading,
    banner,
    ...(notice && { notice }),
    facts,
    tiles,
    sections: [
      conclusionsSection(d, what),
      { id: 'consensus', title: `Consensus over ${what}s`, figures: [rateFigure] },
      { id: 'time', title: `Slowest ${what}s`, figures: [slowFigure] },
      { id: 'failures', title: 'Failures', figures: [failureFigure] },
      { id: 'dissent', title: 'Lone dissenters', figures: [loneFigure] },
      { id: 'agreement', title: 'Agreement between ports', figures: [agreementFigure] },
      { id: 'models', title: 'Latency, tokens and cost per model', figures: [latencyFigure, ...usageFigures] },
    ],
    queries: d.queries,
    scope: d.kind === 'batch' ? `batch ${d.batchId}` : 'every run in the folder',
    ...meta,
  };
}

/**
 * The batch's (or folder's) verdict, by the one definition of src/report/outcome.ts: a batch is
 * counted from report_batches (decided chunks by verdict, undecided ones, its latest session's
 * ending), every run from report_totals' verdict counts.
 */
function manyBanner(d: ManyReportData): Banner {
  const t = d.totals;
  const n = (row: Row | undefined, k: string) => num(row?.[k]) ?? 0;
  const details: string[] = [];
  let verdict;
  if (d.kind === 'batch') {
    const b = d.batches[0];
    const counts = { chunks: n(b, 'chunks'), consensus: n(b, 'consensus'), degraded: n(b, 'degraded'), noClaims: n(b, 'no_claims'), quorumLost: n(b, 'quorum_lost') };
    // No batch events (a log written by hand, events lost): count what the run lines decided.
    if (!b) {
      const by = (v: string) => d.conclusions.filter((c) => c.verdict === v).length;
      Object.assign(counts, { chunks: d.conclusions.length, consensus: by('consensus'), degraded: by('degraded'), noClaims: by('no_claims'), quorumLost: by('quorum_lost') });
    }
    const outcome = b ? str(b.outcome) : null;
    verdict = batchVerdict(counts, { end: outcome === 'completed' || outcome === 'interrupted' || outcome === 'stopped' ? outcome : 'running' });
    details.push(verdict.counts);
    details.push(outcome ? `Latest session: ${outcome}.` : 'The latest session has not ended: it is running, or was killed; quorum batch … --resume finishes it.');
  } else {
    const counts = { chunks: 0, consensus: n(t, 'verdict_consensus'), degraded: n(t, 'verdict_degraded'), noClaims: n(t, 'verdict_no_claims'), quorumLost: n(t, 'verdict_quorum_lost') };
    counts.chunks = decidedChunks(counts) + n(t, 'without_result');
    verdict = batchVerdict(counts, { end: null, unit: 'run' });
    details.push(verdict.counts);
  }
  if (n(t, 'failed_calls')) details.push(`${n(t, 'failed_calls')} of ${n(t, 'calls')} calls failed.`);
  const status = verdict.status === 'NO CHUNKS' ? 'NO RUNS' : verdict.status;
  const headline = verdict.status === 'NO CHUNKS' ? `No run recorded in this ${d.kind === 'batch' ? 'batch' : 'folder'} yet.` : verdict.headline;
  return { tone: verdict.tone, status, headline, details };
}

/** Per source file, collapsible: the chunks (or runs) shown in full before the rest is only counted. */
const MAX_CONCLUSIONS_PER_FILE = 40;
/** In all: past this, a file lists no more chunks, so 10,000 chunks stay a page a browser opens at once. */
const MAX_CONCLUSIONS = 400;
/** Files whose list starts open (more would make the page a wall of claims). */
const OPEN_FILES = 3;

/**
 * What every chunk (or run) concluded, grouped by source file, each file and each chunk a
 * `<details>` (no script). Past the caps, each file says how many of its chunks are not inlined
 * and where they all are: summary.md and `quorum sql report_conclusions`.
 */
function conclusionsSection(d: ManyReportData, what: 'chunk' | 'run'): Section {
  const groups = new Map<string, Row[]>();
  for (const c of d.conclusions) {
    const key = str(c.source) ?? '';
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const elsewhere = html`${d.summaryFile ? html`<code>${d.summaryFile}</code> and ` : ''}<code>quorum sql report_conclusions</code>`;
  let budget = MAX_CONCLUSIONS;
  let omittedTotal = 0;
  const files = [...groups].map(([source, rows], i) => {
    const shown = rows.slice(0, Math.max(0, Math.min(MAX_CONCLUSIONS_PER_FILE, budget)));
    budget -= shown.length;
    const omitted = rows.length - shown.length;
    omittedTotal += omitted;
    const tally = CHUNK_VERDICTS.map((v) => [v, rows.filter((r) => r.verdict === v).length] as const).filter(([, k]) => k > 0);
    return html`<details class="source"${i < OPEN_FILES ? html` open` : ''}>
<summary><span class="file">${source || '(no document: the question alone)'}</span> — ${rows.length} ${what}${rows.length === 1 ? '' : 's'}: ${tally.map(([v, k]) => `${k} ${VERDICT_WORDS[v]}`).join(', ')}</summary>
<ol class="chunks">${shown.map((r) => conclusionItem(r, what))}</ol>
${omitted > 0 ? html`<p class="empty">${omitted} more ${what}${omitted === 1 ? '' : 's'} of this file are not shown here; every one is in ${elsewhere}.</p>` : ''}
</details>`;
  });
  const intro = d.conclusions.length
    ? html`<p>The consensus claims of every decided ${what}, by source file${d.kind === 'batch' ? ' (a chunk redone after --resume shows its latest run)' : ''}. Open a file or a ${what} to read its claims; <code>quorum show &lt;run id&gt;</code> prints a run in full.${omittedTotal ? html` ${omittedTotal} ${what}s are counted but not inlined, to keep the page light; all are in ${elsewhere}.` : ''}</p>`
    : html`<p class="empty">No ${what} has been decided yet.</p>`;
  return { id: 'conclusions', title: `What the ${what}s concluded`, intro, figures: [], body: html`${files}` };
}

function conclusionItem(r: Row, what: 'chunk' | 'run'): SafeHtml {
  const claims = list(r.claims).map((c) => c as Record<string, SqlValue>);
  const verdict = str(r.verdict) as ChunkVerdict;
  const panel = num(r.panel);
  const name = what === 'chunk' && str(r.chunk_id) ? html`chunk <code>${str(r.chunk_id)!.slice(0, 8)}</code>` : html`run <code>${str(r.runid)}</code>`;
  const chair = str(r.synthesis_text);
  return html`<li class="chunk verdict-${verdict}"><details open>
<summary>${name} · <span class="verdict">${VERDICT_WORDS[verdict] ?? verdict}</span> · ${num(r.consensus) ?? 0} consensus, ${num(r.dissent) ?? 0} dissent${num(r.failures) ? `, ${num(r.failures)} port${num(r.failures) === 1 ? '' : 's'} failed` : ''}</summary>
${claims.length ? html`<ol class="claims">${claims.map((c, i) => html`<li><span class="label">c${i + 1}</span> <span class="claim-text">${str(c.text) ?? ''}</span> <span class="support">${num(c.support) ?? 0} of ${panel ?? '?'}</span></li>`)}</ol>` : html`<p class="empty">${verdict === 'quorum_lost' ? 'The quorum was lost: every claim is dissent.' : 'No claim reached the quorum.'}</p>`}
${chair !== null ? html`<p class="chair-by">Answer by the chair (${str(r.synthesis_model)}):</p><blockquote class="chair claim-text">${chair}</blockquote>` : ''}
<p class="meta">Run <code>${str(r.runid)}</code> · ${num(r.responders) ?? '?'} of ${panel ?? '?'} ports answered · a claim needed ${num(r.required) ?? '?'}</p>
</details></li>`;
}

// ------------------------------------------------------------------ the document

const CSS = `
:root { color-scheme: light; --fg: #111; --muted: #4a4a4a; --line: #d9d9d9; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
main, .banner-inner { max-width: 1120px; margin: 0 auto; padding: 0 16px; }
.banner { border-bottom: 6px solid; padding: 14px 0 12px; }
.banner.ok { background: #e3eef7; border-color: #0072B2; }
.banner.warn { background: #fdf0d8; border-color: #E69F00; }
.banner.bad { background: #fbe2d4; border-color: #D55E00; }
.banner.neutral { background: #ececec; border-color: #666; }
.banner .status { font-size: 22px; font-weight: 800; letter-spacing: .04em; margin: 0; }
.banner .headline { margin: 2px 0 0; font-weight: 600; }
.banner ul { margin: 6px 0 0; padding-left: 20px; }
.notice { font-weight: 600; margin: 12px 0 0; }
h1 { font-size: 20px; margin: 18px 0 8px; overflow-wrap: anywhere; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 14px; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 8px; margin: 16px 0 0; padding: 0; list-style: none; }
.tiles li { border: 1px solid var(--line); border-radius: 4px; padding: 6px 10px; }
.tiles .k { display: block; font-size: 12px; color: var(--muted); }
.tiles .v { display: block; font-size: 20px; font-weight: 700; font-variant-numeric: tabular-nums; }
.figures { display: flex; flex-wrap: wrap; gap: 12px 32px; align-items: flex-start; }
figure.chart { margin: 0; max-width: 100%; min-width: 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figure.chart figcaption { font-size: 12px; color: var(--muted); margin-top: 2px; }
figure.chart.empty p { margin: 4px 0; font-style: italic; }
details { margin-top: 4px; font-size: 13px; }
summary { cursor: pointer; color: var(--muted); }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
ol.claims { padding-left: 0; list-style: none; margin: 0; }
ol.claims li { padding: 6px 0; border-bottom: 1px solid var(--line); }
ol.claims .label { display: inline-block; min-width: 2.4em; font-weight: 700; font-variant-numeric: tabular-nums; }
.claim-text { overflow-wrap: anywhere; white-space: pre-wrap; }
ol.claims .support, ol.claims .voters { display: block; font-size: 13px; color: var(--muted); margin-left: 2.4em; }
ol.claims li.consensus .support { color: #005a8c; font-weight: 600; }
p.empty { font-style: italic; color: var(--muted); }
details.source { margin: 8px 0; font-size: 15px; border: 1px solid var(--line); border-radius: 4px; padding: 4px 10px; }
details.source > summary { color: var(--fg); font-weight: 600; overflow-wrap: anywhere; }
ol.chunks { list-style: none; padding-left: 0; margin: 4px 0; }
ol.chunks > li { border-top: 1px solid var(--line); padding: 4px 0; }
ol.chunks details { font-size: 14px; }
ol.chunks details > summary { color: var(--fg); }
ol.chunks li.verdict-consensus .verdict { color: #005a8c; font-weight: 600; }
ol.chunks li.verdict-degraded .verdict { color: #8a5a00; font-weight: 600; }
ol.chunks li.verdict-no_claims .verdict, ol.chunks li.verdict-quorum_lost .verdict { color: #a8430a; font-weight: 600; }
ol.chunks ol.claims li { padding: 2px 0; border: 0; }
ol.chunks ol.claims .support { display: inline; margin: 0; }
ol.chunks p.meta { margin: 2px 0 6px; font-size: 12px; color: var(--muted); }
blockquote.chair { margin: 4px 0 8px; padding: 4px 12px; border-left: 4px solid #0072B2; background: #f4f8fb; }
footer { max-width: 1120px; margin: 32px auto 24px; padding: 8px 16px 0; border-top: 1px solid var(--line); font-size: 12px; color: var(--muted); }
footer code { overflow-wrap: anywhere; }
@media (max-width: 560px) {
  body { font-size: 14px; }
  dl.facts { grid-template-columns: minmax(0, 1fr); }
  dl.facts dd { margin-bottom: 4px; }
  .banner .status { font-size: 19px; }
}
@media print { .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; } figure details { display: none; } }
`;

/** The page as one HTML document; `svgs` holds each figure's rendered chart by figure id. */
export function renderPage(model: PageModel, svgs: ReadonlyMap<string, RenderedFigure>): string {
  const b = model.banner;
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="quorum ${model.version}">
<title>${model.title}</title>
<style>${trustedHtml(CSS)}</style>
</head>
<body>
<header class="banner ${b.tone}" role="status" data-status="${b.status}">
<div class="banner-inner">
<p class="status">${b.status}</p>
<p class="headline">${b.headline}</p>
${b.details.length ? html`<ul>${b.details.map((x) => html`<li>${x}</li>`)}</ul>` : ''}
${model.notice ? html`<p class="notice">${model.notice}</p>` : ''}
</div>
</header>
<main>
<h1>${model.heading}</h1>
<dl class="facts">${model.facts.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
${model.tiles ? html`<ul class="tiles">${model.tiles.map(([k, v]) => html`<li><span class="k">${k}</span><span class="v">${v}</span></li>`)}</ul>` : ''}
${model.sections.map((s) => sectionHtml(s, svgs))}
</main>
<footer>
<p>Generated by quorum ${model.version} on ${model.generatedAt} from <code>${model.artifacts}</code>. This file is self-contained: it loads nothing and runs no script.</p>
<p>Every number comes from the bundled SQL, the same files <code>quorum sql &lt;name&gt;</code> runs (<code>quorum sql --list</code>): ${model.queries.map((q, i) => html`${i ? ', ' : ''}<code>${q}</code>`)}${model.scope === 'every run in the folder' ? '.' : html`; restricted to ${model.scope} by reading each view's rows of that scope only.`}</p>
</footer>
</body>
</html>
`;
  return doc.value;
}

function sectionHtml(s: Section, svgs: ReadonlyMap<string, RenderedFigure>): SafeHtml {
  return html`<section id="${s.id}">
<h2>${s.title}</h2>
${s.intro ?? ''}
<div class="figures">${s.figures.map((f) => figureHtml(f, svgs.get(f.id)))}</div>
${s.body ?? ''}
</section>
`;
}

function figureHtml(f: Figure, rendered: RenderedFigure | undefined): SafeHtml {
  const caption = html`<figcaption>Numbers: ${f.sources.map((q, i) => html`${i ? ', ' : ''}<code>quorum sql ${q}</code>`)}</figcaption>`;
  const table = f.table ? html`<details><summary>Data (${f.table.rows.length + (f.table.omitted ?? 0)} rows)</summary>${tableHtml(f.table)}</details>` : '';
  if (!rendered || !f.spec) {
    return html`<figure class="chart empty" data-chart="${f.id}" id="chart-${f.id}"><p>${f.empty ?? 'Nothing to show.'}</p>${caption}${table}</figure>`;
  }
  return html`<figure class="chart" data-chart="${f.id}" id="chart-${f.id}">${trustedHtml(rendered.svg)}${caption}${table}</figure>`;
}

export function tableHtml(t: Table): SafeHtml {
  const rows = t.rows.slice(0, MAX_TABLE_ROWS);
  const omitted = (t.omitted ?? 0) + t.rows.length - rows.length;
  return html`<div class="table-wrap"><table>
<thead><tr>${t.columns.map((c, i) => html`<th${t.numeric?.[i] ? html` class="num"` : ''} scope="col">${c}</th>`)}</tr></thead>
<tbody>${rows.map((r) => html`<tr>${r.map((v, i) => html`<td${t.numeric?.[i] ? html` class="num"` : ''}>${v}</td>`)}</tr>`)}</tbody>
</table></div>${omitted > 0 ? html`<p class="empty">${omitted} more rows left out; run the query with quorum sql for all of them.</p>` : ''}`;
}

// ------------------------------------------------------------------ formatting

export function formatTime(ms: number | null): string {
  if (ms === null) return '–';
  return `${new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
}

function fmtInt(v: number | null): string {
  return v === null ? '–' : Math.round(v).toLocaleString('en-US');
}

function pct(v: number | null): string {
  return v === null ? '–' : `${(v * 100).toFixed(1).replace(/\.0$/, '')}%`;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** The end of a run id (its random part), enough to tell runs apart in a label. */
function shortRun(runId: string): string {
  return runId.slice(-6);
}
