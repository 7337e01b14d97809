import { type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { Round } from '../../pipelines/ask.js';
import * as A from '../../tracing/attributes.js';
import { markSpanFailed, startChild } from '../../tracing/tracing.js';
import type { ModelOutcome, Panel, PanelMember } from '../../types.js';

export interface RunSpansOptions {
  runId: string;
  panel: Panel;
  quorum: { configured: number };
  sandbox: boolean;
  chunk?: { source: string; id: string } | null;
  /** Set on a replay, which calls no model: no scatter span. */
  replayOf?: string;
  /** A batch's span: the run's root span becomes its child. */
  parentSpan?: Span;
}

/**
 * The run's span tree (DESIGN.md), written to traces.jsonl by the tracer as each span ends. It
 * is the one place that knows which span is open: the events and the other records hang from
 * the spans it hands out, so they are passed explicitly rather than looked up anywhere.
 */
export class RunSpans {
  readonly root: Span;
  /** Absent on a replay, which calls no model. */
  private scatterSpan: Span | undefined;
  private gatherSpan: Span | undefined;
  private voteSpan: Span | undefined;
  private chairSpan: Span | undefined;
  /** Open query_model spans by round and port: a port's span ends with its outcome, whatever it is. */
  private readonly portSpans = { 1: new Map<number, Span>(), 2: new Map<number, Span>() };

  constructor(
    private readonly tracer: Tracer,
    private readonly o: RunSpansOptions,
  ) {
    this.root = startChild(tracer, A.SPAN_NAMES.root, o.parentSpan, {
      [A.ATTR_QUORUM_RUN_ID]: o.runId,
      'quorum.panel.size': o.panel.members.length,
      'quorum.quorum.configured': o.quorum.configured,
      'quorum.sandbox': o.sandbox,
      ...(o.chunk ? { 'quorum.chunk.id': o.chunk.id, 'quorum.chunk.source': o.chunk.source } : {}),
    });
    if (!o.replayOf) this.scatterSpan = startChild(tracer, A.SPAN_NAMES.scatter, this.root);
  }

  portStarted(member: PanelMember, round: Round): void {
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

  firstToken(member: PanelMember, round: Round): void {
    this.portSpans[round].get(member.port)?.addEvent('gen_ai.first_token');
  }

  /**
   * Ends a port's model span with its outcome's attributes. Returns the span (the event's parent)
   * and whether the port was called at all: one cut before it started made no call.
   */
  endPort(outcome: ModelOutcome, round: Round): { span: Span; called: boolean } {
    const spans = this.portSpans[round];
    const called = spans.has(outcome.port);
    // A port cut before it ever started (concurrency-bounded) still gets its span.
    if (!called) this.portStarted(this.o.panel.members.find((m) => m.port === outcome.port)!, round);
    const span = spans.get(outcome.port)!;
    spans.delete(outcome.port);
    span.setAttribute(A.ATTR_QUORUM_ATTEMPTS, outcome.attempts);
    if (outcome.ok) {
      const u = outcome.usage;
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
    return { span, called };
  }

  voteRoundStarted(candidates: number): void {
    this.voteSpan = startChild(this.tracer, A.SPAN_NAMES.voteRound, this.openGather(), { 'quorum.candidates': candidates });
  }

  chairStarted(member: PanelMember): void {
    this.chairSpan = startChild(this.tracer, A.SPAN_NAMES.queryModel, this.openGather(), {
      [A.ATTR_GEN_AI_OPERATION_NAME]: A.GEN_AI_OPERATION_CHAT,
      [A.ATTR_GEN_AI_REQUEST_MODEL]: member.model,
      'quorum.role': 'chair',
    }, { kind: SpanKind.CLIENT });
  }

  chairFinished(outcome: ModelOutcome): void {
    const span = this.chairSpan;
    if (!span) return;
    this.chairSpan = undefined;
    span.setAttribute(A.ATTR_QUORUM_ATTEMPTS, outcome.attempts);
    if (outcome.ok) span.setStatus({ code: SpanStatusCode.OK });
    else markSpanFailed(span, outcome.kind, outcome.message);
    span.end();
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

  /** Where the decision hangs: the gather span once gathering began, else the root. */
  get decision(): Span {
    return this.gatherSpan ?? this.root;
  }

  /** Ends what a run with no result left open: its ports are cancelled, the root failed. */
  cancel(status: string, message: string): void {
    for (const spans of [this.portSpans[1], this.portSpans[2]]) {
      for (const span of spans.values()) {
        markSpanFailed(span, 'cancelled', message);
        span.end();
      }
      spans.clear();
    }
    this.voteSpan?.end();
    this.chairSpan?.end();
    markSpanFailed(this.root, status, message);
  }

  /** Closes the tree: the last open stage, then the root. */
  end(): void {
    (this.gatherSpan ?? this.scatterSpan)?.end();
    this.root.end();
  }

  private openGather(): Span {
    if (!this.gatherSpan) {
      this.scatterSpan?.end();
      this.gatherSpan = startChild(this.tracer, A.SPAN_NAMES.gather, this.root);
    }
    return this.gatherSpan;
  }
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
