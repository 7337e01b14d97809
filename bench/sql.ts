/**
 * `quorum sql` performance: every bundled query over an artifacts folder holding 1,000,000
 * generated CloudEvents and the run log those runs would leave (runs.jsonl, answers.jsonl,
 * batches.jsonl, spans, blackboard signals; docs/CONTRACTS.md, "The run log"), timed with
 * views.sql's explicit `columns` and with DuckDB's auto-detection. Goal: ≤ 2 s per query on this
 * 2-core machine.
 *
 * Run by `npm run bench` (bench/run.ts); `npx tsx bench/sql.ts` runs it alone and prints the
 * table without writing BENCHMARKS.md (`--write` to write its section too).
 *   QUORUM_BENCH_SQL_EVENTS   events to generate (default 1000000)
 *   QUORUM_BENCH_REPS         timed runs per query and mode (default 3; the median is reported)
 *   QUORUM_BENCH_SQL_QUERIES  comma-separated bundled query names to time (default: every one)
 *   QUORUM_BENCH_SQL_AUTO     0 skips the auto-detect timings (a quicker look; default 1)
 *   QUORUM_BENCH_SQL_DIR      where the generated artifacts are kept (default: a folder in the
 *                             OS temp dir, reused while the generator version and size match)
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { QuorumEvent } from '../src/events.js';
import type { BlackboardSignal } from '../src/sinks/blackboard.js';
import type { Candidate } from '../src/claims/candidates.js';
import { type AnswerLine, type BatchLine, LOG_FILES, type RunLine } from '../src/runlog/lines.js';
import { ArtifactsDb, type OpenArtifactsOptions } from '../src/sql/artifactsDb.js';
import { scopedSql, scopeVariables } from '../src/report/scope.js';
import { listQueries } from '../src/sql/catalog.js';
import type { SpanLine } from '../src/tracing/jsonlSpanExporter.js';
import type { ClaimRecord, ConsensusDocument, FailureKind, FailureRecord } from '../src/types.js';
import { type BenchContext, type BenchReport, machineInfo, machineLine, max, mdTable, median, min, textTable, writeSection } from './harness.js';

const EVENTS = Number(process.env.QUORUM_BENCH_SQL_EVENTS ?? 1_000_000);
const REPS = Number(process.env.QUORUM_BENCH_REPS ?? 3);
const GOAL_MS = 2000;
/** Bump when the generated shapes change, so a cached folder is regenerated. */
const GENERATOR_VERSION = 3;

// ---------------------------------------------------------------- generator

/** Deterministic PRNG (mulberry32): the same folder every time for a given size. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PANEL = [
  'meta-llama/llama-3.3-70b-instruct:free',
  'deepseek/deepseek-chat-v3-0324:free',
  'google/gemma-3-27b-it:free',
  'mistralai/mistral-small-3.2-24b-instruct:free',
  'qwen/qwen3-235b-a22b:free',
  'moonshotai/kimi-k2:free',
  'z-ai/glm-4.5-air:free',
  'openai/gpt-oss-20b:free',
].map((model, port) => ({ port, model, family: model.split('/')[0]! }));

/** Per port: typical latency (ms) and how it fails. */
const PROFILE: { ms: number; fail: number; kinds: FailureKind[]; lone: number }[] = [
  { ms: 900, fail: 0.01, kinds: ['http'], lone: 0.3 },
  { ms: 2600, fail: 0.03, kinds: ['timeout', 'rate_limited'], lone: 0.4 },
  { ms: 1200, fail: 0.02, kinds: ['http', 'network'], lone: 0.3 },
  { ms: 700, fail: 0.01, kinds: ['malformed'], lone: 1.2 },
  { ms: 3400, fail: 0.06, kinds: ['timeout', 'cancelled'], lone: 0.5 },
  { ms: 1800, fail: 0.1, kinds: ['rate_limited', 'http', 'auth'], lone: 0.4 },
  { ms: 1500, fail: 0.04, kinds: ['empty', 'timeout'], lone: 0.6 },
  { ms: 600, fail: 0.02, kinds: ['cancelled'], lone: 0.3 },
];

const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

class LineWriter {
  private readonly fd: number;
  private buf: string[] = [];
  private size = 0;
  lines = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  write(value: unknown): void {
    const line = `${JSON.stringify(value)}\n`;
    this.buf.push(line);
    this.size += line.length;
    this.lines++;
    if (this.size > 1 << 22) this.flush();
  }
  flush(): void {
    if (this.buf.length) writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export interface GeneratedArtifacts {
  dir: string;
  events: number;
  spans: number;
  runs: number;
  /** Decided runs: lines of runs.jsonl. */
  runLines: number;
  answers: number;
  bytes: { events: number; spans: number; runs: number; answers: number };
  generatedMs: number;
}

/**
 * Writes an artifacts folder with at least `events` CloudEvents, in the shapes quorum writes
 * and run-log lines (typed with the same interfaces the recorder uses): runs of the built-in
 * eight-model panel, 60 % with a vote round, half of them batch chunks, with per-port latencies,
 * failures and lone claims. No per-run files: batch runs write none, and SQL reads only the logs.
 * Reuses `dir` when it already holds this generator version's output for this size.
 */
export function generateArtifacts(dir: string, events: number): GeneratedArtifacts {
  const marker = join(dir, '.generated.json');
  if (existsSync(marker)) {
    const info = JSON.parse(readFileSync(marker, 'utf8')) as GeneratedArtifacts & { version: number; target: number };
    if (info.version === GENERATOR_VERSION && info.target === events) return info;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const r = rng(42);
  const ev = new LineWriter(join(dir, LOG_FILES.events));
  const sp = new LineWriter(join(dir, LOG_FILES.spans));
  const bb = new LineWriter(join(dir, LOG_FILES.blackboard));
  const rl = new LineWriter(join(dir, LOG_FILES.runs));
  const an = new LineWriter(join(dir, LOG_FILES.answers));
  const bl = new LineWriter(join(dir, LOG_FILES.batches));
  let runs = 0;
  // Answers are as long as the events' `chars` say; one long text sliced, so generating them is cheap.
  const PROSE = 'The specification defines a message format, a handshake and a set of error codes. '.repeat(40);
  let clock = Date.UTC(2025, 0, 1);
  const iso = (ms: number) => new Date(ms).toISOString();
  const nanoIso = (ms: number) => `${new Date(Math.floor(ms)).toISOString().slice(0, -1)}${String(Math.round((ms % 1) * 1e6)).padStart(6, '0')}Z`;

  // Batch chunks come in batches of BATCH_SIZE: quorum.batch.started before the first, .completed after the last.
  const BATCH_SIZE = 50;
  let batchId: string | undefined;
  let batchChunks = 0;
  let batchStartedAt = 0;
  const batchEvent = (type: 'quorum.batch.started' | 'quorum.batch.completed', at: number) => {
    const data = type === 'quorum.batch.started'
      ? { query: 'What are the key concepts in these specs?', files: 10, chunks: BATCH_SIZE, resumed: false, alreadyDone: 0, concurrency: 2, quorum: 6, rounds: 2 }
      : { outcome: 'completed', chunks: batchChunks, consensus: batchChunks, degraded: 0, quorumLost: 0, failed: 0, skippedFiles: 0, alreadyDone: 0, calls: batchChunks * 12, inputTokens: batchChunks * 9000, outputTokens: batchChunks * 2500, cost: 0, wallMs: at - batchStartedAt };
    ev.write({ specversion: '1.0', id: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`, source: '/quorum/run', type, time: iso(at), datacontenttype: 'application/json', runid: batchId, batchid: batchId, traceparent: `00-${hex(r, 32)}-${hex(r, 16)}-01`, data });
    const line: BatchLine = type === 'quorum.batch.started'
      ? { type: 'started', batchId: batchId!, key: hex(r, 16), identity: { query: 'What are the key concepts in these specs?', files: ['specs'], chunkTokens: 1500, overlapTokens: 0, panel: PANEL.map(({ port, model }) => ({ port, model })), quorum: 6, rounds: 2 }, startedAt: iso(at), at: iso(at), resumed: false, chunks: BATCH_SIZE }
      : { type: 'ended', batchId: batchId!, outcome: 'completed', chunks: batchChunks, at: iso(at) };
    bl.write(line);
  };
  let previousRun: string | undefined;

  while (ev.lines < events) {
    runs++;
    // The first run shows every optional field (chunk, failures of both rounds, the chair, a
    // replay and a superseded run right after it), so DuckDB's auto-detection, which samples
    // the first lines and files, sees the whole schema; later ones are random.
    const first = runs === 1;
    const runId = `${iso(clock).replace(/[-:]/g, '').slice(0, 15)}Z-${hex(r, 6)}`;
    const traceId = hex(r, 32);
    const rounds: 1 | 2 = first || r() < 0.6 ? 2 : 1;
    const batch = first || r() < 0.5;
    const chunk = batch ? { source: `specs/doc${Math.floor(r() * 500)}.md`, id: hex(r, 12) } : null;
    const start = clock;
    clock += 20_000 + Math.floor(r() * 40_000);
    if (batch && !batchId) {
      batchId = `${iso(start - 1).replace(/[-:]/g, '').slice(0, 15)}Z-${hex(r, 6)}`;
      batchChunks = 0;
      batchStartedAt = start - 1;
      batchEvent('quorum.batch.started', start - 1);
    }
    const inBatch = batch ? batchId : undefined;
    const synthesize = first || r() < 0.05;
    const supersedes = !first && previousRun && r() < 0.01 ? [previousRun] : undefined;
    const span = (name: string, parent: string | null, startMs: number, endMs: number, attributes: SpanLine['attributes'] = {}, error?: string): string => {
      const spanId = hex(r, 16);
      const line: SpanLine = {
        traceId,
        spanId,
        parentSpanId: parent,
        name,
        kind: name === 'query_model' ? 'CLIENT' : 'INTERNAL',
        startTime: nanoIso(startMs),
        endTime: nanoIso(endMs),
        durationMs: endMs - startMs,
        status: { code: error ? 'ERROR' : name === 'query_model' ? 'OK' : 'UNSET', message: error ?? null },
        attributes: error ? { ...attributes, 'error.type': error } : attributes,
        events: name === 'query_model' && !error ? [{ name: 'gen_ai.first_token', time: nanoIso(endMs - 50), attributes: {} }] : [],
        resource: { 'service.name': 'quorum' },
        scope: 'quorum',
      };
      sp.write(line);
      return spanId;
    };
    const rootId = hex(r, 16);
    const tp = (spanId: string) => `00-${traceId}-${spanId}-01`;
    const base = { specversion: '1.0' as const, datacontenttype: 'application/json' as const, runid: runId, ...(chunk && { chunkid: chunk.id }), ...(inBatch && { batchid: inBatch }) };
    const emit = (e: Omit<QuorumEvent, 'specversion' | 'datacontenttype' | 'runid' | 'id'>) => ev.write({ ...base, id: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`, ...e });

    emit({
      source: '/quorum/run',
      type: 'quorum.run.started',
      time: iso(start),
      traceparent: tp(rootId),
      data: {
        query: 'What are the key concepts in these specs?',
        panel: { source: 'built-in', size: 8, members: PANEL },
        quorum: { configured: 6, minResponders: 5 },
        context: chunk ? { source: chunk.source, chars: 2000 + Math.floor(r() * 6000) } : null,
        sandbox: false,
        timeoutMs: 30000,
        rounds,
        ...(supersedes && { supersedes }),
      },
    } as QuorumEvent);

    // Round 1.
    const scatterId = hex(r, 16);
    const responders: number[] = [];
    const answers: AnswerLine[] = [];
    const failures: FailureRecord[] = [];
    let round1End = start;
    for (const m of PANEL) {
      const p = PROFILE[m.port]!;
      const latency = Math.round(p.ms * (0.5 + r() + r() * r() * 2));
      const failed = first ? m.port === 5 : r() < p.fail;
      const end = start + latency;
      round1End = Math.max(round1End, end);
      const attrs = { 'quorum.round': 1, 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openrouter', 'gen_ai.request.model': m.model, 'quorum.port': m.port, 'quorum.family': m.family, 'server.address': 'openrouter.ai', 'server.port': 443, 'quorum.attempts': 1 };
      if (failed) {
        const kind = first ? 'http' : p.kinds[Math.floor(r() * p.kinds.length)]!;
        const sid = span('query_model', scatterId, start, end, attrs, kind);
        failures.push({ port: m.port, model: m.model, kind, attempts: kind === 'http' ? 3 : 1, message: `simulated ${kind}` });
        emit({ source: `/quorum/port/${m.port}`, type: 'quorum.model.failed', time: iso(end), port: m.port, traceparent: tp(sid), data: { port: m.port, model: m.model, family: m.family, kind, message: `simulated ${kind}`, attempts: kind === 'http' ? 3 : 1, latencyMs: latency, ...(kind === 'http' && { status: 502 }) } } as QuorumEvent);
      } else {
        responders.push(m.port);
        const usage = { inputTokens: 800 + Math.floor(r() * 400), outputTokens: 150 + Math.floor(r() * 300), cost: 0 };
        const sid = span('query_model', scatterId, start, end, { ...attrs, 'gen_ai.response.model': m.model, 'gen_ai.response.id': `gen-${hex(r, 10)}`, 'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.usage.input_tokens': usage.inputTokens, 'gen_ai.usage.output_tokens': usage.outputTokens, 'quorum.cost': 0 });
        const chars = 600 + Math.floor(r() * 900);
        const responseId = `gen-${hex(r, 10)}`;
        emit({ source: `/quorum/port/${m.port}`, type: 'quorum.model.responded', time: iso(end), port: m.port, traceparent: tp(sid), data: { port: m.port, model: m.model, family: m.family, latencyMs: latency, attempts: 1, chars, ...usage, finishReason: 'stop', responseId } } as QuorumEvent);
        answers.push({ runId, round: 1, port: m.port, model: m.model, family: m.family, latencyMs: latency, attempts: 1, usage, finishReason: 'stop', responseId, text: PROSE.slice(0, chars) });
      }
    }
    span('scatter', rootId, start, round1End);

    // Claims: shared facts most responders make, a few pair claims, and lone claims.
    const facts: ClaimRecord[] = [];
    const shared = 3 + Math.floor(r() * 3);
    for (let i = 0; i < shared; i++) {
      const ports = responders.filter(() => r() < 0.92);
      facts.push({ text: `Shared fact ${i + 1} of run ${runs}.`, support: ports.length, ports, wordings: ports.map((port) => ({ port, text: `Shared fact ${i + 1} of run ${runs}.` })) });
    }
    if (responders.length > 2 && r() < 0.5) {
      const ports = responders.filter(() => r() < 0.35);
      if (ports.length) facts.push({ text: `A claim some ports make in run ${runs}.`, support: ports.length, ports, wordings: ports.map((port) => ({ port, text: `A claim some ports make in run ${runs}.` })) });
    }
    for (const port of responders) {
      if (r() < PROFILE[port]!.lone) facts.push({ text: `Port ${port} alone says thing ${Math.floor(r() * 1000)}.`, support: 1, ports: [port], wordings: [{ port, text: `Port ${port} alone says thing.` }] });
    }

    // Round 2.
    let round2End = round1End;
    const gatherStart = round1End;
    const gatherId = hex(r, 16);
    let pool: Candidate[] | undefined;
    if (rounds === 2) {
      pool = facts.map((f, i) => ({ id: `c${i + 1}`, text: f.text, proposers: f.ports, wordings: f.wordings ?? [] }));
      const voteId = hex(r, 16);
      for (const port of responders) {
        const m = PANEL[port]!;
        const latency = Math.round(PROFILE[port]!.ms * (0.4 + r() * 0.8));
        const end = round1End + 60 + latency;
        round2End = Math.max(round2End, end);
        const ok = first ? port !== 3 : r() > 0.02;
        const sid = span('query_model', voteId, round1End + 60, end, { 'quorum.round': 2, 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openrouter', 'gen_ai.request.model': m.model, 'quorum.port': port, 'quorum.family': m.family, 'quorum.attempts': 1, 'gen_ai.usage.input_tokens': 500, 'gen_ai.usage.output_tokens': 80 });
        emit({ source: `/quorum/port/${port}`, type: 'quorum.vote.cast', time: iso(end), port, traceparent: tp(sid), data: { port, model: m.model, family: m.family, round: 2, ok, latencyMs: latency, attempts: 1, candidates: facts.length, agree: ok ? shared : 0, disagree: 0, unsure: ok ? facts.length - shared : 0, same: 0, ...(!ok && { kind: 'malformed' as const, message: 'No votes could be read from the ballot' }), inputTokens: 500, outputTokens: 80, cost: 0 } } as QuorumEvent);
        // An unreadable ballot is still a usable reply: its line has ballot null.
        const ballot = ok ? Object.fromEntries(pool.map((c, i) => [c.id, i < shared ? 'agree' : 'unsure'])) : null;
        answers.push({ runId, round: 2, port, model: m.model, family: m.family, latencyMs: latency, attempts: 1, usage: { inputTokens: 500, outputTokens: 80, cost: 0 }, finishReason: 'stop', responseId: `gen-${hex(r, 10)}`, text: ok ? pool.map((c, i) => `${c.id}: ${i < shared ? 'agree' : 'unsure'}`).join('\n') : 'I cannot vote on these.', ballot });
        if (!ok) failures.push({ port, model: m.model, kind: 'malformed', attempts: 1, message: 'No votes could be read from the ballot', round: 2 });
      }
      span('cluster_claims', gatherId, round1End, round1End + 40);
      span('vote_round', gatherId, round1End + 50, round2End, { 'quorum.candidates': facts.length });
      for (const [i, f] of facts.entries()) {
        f.ids = [`c${i + 1}`];
        f.proposers = f.ports;
        f.votes = { agree: f.ports, disagree: [], unsure: responders.filter((p) => !f.ports.includes(p)), abstained: [] };
      }
    }
    const chairMs = synthesize ? 800 + Math.floor(r() * 1500) : 0;
    const finish = round2End + 30 + Math.floor(r() * 40) + chairMs;
    span('extract_claims', gatherId, gatherStart, gatherStart + 20);
    span('vote_consensus', gatherId, round2End, round2End + 10);
    const outputId = span('synthesize_output', gatherId, round2End + 10, finish);
    if (synthesize) span('query_model', outputId, round2End + 20, round2End + 20 + chairMs, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': PANEL[0]!.model, 'quorum.role': 'chair', 'quorum.attempts': 1 });
    span('gather', rootId, gatherStart, finish);

    const r1 = responders.length;
    const status = r1 < 5 ? 'quorum_lost' : r1 < 8 ? 'degraded' : 'consensus';
    const required = r1 < 8 ? Math.ceil((6 * r1) / 8) : 6;
    const byPorts = (a: ClaimRecord, b: ClaimRecord) => b.support - a.support;
    const doc: ConsensusDocument = {
      runId,
      query: 'What are the key concepts in these specs?',
      chunk: chunk ?? null,
      status,
      quorum: { configured: 6, required, responders: r1, panel: 8, minResponders: 5 },
      claims: facts.filter((f) => status !== 'quorum_lost' && f.support >= required).sort(byPorts),
      dissent: facts.filter((f) => !(status !== 'quorum_lost' && f.support >= required)).sort(byPorts),
      failures: failures.sort((a, b) => a.port - b.port),
      agreement: PANEL.map((a) => PANEL.map((b) => (responders.includes(a.port) && responders.includes(b.port) ? (a.port === b.port ? 1 : 0.6) : null))),
      rounds,
      ...(rounds === 2 && { abstentions: [], candidates: facts.length }),
      startedAt: iso(start),
      finishedAt: iso(finish),
      sandbox: false,
      ...(supersedes && { supersedes }),
      ...(synthesize && { synthesis: { model: PANEL[0]!.model, text: `The panel agrees on ${shared} facts [c1].` } }),
    };
    // Answers go before the run line, as the recorder commits them: the line decides the run.
    for (const a of answers) an.write(a);
    const line: RunLine = { ...doc, models: PANEL, ...(inBatch && { batchId: inBatch }), ...(pool && { pool }), panelSource: 'built-in' };
    rl.write(line);

    emit({ source: '/quorum/run', type: 'quorum.consensus.reached', time: iso(finish - 5), traceparent: tp(gatherId), data: { status, quorum: doc.quorum, claims: doc.claims.length, dissent: doc.dissent.length, failures: failures.length } } as QuorumEvent);
    emit({ source: '/quorum/run', type: 'quorum.run.completed', time: iso(finish), traceparent: tp(rootId), data: { status, durationMs: finish - start, exitCode: status === 'quorum_lost' ? 1 : 0 } } as QuorumEvent);
    span('scatter_gather_research', null, start, finish, { 'quorum.run_id': runId, 'quorum.panel.size': 8, 'quorum.quorum.configured': 6, 'quorum.sandbox': false, 'quorum.status': status, ...(chunk && { 'quorum.chunk.id': chunk.id, 'quorum.chunk.source': chunk.source }) });
    // Batch runs write no per-run files: their pull names the run line.
    const signal: BlackboardSignal = { ts: iso(finish), mark: status, pull: inBatch ? `runs.jsonl#${runId}` : `runs/${runId}/consensus.md`, msg: `${doc.claims.length} consensus claim(s)`, type: 'signal', hive: 'quorum', gen: 0, port: 'gather' };
    bb.write(signal);
    previousRun = runId;
    if (inBatch && ++batchChunks >= BATCH_SIZE) {
      batchEvent('quorum.batch.completed', finish + 1);
      batchId = undefined;
    }

    // Now and then (and right after the first run) a replay of the run just made: no model call.
    if (first || r() < 0.002) {
      runs++;
      const replayId = `${iso(clock).replace(/[-:]/g, '').slice(0, 15)}Z-${hex(r, 6)}`;
      const at = clock;
      clock += 1000;
      const rbase = { specversion: '1.0' as const, datacontenttype: 'application/json' as const, runid: replayId, traceparent: `00-${hex(r, 32)}-${hex(r, 16)}-01` };
      const rid = () => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
      ev.write({ ...rbase, id: rid(), source: '/quorum/run', type: 'quorum.run.started', time: iso(at), data: { query: doc.query, panel: { source: 'built-in', size: 8, members: PANEL }, quorum: { configured: 7, minResponders: 5 }, context: null, sandbox: false, rounds, replayOf: runId, supersedes: [runId] } });
      const replay: RunLine = { ...line, runId: replayId, replayOf: runId, startedAt: iso(at), finishedAt: iso(at + 40) };
      delete replay.batchId;
      // A replay's answers are a copy of its source's, under its own run id.
      for (const a of answers) an.write({ ...a, runId: replayId });
      rl.write(replay);
      ev.write({ ...rbase, id: rid(), source: '/quorum/run', type: 'quorum.consensus.reached', time: iso(at + 39), data: { status, quorum: doc.quorum, claims: doc.claims.length, dissent: doc.dissent.length, failures: failures.length } });
      ev.write({ ...rbase, id: rid(), source: '/quorum/run', type: 'quorum.run.completed', time: iso(at + 40), data: { status, durationMs: 40, exitCode: 0 } });
      bb.write({ ts: iso(at + 40), mark: status, pull: `runs/${replayId}/consensus.md`, msg: 'replay', type: 'signal', hive: 'quorum', gen: 0, port: 'gather' } satisfies BlackboardSignal);
    }
  }
  if (batchId) batchEvent('quorum.batch.completed', clock);
  for (const w of [ev, sp, bb, rl, an, bl]) w.close();
  const size = (name: string) => statSync(join(dir, name)).size;
  const info: GeneratedArtifacts = {
    dir,
    events: ev.lines,
    spans: sp.lines,
    runs,
    runLines: rl.lines,
    answers: an.lines,
    bytes: { events: size(LOG_FILES.events), spans: size(LOG_FILES.spans), runs: size(LOG_FILES.runs), answers: size(LOG_FILES.answers) },
    generatedMs: performance.now() - t0,
  };
  writeFileSync(marker, JSON.stringify({ ...info, version: GENERATOR_VERSION, target: events }));
  return info;
}

// ---------------------------------------------------------------- timing

interface Timing {
  name: string;
  explicit: number[];
  auto: number[];
  /** The same session with the query wrapped in SELECT count(*): DuckDB's part, no rows to convert. */
  engine: number[];
  /** CPU time of the explicit-columns runs, all threads. */
  cpu: number[];
  rows: number;
  autoError?: string;
}

async function timeQuery(dir: string, sql: string, name: string, options: OpenArtifactsOptions, reps: number): Promise<{ ms: number[]; cpu: number[]; rows: number }> {
  const ms: number[] = [];
  const cpu: number[] = [];
  let rows = 0;
  for (let i = 0; i < reps; i++) {
    // A fresh session each time, as `quorum sql` opens one per invocation: view setup is
    // included. DuckDB's threads run in this process, so cpuUsage() counts their work too.
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const db = await ArtifactsDb.open(dir, options);
    try {
      rows = (await db.query(sql, name)).rows.length;
    } finally {
      db.close();
    }
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { ms, cpu, rows };
}

/** The latest decided run, which `quorum report` reports when no run is named. */
async function latestRun(dir: string): Promise<string> {
  const db = await ArtifactsDb.open(dir);
  try {
    return String((await db.query('SELECT max(runid) FROM consensus')).rows[0]![0]);
  } finally {
    db.close();
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const s = (ms: number) => (ms / 1000).toFixed(2);
/**
 * The queries `quorum report <runId>` runs restricted to one run: over the whole folder they
 * return a row per run and claim (and port), which no report asks for, so they are also timed
 * the way the report runs them.
 */
const RUN_SCOPED = ['report_runs', 'report_claims', 'report_vote_matrix', 'report_calls', 'tokens_cost'];
/** QUORUM_BENCH_SQL_QUERIES: a comma-separated subset of the bundled queries (default: every one). */
const AUTO = process.env.QUORUM_BENCH_SQL_AUTO !== '0';
const ONLY = process.env.QUORUM_BENCH_SQL_QUERIES?.split(',').map((q) => q.trim()).filter(Boolean);

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const m0 = machineInfo();
  const dir = process.env.QUORUM_BENCH_SQL_DIR ?? join(tmpdir(), `quorum-bench-sql-${EVENTS}`);
  ctx.log(`generating ${EVENTS.toLocaleString('en')} events in ${dir} (reused when already there) …`);
  const gen = generateArtifacts(dir, EVENTS);
  ctx.log(`  ${gen.events.toLocaleString('en')} events (${mb(gen.bytes.events)}), ${gen.spans.toLocaleString('en')} spans (${mb(gen.bytes.spans)}), ${gen.runLines.toLocaleString('en')} run lines (${mb(gen.bytes.runs)}), ${gen.answers.toLocaleString('en')} answer lines (${mb(gen.bytes.answers)})`);

  const timings: Timing[] = [];
  const queries = listQueries().filter((q) => !ONLY || ONLY.includes(q.name));
  const latest = await latestRun(dir);
  const cases = [
    ...queries.map((q) => ({ name: q.name, setup: '', body: readFileSync(q.path, 'utf8') })),
    ...queries.filter((q) => RUN_SCOPED.includes(q.name)).map((q) => {
      const scope = { kind: 'run' as const, runId: latest };
      return { name: `${q.name} (one run)`, setup: scopeVariables(scope).map((v) => `${v};\n`).join(''), body: scopedSql(readFileSync(q.path, 'utf8'), scope) };
    }),
  ];
  for (const q of cases) {
    const sql = q.setup + q.body;
    const explicit = await timeQuery(dir, sql, q.name, {}, REPS);
    const engine = await timeQuery(dir, `${q.setup}SELECT count(*) FROM (\n${q.body.replace(/;\s*$/, '')}\n)`, q.name, {}, REPS);
    let auto: { ms: number[]; cpu: number[]; rows: number } = { ms: [], cpu: [], rows: 0 };
    let autoError: string | undefined;
    if (!AUTO) {
      autoError = 'not timed (QUORUM_BENCH_SQL_AUTO=0)';
    } else {
      try {
        auto = await timeQuery(dir, sql, q.name, { columns: 'auto' }, REPS);
        if (auto.rows !== explicit.rows) autoError = `${auto.rows} rows instead of ${explicit.rows}`;
      } catch (error) {
        autoError = (error as Error).message;
      }
    }
    timings.push({ name: q.name, explicit: explicit.ms, auto: auto.ms, engine: engine.ms, cpu: explicit.cpu, rows: explicit.rows, ...(autoError && { autoError }) });
    ctx.log(`  ${q.name}: explicit ${s(median(explicit.ms))} s, auto ${autoError ? `failed (${autoError.slice(0, 160)})` : `${s(median(auto.ms))} s`}`);
  }

  const header = ['query', 'rows', 'explicit columns: s, median (min–max)', 'CPU s (all threads)', 'of which DuckDB alone: s', 'auto-detect: s, median (min–max)', 'auto / explicit', `≤ ${GOAL_MS / 1000} s`];
  const rows = timings.map((t) => {
    const e = median(t.explicit);
    const a = t.auto.length ? median(t.auto) : Number.NaN;
    return [
      t.name,
      t.rows.toLocaleString('en'),
      `${s(e)} (${s(min(t.explicit))}–${s(max(t.explicit))})`,
      s(median(t.cpu)),
      s(median(t.engine)),
      t.autoError ? `fails: ${t.autoError.replace(/\|/g, '\\|').slice(0, 100)}` : `${s(a)} (${s(min(t.auto))}–${s(max(t.auto))})`,
      Number.isNaN(a) || t.autoError ? '–' : `${(a / e).toFixed(2)}×`,
      e <= GOAL_MS ? 'met' : '**missed**',
    ];
  });
  const endLoad = loadavg()[0] ?? 0;
  const markdown = [
    'Measured by `npm run bench` (`bench/sql.ts`; alone: `npx tsx bench/sql.ts`); this block is rewritten by it.',
    '',
    `Data: ${gen.events.toLocaleString('en')} CloudEvents (${mb(gen.bytes.events)}), ${gen.spans.toLocaleString('en')} spans (${mb(gen.bytes.spans)}), and the run log of ${gen.runs.toLocaleString('en')} runs: ${gen.runLines.toLocaleString('en')} lines of runs.jsonl (${mb(gen.bytes.runs)}) and ${gen.answers.toLocaleString('en')} of answers.jsonl (${mb(gen.bytes.answers)}), with batches.jsonl and the blackboard signals, made by \`generateArtifacts\` in the shapes the recorder writes: the built-in 8-model panel, 60 % two-round runs, half of them batch chunks, per-port latencies, failures and lone claims, a few replays and chair calls. No per-run files: SQL reads only the logs.`,
    '',
    `Each figure is the wall time of one fresh \`ArtifactsDb\` session (DuckDB in memory, views created, the query run and its rows converted to JavaScript), which is what one \`quorum sql\` invocation spends after Node's start-up; median of ${REPS} runs. "Explicit columns" is views.sql as shipped; "auto-detect" is the same views with every \`columns = {…}\` removed, so DuckDB samples the files for the schema.`,
    '',
    mdTable(header, rows),
    '',
    `- "CPU s": user + system time of the whole process (DuckDB's threads included) during one run, median. On a shared machine the wall time also holds the time other processes had the cores; with ${m0.nproc} idle cores a run cannot take less than CPU ÷ ${m0.nproc}, and takes about the CPU time where the work is single-threaded (converting rows to JavaScript).`,
    `- "(one run)": the query as \`quorum report <runId>\` runs it, restricted to the latest run (src/report/scope.ts); the same file over the whole folder is the row without the suffix.`,
    `- "Of which DuckDB alone": the same session with the query wrapped in \`SELECT count(*) FROM (…)\`, so no row reaches JavaScript; the rest of a figure is node-api turning rows into JavaScript values (about 1 µs a value here), which dominates the queries that return one row per run (or per run and model).`,
    `- ${machineLine(m0, endLoad)}`,
  ].join('\n');
  return { id: 'sql', heading: 'SQL queries', markdown, table: textTable(header, rows) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const write = process.argv.includes('--write');
  const report = await run({ repoRoot: join(import.meta.dirname, '..'), log: (line) => console.log(line) });
  console.log(`\n${report.table}`);
  if (write) writeSection(report);
}
