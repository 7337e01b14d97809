import { join, relative } from 'node:path';
import { type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { EVENT_TYPES, makeEvent, type QuorumEvent } from '../events.js';
import type { Candidate } from '../claims/candidates.js';
import type { AskObserver, AskResult, Round } from '../pipelines/ask.js';
import type { CastBallot } from '../operators/voteRound.js';
import type { AnswerLine, RunLine } from '../runlog/lines.js';
import { blackboardSignal, type BlackboardSignal } from '../sinks/blackboard.js';
import type { LiveHooks } from '../terminal/liveView.js';
import * as A from '../tracing/attributes.js';
import { markSpanFailed, startChild, traceparentOf } from '../tracing/tracing.js';
import type { ConsensusDocument, ModelOutcome, ModelRequest, Panel, PanelMember } from '../types.js';
import type { RunSinks } from './runSinks.js';

export interface RunRecorderOptions {
  runId: string;
  /** The artifacts folder (`--out`). */
  out: string;
  request: ModelRequest;
  panel: Panel;
  quorum: { configured: number; minResponders: number };
  /** Where the run is recorded (the run log of `out`). */
  sinks: RunSinks;
  sandbox: boolean;
  chunk?: { source: string; id: string } | null;
  rounds: Round;
  /** Set on a replay: the run whose answers are re-gathered. */
  replayOf?: string;
  /** A batch's span: the run's root span becomes its child. */
  parentSpan?: Span;
  /** The batch the run belongs to (the `batchid` extension of its events). */
  batchId?: string;
  /** Earlier runs on an earlier version of the same input (`quorum watch`): this run replaces them. */
  supersedes?: string[];
  now?: () => Date;
}

export type RunEnd = { status: 'failed' | 'interrupted'; message: string; exitCode: number };

/**
 * Records one run as it happens, into the run log: CloudEvents, the span tree of DESIGN.md, an
 * answers.jsonl line per usable reply, and at the end the run line (runs.jsonl: the run is
 * decided when it is committed) and a blackboard signal. Nothing is written synchronously; the
 * per-run view files are rendered after the commit when the sinks ask for them. It is handed to
 * the pipeline as its observer and decides nothing.
 */
export class RunRecorder {
  readonly runDir: string;
  private readonly root: Span;
  /** Absent on a replay, which calls no model. */
  private scatterSpan: Span | undefined;
  private gatherSpan: Span | undefined;
  private voteSpan: Span | undefined;
  private chairSpan: Span | undefined;
  /** What the run's calls cost, for the batch summary: attempts made, tokens, provider cost. */
  readonly usage = { calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
  /** Size of the vote round's ballot, for each vote.cast event. */
  private candidateCount = 0;
  /** Open query_model spans by round and port: a port's span ends with its outcome, whatever it is. */
  private readonly portSpans = { 1: new Map<number, Span>(), 2: new Map<number, Span>() };
  private readonly startedAt: Date;
  private finished = false;
  /** Two-round runs: the candidates put to the vote. */
  private pool: Candidate[] | undefined;
  /** This run's answer lines, kept only when its view files will be rendered. */
  private readonly answers: AnswerLine[] = [];
  private readonly tracer: Tracer;

  constructor(private readonly o: RunRecorderOptions) {
    const now = o.now ?? (() => new Date());
    this.startedAt = now();
    this.runDir = join(o.out, 'runs', o.runId);
    this.tracer = o.sinks.tracing.tracer;
    this.root = startChild(this.tracer, A.SPAN_NAMES.root, o.parentSpan, {
      [A.ATTR_QUORUM_RUN_ID]: o.runId,
      'quorum.panel.size': o.panel.members.length,
      'quorum.quorum.configured': o.quorum.configured,
      'quorum.sandbox': o.sandbox,
      ...(o.chunk ? { 'quorum.chunk.id': o.chunk.id, 'quorum.chunk.source': o.chunk.source } : {}),
    });
    if (!o.replayOf) this.scatterSpan = startChild(this.tracer, A.SPAN_NAMES.scatter, this.root);
    this.emit(EVENT_TYPES.runStarted, this.root, undefined, {
      query: o.request.query,
      panel: { source: o.panel.source, size: o.panel.members.length, members: o.panel.members.map(({ port, model, family }) => ({ port, model, family })) },
      quorum: o.quorum,
      context: o.request.context ? { source: o.request.context.source, chars: o.request.context.text.length } : null,
      sandbox: o.sandbox,
      timeoutMs: o.panel.timeoutMs,
      rounds: o.rounds,
      ...(o.replayOf && { replayOf: o.replayOf }),
      ...(o.supersedes?.length && { supersedes: o.supersedes }),
    });
  }

  /** The hooks the ask pipeline calls. */
  observer(live?: LiveHooks): AskObserver {
    return {
      portStarted: (member, round) => this.portStarted(member, round),
      firstToken: (member, round) => {
        this.portSpans[round].get(member.port)?.addEvent('gen_ai.first_token');
        live?.streaming(member.port, round);
      },
      outcome: (outcome) => {
        this.portFinished(outcome);
        live?.finished(outcome, 1);
      },
      voteRoundStarted: (candidates) => {
        this.voteRoundStarted(candidates);
        live?.roundStarted?.(2);
      },
      ballot: (cast) => {
        this.ballotCast(cast);
        live?.finished(cast.outcome, 2);
      },
      chairStarted: (member) => {
        this.chairSpan = startChild(this.tracer, A.SPAN_NAMES.queryModel, this.openGather(), {
          [A.ATTR_GEN_AI_OPERATION_NAME]: A.GEN_AI_OPERATION_CHAT,
          [A.ATTR_GEN_AI_REQUEST_MODEL]: member.model,
          'quorum.role': 'chair',
        }, { kind: SpanKind.CLIENT });
      },
      chairFinished: (outcome) => {
        const span = this.chairSpan;
        if (!span) return;
        this.chairSpan = undefined;
        span.setAttribute(A.ATTR_QUORUM_ATTEMPTS, outcome.attempts);
        if (outcome.ok) span.setStatus({ code: SpanStatusCode.OK });
        else markSpanFailed(span, outcome.kind, outcome.message);
        span.end();
      },
      stage: (name, work) => this.stage(name, work),
    };
  }

  private portStarted(member: PanelMember, round: Round): void {
    const url = safeUrl(member.baseURL);
    this.portSpans[round].set(
      member.port,
      startChild(
        this.tracer,
        A.SPAN_NAMES.queryModel,
        round === 1 ? (this.scatterSpan ?? this.root) : (this.voteSpan ?? this.openGather()),
        {
          'quorum.round': round,
          [A.ATTR_GEN_AI_OPERATION_NAME]: A.GEN_AI_OPERATION_CHAT,
          [A.ATTR_GEN_AI_PROVIDER_NAME]: providerName(url, this.o.sandbox),
          [A.ATTR_GEN_AI_REQUEST_MODEL]: member.model,
          [A.ATTR_QUORUM_PORT]: member.port,
          [A.ATTR_QUORUM_FAMILY]: member.family,
          ...(url && { [A.ATTR_SERVER_ADDRESS]: url.hostname, [A.ATTR_SERVER_PORT]: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) }),
          ...(member.maxTokens !== undefined && { [A.ATTR_GEN_AI_REQUEST_MAX_TOKENS]: member.maxTokens }),
          ...(member.temperature !== undefined && { [A.ATTR_GEN_AI_REQUEST_TEMPERATURE]: member.temperature }),
        },
        { kind: SpanKind.CLIENT },
      ),
    );
  }

  /** Ends a port's model span with its outcome's attributes and returns it (for the event's traceparent). */
  private endPortSpan(outcome: ModelOutcome, round: Round): Span {
    const spans = this.portSpans[round];
    const called = spans.has(outcome.port);
    // A port cut before it ever started (concurrency-bounded) still gets its span.
    if (!called) this.portStarted(this.o.panel.members.find((m) => m.port === outcome.port)!, round);
    const span = spans.get(outcome.port)!;
    spans.delete(outcome.port);
    span.setAttribute(A.ATTR_QUORUM_ATTEMPTS, outcome.attempts);
    // A port cut before it ever started made no call.
    if (called) this.usage.calls += outcome.attempts;
    if (outcome.ok) {
      const u = outcome.usage;
      this.usage.inputTokens += u.inputTokens ?? 0;
      this.usage.outputTokens += u.outputTokens ?? 0;
      this.usage.cost += u.cost ?? 0;
      span.setAttributes({
        [A.ATTR_GEN_AI_RESPONSE_MODEL]: outcome.model,
        ...(outcome.responseId && { [A.ATTR_GEN_AI_RESPONSE_ID]: outcome.responseId }),
        ...(outcome.finishReason && { [A.ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: [outcome.finishReason] }),
        ...(u.inputTokens !== undefined && { [A.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: u.inputTokens }),
        ...(u.outputTokens !== undefined && { [A.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: u.outputTokens }),
        ...(u.cost !== undefined && { [A.ATTR_QUORUM_COST]: u.cost }),
      });
      span.setStatus({ code: SpanStatusCode.OK });
    } else {
      markSpanFailed(span, outcome.kind, outcome.message);
    }
    span.end();
    return span;
  }

  private portFinished(outcome: ModelOutcome): void {
    const span = this.endPortSpan(outcome, 1);
    const ctx = { port: outcome.port, span };
    if (outcome.ok) {
      const u = outcome.usage;
      this.record(answerLine(this.o.runId, 1, outcome));
      this.emit(EVENT_TYPES.modelResponded, span, ctx.port, {
        port: outcome.port,
        model: outcome.model,
        family: outcome.family,
        latencyMs: outcome.latencyMs,
        attempts: outcome.attempts,
        chars: outcome.text.length,
        ...(u.inputTokens !== undefined && { inputTokens: u.inputTokens }),
        ...(u.outputTokens !== undefined && { outputTokens: u.outputTokens }),
        ...(u.cost !== undefined && { cost: u.cost }),
        ...(outcome.finishReason && { finishReason: outcome.finishReason }),
        ...(outcome.responseId && { responseId: outcome.responseId }),
      });
    } else {
      this.emit(EVENT_TYPES.modelFailed, span, ctx.port, {
        port: outcome.port,
        model: outcome.model,
        family: outcome.family,
        kind: outcome.kind,
        message: outcome.message,
        attempts: outcome.attempts,
        latencyMs: outcome.latencyMs,
        ...(outcome.status !== undefined && { status: outcome.status }),
      });
    }
  }

  private voteRoundStarted(candidates: Candidate[]): void {
    this.candidateCount = candidates.length;
    this.voteSpan = startChild(this.tracer, A.SPAN_NAMES.voteRound, this.openGather(), { 'quorum.candidates': candidates.length });
    this.pool = candidates;
  }

  private ballotCast({ outcome, ballot }: CastBallot): void {
    const span = this.endPortSpan(outcome, 2);
    const counts = { agree: 0, disagree: 0, unsure: 0, same: 0 };
    for (const vote of ballot?.values() ?? []) counts[typeof vote === 'object' ? 'same' : vote]++;
    const u = outcome.ok ? outcome.usage : {};
    if (outcome.ok) {
      this.record({
        ...answerLine(this.o.runId, 2, outcome),
        ballot: ballot ? Object.fromEntries([...ballot].map(([id, v]) => [id, typeof v === 'object' ? `same:${v.same}` : v])) : null,
      });
    }
    const failure = !outcome.ok ? { kind: outcome.kind, message: outcome.message } : ballot === null ? { kind: 'malformed' as const, message: 'No votes could be read from the ballot' } : undefined;
    this.emit(EVENT_TYPES.voteCast, span, outcome.port, {
      port: outcome.port,
      model: outcome.model,
      family: outcome.family,
      round: 2,
      ok: failure === undefined,
      latencyMs: outcome.latencyMs,
      attempts: outcome.attempts,
      candidates: this.candidateCount,
      ...counts,
      ...failure,
      ...(u.inputTokens !== undefined && { inputTokens: u.inputTokens }),
      ...(u.outputTokens !== undefined && { outputTokens: u.outputTokens }),
      ...(u.cost !== undefined && { cost: u.cost }),
    });
  }

  /** Runs one gather stage in its own span; the first stage closes scatter and opens gather. */
  stage<T>(name: string, work: () => T): T {
    const gather = this.openGather();
    if (this.voteSpan && name !== A.SPAN_NAMES.synthesizeOutput) {
      this.voteSpan.end();
      this.voteSpan = undefined;
    }
    const span = startChild(this.tracer, name, gather);
    try {
      return work();
    } catch (error) {
      markSpanFailed(span, 'exception', (error as Error).message);
      throw error;
    } finally {
      span.end();
    }
  }

  private openGather(): Span {
    if (!this.gatherSpan) {
      this.scatterSpan?.end();
      this.gatherSpan = startChild(this.tracer, A.SPAN_NAMES.gather, this.root);
    }
    return this.gatherSpan;
  }

  /** Records an answer made elsewhere (a replay's copy of the recorded answers). */
  recordAnswer(line: AnswerLine): void {
    this.record(line);
  }

  private record(line: AnswerLine): void {
    this.o.sinks.answers.write(line);
    if (this.o.sinks.runFiles) this.answers.push(line);
  }

  /** Writes the run line, the closing events and the blackboard signal. Returns the document. */
  complete(gathered: AskResult): ConsensusDocument {
    const { result } = gathered;
    const doc: ConsensusDocument = this.stage(A.SPAN_NAMES.synthesizeOutput, () => {
      const document: ConsensusDocument = {
        runId: this.o.runId,
        query: this.o.request.query,
        chunk: this.o.chunk ?? (this.o.request.context ? { source: this.o.request.context.source, id: 'context' } : null),
        status: result.status,
        quorum: result.quorum,
        claims: result.claims,
        dissent: result.dissent,
        failures: result.failures,
        agreement: result.agreement,
        rounds: result.rounds ?? 1,
        ...(result.abstentions && { abstentions: result.abstentions }),
        ...(result.candidates !== undefined && { candidates: result.candidates }),
        ...(result.leftOut?.length && { leftOut: result.leftOut }),
        ...(result.truncated?.length && { truncated: result.truncated }),
        startedAt: this.startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        sandbox: this.o.sandbox,
        ...(this.o.replayOf && { replayOf: this.o.replayOf }),
        ...(this.o.supersedes?.length && { supersedes: this.o.supersedes }),
        ...(gathered.synthesis && { synthesis: gathered.synthesis }),
      };
      const line: RunLine = {
        ...document,
        models: this.o.panel.members.map(({ port, model, family }) => ({ port, model, family })),
        ...(this.o.batchId && { batchId: this.o.batchId }),
        ...(this.pool && { pool: this.pool }),
        panelSource: this.o.panel.source,
      };
      this.o.sinks.runs.write(line);
      if (this.o.sinks.runFiles) this.o.sinks.renderViews(line, this.answers);
      return document;
    });
    this.emit(EVENT_TYPES.consensusReached, this.gatherSpan ?? this.root, undefined, {
      status: doc.status,
      quorum: doc.quorum,
      claims: doc.claims.length,
      dissent: doc.dissent.length,
      failures: doc.failures.length,
    });
    this.root.setAttribute(A.ATTR_QUORUM_STATUS, doc.status);
    const exitCode = doc.status === 'quorum_lost' ? 1 : 0;
    const q = doc.quorum;
    const summary =
      doc.status === 'quorum_lost'
        ? `quorum lost: ${q.responders} of ${q.panel} ports answered, ${q.minResponders} needed — "${this.o.request.query}"`
        : `${doc.claims.length} consensus claim(s) at ${q.required}/${q.responders}${doc.status === 'degraded' ? ' (degraded)' : ''}, ${doc.dissent.length} dissent — "${this.o.request.query}"`;
    this.end(doc.status, exitCode, summary);
    return doc;
  }

  /** Closes a run that produced no result (an error or Ctrl-C): no consensus files are written. */
  abort(end: RunEnd): void {
    for (const spans of [this.portSpans[1], this.portSpans[2]]) {
      for (const span of spans.values()) {
        markSpanFailed(span, 'cancelled', end.message);
        span.end();
      }
      spans.clear();
    }
    this.voteSpan?.end();
    this.chairSpan?.end();
    markSpanFailed(this.root, end.status, end.message);
    this.end(end.status, end.exitCode, `${end.status}: ${end.message}`, end.message);
  }

  private end(status: BlackboardSignal['mark'], exitCode: number, summary: string, message?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.emit(EVENT_TYPES.runCompleted, this.root, undefined, {
      status,
      durationMs: Date.now() - this.startedAt.getTime(),
      exitCode,
      ...(message !== undefined && { message }),
    });
    if (status !== 'failed' && status !== 'interrupted') {
      this.o.sinks.blackboard.write(
        // Relative to the artifacts folder, so the signal stays true when the folder moves.
        blackboardSignal({
          status,
          consensusMdPath: this.o.sinks.runFiles ? relative(this.o.out, join(this.runDir, 'consensus.md')) : `runs.jsonl#${this.o.runId}`,
          summary,
          identity: this.o.sinks.identity,
        }),
      );
    }
    (this.gatherSpan ?? this.scatterSpan)?.end();
    this.root.end();
  }

  private emit<T extends Parameters<typeof makeEvent>[0]>(type: T, span: Span, port: number | undefined, data: Parameters<typeof makeEvent<T>>[1]): void {
    this.o.sinks.events.write(
      makeEvent(type, data, {
        runId: this.o.runId,
        traceparent: traceparentOf(span),
        ...(port !== undefined && { port }),
        ...(this.o.chunk && { chunkId: this.o.chunk.id }),
        ...(this.o.batchId && { batchId: this.o.batchId }),
      }) as QuorumEvent,
    );
  }
}

/** An answers.jsonl line: the raw reply, for audit and replay. */
function answerLine(runId: string, round: Round, outcome: Extract<ModelOutcome, { ok: true }>): AnswerLine {
  return {
    runId,
    round,
    port: outcome.port,
    model: outcome.model,
    family: outcome.family,
    latencyMs: outcome.latencyMs,
    attempts: outcome.attempts,
    usage: outcome.usage,
    finishReason: outcome.finishReason ?? null,
    responseId: outcome.responseId ?? null,
    text: outcome.text,
  };
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** GenAI `gen_ai.provider.name`: who actually served the call. */
function providerName(url: URL | undefined, sandbox: boolean): string {
  if (sandbox) return 'quorum.sandbox';
  if (url?.hostname.endsWith('openrouter.ai')) return 'openrouter';
  return A.GEN_AI_PROVIDER_OPENAI;
}
