/**
 * Vega-Lite specs for the report's charts: pure functions from query rows to a spec. They only
 * reshape rows (pick fields, label ports, mirror a triangle) — every number drawn is a value a
 * bundled query returned. Colours are the Okabe–Ito palette, safe for the common forms of colour
 * blindness; where colour carries a category the chart also writes it as text or a glyph.
 */
import type { TopLevelSpec } from 'vega-lite';
import { FAILURE_KINDS } from '../types.js';

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/** Okabe & Ito (2008), "Color Universal Design". */
export const OKABE_ITO = {
  orange: '#E69F00',
  sky: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  black: '#000000',
  grey: '#999999',
} as const;

export const STATUS_COLORS: Record<string, string> = {
  consensus: OKABE_ITO.blue,
  degraded: OKABE_ITO.orange,
  quorum_lost: OKABE_ITO.vermillion,
  failed: OKABE_ITO.black,
  interrupted: OKABE_ITO.purple,
  unfinished: OKABE_ITO.grey,
};
const STATUS_SHAPES: Record<string, string> = {
  consensus: 'circle',
  degraded: 'diamond',
  quorum_lost: 'cross',
  failed: 'square',
  interrupted: 'triangle-up',
  unfinished: 'triangle-down',
};

/** A call's outcome: answered, or the failure kind. */
export const OUTCOME_COLORS: Record<string, string> = {
  answered: OKABE_ITO.blue,
  timeout: OKABE_ITO.vermillion,
  rate_limited: OKABE_ITO.orange,
  http: OKABE_ITO.purple,
  network: OKABE_ITO.sky,
  malformed: OKABE_ITO.green,
  empty: OKABE_ITO.yellow,
  auth: OKABE_ITO.black,
  cancelled: OKABE_ITO.grey,
  unknown: '#666666',
};
const OUTCOME_ORDER = ['answered', ...FAILURE_KINDS, 'unknown'];

export const VERDICTS = ['agree', 'disagree', 'unsure', 'failed', 'silent'] as const;
export type Verdict = (typeof VERDICTS)[number];
const VERDICT_COLORS: Record<Verdict, string> = {
  agree: OKABE_ITO.blue,
  disagree: OKABE_ITO.vermillion,
  unsure: OKABE_ITO.yellow,
  failed: OKABE_ITO.black,
  silent: '#E8E8E8',
};
/** Written in each cell, so the matrix reads without colour. */
export const VERDICT_GLYPHS: Record<Verdict, string> = { agree: '+', disagree: '−', unsure: '?', failed: '!', silent: '·' };

const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  view: { stroke: null },
  title: { anchor: 'start', fontSize: 14, subtitleFontSize: 11, subtitleColor: '#444', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, labelColor: '#222', titleColor: '#111', gridColor: '#e6e6e6', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom', direction: 'horizontal', columns: 4, symbolStrokeWidth: 0, symbolOpacity: 1 },
  range: { category: Object.values(OKABE_ITO) },
} as const;

/**
 * A left axis whose title sits above its labels, right-aligned to the axis line: the labels are
 * long (claims, models), and Vega can only estimate text widths without a canvas, so a title
 * beside them could overlap them in a browser.
 */
function topTitledAxis(extra: Record<string, unknown> = {}) {
  return { titleAngle: 0, titleAlign: 'right', titleBaseline: 'bottom', titleX: -4, titleY: -6, ...extra } as const;
}

/** What every chart of the report carries: a title, a subtitle and an accessible description. */
function base(title: string, subtitle: string, description: string) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    description,
    config: CONFIG,
  };
}

/** Colour scale over the categories present, in canonical order, so the legend lists only those. */
function presentScale(present: Iterable<string>, order: readonly string[], colors: Record<string, string>) {
  const have = new Set(present);
  const domain = [...order.filter((o) => have.has(o)), ...[...have].filter((h) => !order.includes(h)).sort()];
  return { domain, range: domain.map((d) => colors[d] ?? '#666666') };
}

/** `text` cut to `max` characters (for axis labels; the full text is in the page). */
export function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
}

export function portLabel(port: number, model?: string | null): string {
  return model ? `${port} · ${shorten(model, 32)}` : `port ${port}`;
}

// ---------------------------------------------------------------- one run

export interface SupportClaim {
  label: string;
  text: string;
  kind: 'consensus' | 'dissent';
  support: number;
}

/** Support per claim: k of N ports, with the votes the claim needed marked. */
export function supportChart(claims: readonly SupportClaim[], panel: number, required: number | null): TopLevelSpec {
  // The axis names a claim by its id only: cut texts read alike. The full texts are in the
  // claim lists and the figure's table, beside the same ids.
  const names = claims.map((c) => c.label);
  const values = claims.map((c, i) => ({ name: names[i], kind: c.kind, support: c.support, text: `${c.support} of ${panel}` }));
  const y = { field: 'name', type: 'nominal', sort: names, title: 'Claim', axis: topTitledAxis({ labelLimit: 80 }) } as const;
  const layers: object[] = [
    {
      mark: { type: 'bar', height: { band: 0.8 } },
      encoding: {
        y,
        x: { field: 'support', type: 'quantitative', scale: { domain: [0, panel] }, axis: { tickMinStep: 1, format: 'd' }, title: `Ports behind the claim (of ${panel})` },
        color: { field: 'kind', type: 'nominal', scale: presentScale(claims.map((c) => c.kind), ['consensus', 'dissent'], { consensus: OKABE_ITO.blue, dissent: OKABE_ITO.orange }), title: 'Claim' },
      },
    },
    { mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 }, encoding: { y, x: { field: 'support', type: 'quantitative' }, text: { field: 'text' } } },
  ];
  if (required !== null) {
    layers.push(
      { data: { values: [{ required }] }, mark: { type: 'rule', strokeDash: [5, 3], color: OKABE_ITO.black, strokeWidth: 1.5 }, encoding: { x: { field: 'required', type: 'quantitative' } } },
      {
        data: { values: [{ required, label: `needs ${required}` }] },
        mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 3, dy: -2, fontSize: 11, fontWeight: 'bold' },
        encoding: { x: { field: 'required', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
      },
    );
  }
  return {
    ...base('Support per claim', `Ports behind each claim, of the panel's ${panel}${required !== null ? `; the dashed line is the ${required} votes a claim needed` : ''}`, `Bar chart of the support of ${claims.length} claims`),
    width: 300,
    height: { step: 20 },
    data: { values },
    layer: layers,
  } as TopLevelSpec;
}

export interface VoteCell {
  label: string;
  port: number;
  verdict: Verdict;
  detail: string | null;
}

/** The port × claim vote matrix as a heat map, with a glyph per cell. */
export function voteMatrixChart(cells: readonly VoteCell[], claimOrder: readonly string[], panel: number, twoRounds: boolean): TopLevelSpec {
  const ports = Array.from({ length: panel }, (_, p) => String(p));
  const values = cells.map((c) => ({ claim: c.label, port: String(c.port), verdict: c.verdict, glyph: VERDICT_GLYPHS[c.verdict] }));
  const scale = presentScale(cells.map((c) => c.verdict), VERDICTS, VERDICT_COLORS);
  return {
    ...base(
      'Votes per port',
      twoRounds ? 'How each port voted on each claim (+ agree, − disagree, ? unsure, ! failed or no usable ballot)' : 'One round: + the port makes the claim, · it answered without it, ! its call failed',
      `Heat map of ${panel} ports by ${claimOrder.length} claims`,
    ),
    width: { step: 30 },
    height: { step: 22 },
    data: { values },
    encoding: {
      x: { field: 'port', type: 'ordinal', sort: ports, scale: { domain: ports }, title: 'Port', axis: { orient: 'top', labelAngle: 0 } },
      y: { field: 'claim', type: 'ordinal', sort: [...claimOrder], title: 'Claim' },
    },
    layer: [
      { mark: { type: 'rect', stroke: 'white', strokeWidth: 1.5 }, encoding: { color: { field: 'verdict', type: 'nominal', scale, title: 'Verdict' } } },
      {
        mark: { type: 'text', fontSize: 13, fontWeight: 'bold' },
        encoding: {
          text: { field: 'glyph' },
          color: { condition: { test: "datum.verdict === 'agree' || datum.verdict === 'disagree' || datum.verdict === 'failed'", value: 'white' }, value: 'black' },
        },
      },
    ],
  } as TopLevelSpec;
}

export interface AgreementCell {
  a: number;
  b: number;
  agreement: number | null;
}

/** Port × port agreement (Jaccard) as a heat map; cells with no value (a port with no answer) are grey. */
export function agreementChart(cells: readonly AgreementCell[], ports: readonly number[], subtitle: string): TopLevelSpec {
  const order = ports.map(String);
  const values = cells.map((c) => ({
    a: String(c.a),
    b: String(c.b),
    agreement: c.agreement,
    text: c.agreement === null ? '–' : c.agreement.toFixed(2).replace(/^0\./, '.'),
  }));
  const axis = (title: string) => ({ type: 'ordinal', sort: order, scale: { domain: order }, title, axis: { labelAngle: 0 } }) as const;
  return {
    ...base('Agreement between ports', subtitle, `Heat map of agreement between ${ports.length} ports`),
    width: { step: 34 },
    height: { step: 30 },
    data: { values },
    encoding: { x: { field: 'b', ...axis('Port') }, y: { field: 'a', ...axis('Port') } },
    layer: [
      {
        transform: [{ filter: 'datum.agreement != null' }],
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: { color: { field: 'agreement', type: 'quantitative', scale: { domain: [0, 1], scheme: 'viridis' }, title: 'Agreement', legend: { format: '.0%', direction: 'horizontal', gradientLength: 160 } } },
      },
      { transform: [{ filter: 'datum.agreement == null' }], mark: { type: 'rect', stroke: 'white', strokeWidth: 1, color: '#DDDDDD' } },
      {
        mark: { type: 'text', fontSize: 10 },
        encoding: { text: { field: 'text' }, color: { condition: { test: 'datum.agreement != null && datum.agreement < 0.55', value: 'white' }, value: 'black' } },
      },
    ],
  } as TopLevelSpec;
}

export interface LatencyCall {
  port: number;
  model: string | null;
  round: number;
  outcome: string;
  latencyMs: number | null;
}

/** Latency per port and round, coloured and labelled by outcome (answered, or the failure kind). */
export function latencyChart(calls: readonly LatencyCall[], panel: number, models: ReadonlyMap<number, string> = new Map()): TopLevelSpec {
  const ports = Array.from({ length: panel }, (_, p) => portLabel(p, models.get(p)));
  const rounds = [...new Set(calls.map((c) => (c.round === 2 ? 'vote' : 'question')))];
  const values = calls.map((c) => ({
    port: portLabel(c.port, models.get(c.port)),
    round: c.round === 2 ? 'vote' : 'question',
    outcome: c.outcome,
    latency: c.latencyMs ?? 0,
    text: `${c.round === 2 ? 'vote' : 'question'}: ${c.outcome === 'answered' ? '' : `${c.outcome}, `}${formatMs(c.latencyMs)}`,
  }));
  const y = { field: 'port', type: 'nominal', sort: ports, scale: { domain: ports }, title: 'Port · model', axis: topTitledAxis({ labelLimit: 220 }) } as const;
  const yOffset = { field: 'round', type: 'nominal', sort: ['question', 'vote'], scale: { domain: rounds.sort() } } as const;
  return {
    ...base('Latency per port', `Wall time of each call, retries included${rounds.length > 1 ? '; upper bar the question, lower the vote' : ''}; failed calls are labelled with their kind`, `Bar chart of ${calls.length} calls' latency`),
    width: 320,
    height: { step: 13, for: 'offset' },
    data: { values },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          y,
          yOffset,
          x: { field: 'latency', type: 'quantitative', title: 'Latency (ms)' },
          color: { field: 'outcome', type: 'nominal', scale: presentScale(calls.map((c) => c.outcome), OUTCOME_ORDER, OUTCOME_COLORS), title: 'Outcome' },
        },
      },
      { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { y, yOffset, x: { field: 'latency', type: 'quantitative' }, text: { field: 'text' } } },
    ],
  } as TopLevelSpec;
}

export interface UsageBar {
  label: string;
  inputTokens: number | null;
  outputTokens: number | null;
  cost: number | null;
}

/** Input and output tokens per port (or model), stacked. */
export function tokensChart(rows: readonly UsageBar[], title: string): TopLevelSpec {
  const order = rows.map((r) => r.label);
  const values = rows.flatMap((r) => [
    { label: r.label, part: 'input', tokens: r.inputTokens ?? 0 },
    { label: r.label, part: 'output', tokens: r.outputTokens ?? 0 },
  ]);
  return {
    ...base(title, 'Input and output tokens the provider reported, both rounds (failed calls report none)', `Stacked bar chart of tokens for ${rows.length} entries`),
    width: 260,
    height: { step: 18 },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: order, title: 'Port · model', axis: topTitledAxis({ labelLimit: 200 }) },
      x: { field: 'tokens', type: 'quantitative', title: 'Tokens', stack: 'zero', axis: { format: '~s' } },
      color: { field: 'part', type: 'nominal', scale: { domain: ['input', 'output'], range: [OKABE_ITO.sky, OKABE_ITO.blue] }, title: 'Tokens' },
      order: { field: 'part', type: 'nominal', sort: 'ascending' },
    },
  } as TopLevelSpec;
}

/** Provider-reported cost per port (or model). */
export function costChart(rows: readonly UsageBar[], title: string): TopLevelSpec {
  const order = rows.map((r) => r.label);
  const values = rows.map((r) => ({ label: r.label, cost: r.cost ?? 0, text: r.cost === null ? 'not reported' : formatCost(r.cost) }));
  const y = { field: 'label', type: 'nominal', sort: order, title: 'Port · model', axis: topTitledAxis({ labelLimit: 200 }) } as const;
  return {
    ...base(title, 'Cost the provider reported (OpenRouter credits, USD), both rounds', `Bar chart of cost for ${rows.length} entries`),
    width: 240,
    height: { step: 18 },
    data: { values },
    layer: [
      { mark: { type: 'bar', color: OKABE_ITO.green }, encoding: { y, x: { field: 'cost', type: 'quantitative', title: 'Cost (USD)', axis: { format: '~g' } } } },
      { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { y, x: { field: 'cost', type: 'quantitative' }, text: { field: 'text' } } },
    ],
  } as TopLevelSpec;
}

// ---------------------------------------------------------------- a batch, or everything

export interface RatePoint {
  index: number;
  label: string;
  status: string;
  rate: number | null;
}

/** Consensus rate (consensus ÷ all claims) of each chunk (or run), in run order, shaped by status. */
export function consensusRateChart(points: readonly RatePoint[], what: 'chunk' | 'run'): TopLevelSpec {
  const values = points.map((p) => ({ index: p.index, label: p.label, status: p.status, rate: p.rate }));
  const scale = presentScale(points.map((p) => p.status), Object.keys(STATUS_COLORS), STATUS_COLORS);
  const x = { field: 'index', type: 'quantitative' as const, title: what === 'chunk' ? 'Chunk (in run order)' : 'Run (in start order)', axis: { tickMinStep: 1, format: 'd' }, scale: { domain: [0.5, Math.max(1, points.length) + 0.5] } };
  return {
    ...base('Consensus rate per ' + what, 'Share of each ' + what + "'s claims that reached the quorum; the shape and colour give its status", `Line chart of the consensus rate of ${points.length} ${what}s`),
    width: 520,
    height: 200,
    data: { values },
    layer: [
      { transform: [{ filter: 'datum.rate != null' }], mark: { type: 'line', color: '#BBBBBB', strokeWidth: 1 }, encoding: { x, y: { field: 'rate', type: 'quantitative' } } },
      {
        transform: [{ filter: 'datum.rate != null' }],
        mark: { type: 'point', filled: true, size: 90, opacity: 1 },
        encoding: {
          x,
          y: { field: 'rate', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%' }, title: 'Consensus rate' },
          color: { field: 'status', type: 'nominal', scale, title: 'Status' },
          shape: { field: 'status', type: 'nominal', scale: { domain: scale.domain, range: scale.domain.map((d) => STATUS_SHAPES[d] ?? 'circle') }, title: 'Status' },
        },
      },
    ],
  } as TopLevelSpec;
}

export interface SlowChunk {
  label: string;
  durationMs: number;
  round1Ms: number | null;
  voteMs: number | null;
  gatherMs: number | null;
  slowest: string | null;
}

/** The slowest chunks, longest first, split into their phases. */
export function slowestChart(chunks: readonly SlowChunk[], what: 'chunk' | 'run' = 'chunk'): TopLevelSpec {
  const order = chunks.map((c) => c.label);
  const phases = chunks.flatMap((c) =>
    ([['question round', c.round1Ms], ['vote round', c.voteMs], ['gather', c.gatherMs]] as const)
      .map(([phase, ms], step) => ({ label: c.label, phase, ms, step }))
      .filter((p) => p.ms !== null),
  );
  const totals = chunks.map((c) => ({ label: c.label, ms: c.durationMs, text: `${formatMs(c.durationMs)}${c.slowest ? ` · waited for ${c.slowest}` : ''}` }));
  const y = { field: 'label', type: 'nominal', sort: order, title: what === 'chunk' ? 'Chunk · run' : 'Run (or chunk · run)', axis: topTitledAxis({ labelLimit: 220 }) } as const;
  const present = new Set(phases.map((p) => p.phase));
  const domain = ['question round', 'vote round', 'gather'].filter((p) => present.has(p as (typeof phases)[number]['phase']));
  const colors: Record<string, string> = { 'question round': OKABE_ITO.blue, 'vote round': OKABE_ITO.orange, gather: OKABE_ITO.green };
  return {
    ...base(`Slowest ${what}s`, 'Wall time of the slowest runs, split into their phases, with the port each waited for', `Stacked bar chart of the ${chunks.length} slowest ${what}s`),
    width: 360,
    height: { step: 20 },
    layer: [
      {
        data: { values: phases },
        mark: { type: 'bar' },
        encoding: {
          y,
          x: { field: 'ms', type: 'quantitative', stack: 'zero', title: 'Time (ms)' },
          color: { field: 'phase', type: 'nominal', scale: { domain, range: domain.map((d) => colors[d]!) }, title: 'Phase' },
          order: { field: 'step', type: 'quantitative', sort: 'ascending' },
        },
      },
      { data: { values: totals }, mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 }, encoding: { y, x: { field: 'ms', type: 'quantitative' }, text: { field: 'text' } } },
    ],
  } as TopLevelSpec;
}

export interface FailureSlice {
  model: string;
  startMs: number;
  endMs: number;
  kind: string;
  failures: number;
}

/** Failed calls per model over time, stacked by failure kind, one row per model. */
export function failuresOverTimeChart(slices: readonly FailureSlice[]): TopLevelSpec {
  const models = [...new Set(slices.map((s) => s.model))].sort();
  const values = slices.map((s) => ({ model: s.model, start: s.startMs, end: s.endMs, kind: s.kind, failures: s.failures }));
  const span = slices.length ? Math.max(...slices.map((s) => s.endMs)) - Math.min(...slices.map((s) => s.startMs)) : 0;
  const format = span < 120_000 ? '%H:%M:%S' : span < 2 * 86_400_000 ? '%H:%M' : '%b %d %H:%M';
  const scale = presentScale(slices.map((s) => s.kind), OUTCOME_ORDER, OUTCOME_COLORS);
  return {
    ...base('Failures per model over time', 'Failed calls in each slice of the time the calls span, stacked by failure kind', `Stacked bar charts of failed calls over time for ${models.length} models`),
    data: { values },
    // Stacks the kinds of one model and slice on top of each other (layout only: y0..y1 add up the query's counts).
    transform: [{ stack: 'failures', groupby: ['model', 'start'], sort: [{ field: 'kind', order: 'ascending' }], as: ['y0', 'y1'] }],
    facet: { row: { field: 'model', type: 'nominal', sort: models, title: null, header: { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontSize: 11, labelFontWeight: 'bold' } } },
    spec: {
      width: 480,
      height: 50,
      mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
      encoding: {
        x: { field: 'start', type: 'temporal', scale: { type: 'utc' }, title: 'Time (UTC)', axis: { format, labelOverlap: true, tickCount: 5 } },
        x2: { field: 'end' },
        y: { field: 'y1', type: 'quantitative', title: 'Failed', scale: { zero: true }, axis: { tickMinStep: 1, format: 'd', tickCount: 3 } },
        y2: { field: 'y0' },
        color: { field: 'kind', type: 'nominal', scale, title: 'Failure kind' },
      },
    },
    resolve: { scale: { x: 'shared', y: 'shared' } },
  } as TopLevelSpec;
}

export interface LonePort {
  label: string;
  lone: number;
  claims: number;
  share: number | null;
}

/** Claims each port alone stood behind. */
export function loneDissentersChart(ports: readonly LonePort[]): TopLevelSpec {
  const order = ports.map((p) => p.label);
  const values = ports.map((p) => ({ label: p.label, lone: p.lone, text: `${p.lone} of ${p.claims}${p.share === null ? '' : ` (${Math.round(p.share * 100)}%)`}` }));
  const y = { field: 'label', type: 'nominal', sort: order, title: 'Port · model', axis: topTitledAxis({ labelLimit: 220 }) } as const;
  return {
    ...base('Lone claims per port', 'Claims only this port stood behind, of all the claims it made (a hallucination smell)', `Bar chart of lone claims for ${ports.length} ports`),
    width: 300,
    height: { step: 20 },
    data: { values },
    layer: [
      { mark: { type: 'bar', color: OKABE_ITO.orange }, encoding: { y, x: { field: 'lone', type: 'quantitative', title: 'Lone claims', axis: { tickMinStep: 1, format: 'd' } } } },
      { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { y, x: { field: 'lone', type: 'quantitative' }, text: { field: 'text' } } },
    ],
  } as TopLevelSpec;
}

export interface ModelLatency {
  label: string;
  p50: number;
  p95: number;
}

/** Median and 95th-percentile latency per model. */
export function modelLatencyChart(rows: readonly ModelLatency[]): TopLevelSpec {
  const order = rows.map((r) => r.label);
  const y = { field: 'label', type: 'nominal', sort: order, title: 'Port · model', axis: topTitledAxis({ labelLimit: 220 }) } as const;
  const color = (d: string) => ({ datum: d, type: 'nominal', scale: { domain: ['median (p50)', '95th percentile'], range: [OKABE_ITO.blue, OKABE_ITO.vermillion] }, title: 'Latency' }) as const;
  return {
    ...base('Latency per model', 'Answered calls, both rounds: the bar is the median, the tick the 95th percentile', `Bar chart of latency for ${rows.length} models`),
    width: 300,
    height: { step: 20 },
    data: { values: rows.map((r) => ({ label: r.label, p50: r.p50, p95: r.p95 })) },
    layer: [
      { mark: { type: 'bar' }, encoding: { y, x: { field: 'p50', type: 'quantitative', title: 'Latency (ms)' }, color: color('median (p50)') } },
      { mark: { type: 'tick', thickness: 3, size: 16 }, encoding: { y, x: { field: 'p95', type: 'quantitative' }, color: color('95th percentile') } },
    ],
  } as TopLevelSpec;
}

// ---------------------------------------------------------------- formatting shared with the page

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

export function formatCost(cost: number | null | undefined): string {
  if (cost === null || cost === undefined) return '–';
  if (cost === 0) return '$0';
  return `$${cost < 0.01 ? Number(cost.toPrecision(3)).toString() : cost.toFixed(4).replace(/0+$/, '').replace(/\.$/, '')}`;
}
