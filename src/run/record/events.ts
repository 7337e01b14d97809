import type { Span } from '@opentelemetry/api';
import {
  EVENT_TYPES,
  makeEvent,
  type EventDataMap,
  type QuorumEvent,
  type QuorumEventType,
  type RunCompletedData,
  type RunStartedData,
  type VoteCastData,
} from '../../events.js';
import type { CastBallot } from '../../operators/voteRound.js';
import type { Sink } from '../../sinks/sink.js';
import { traceparentOf } from '../../tracing/tracing.js';
import type { ConsensusDocument, ModelOutcome } from '../../types.js';

/** What every event of one run carries besides its data (the CloudEvents extensions). */
export interface RunEventIds {
  runId: string;
  chunk?: { source: string; id: string } | null;
  batchId?: string;
}

/**
 * A run's CloudEvents (cloudevents.jsonl). Each event names the span it happened in (its
 * `traceparent`), so the caller hands that span in: the span tree is owned by `RunSpans`.
 */
export class RunEvents {
  constructor(
    private readonly sink: Sink<QuorumEvent>,
    private readonly ids: RunEventIds,
  ) {}

  runStarted(span: Span, data: RunStartedData): void {
    this.emit(EVENT_TYPES.runStarted, span, undefined, data);
  }

  /** A round-1 port's outcome: `model.responded` or `model.failed`. */
  outcome(outcome: ModelOutcome, span: Span): void {
    if (outcome.ok) this.emit(EVENT_TYPES.modelResponded, span, outcome.port, respondedData(outcome));
    else this.emit(EVENT_TYPES.modelFailed, span, outcome.port, failedData(outcome));
  }

  /** A voter's ballot (`vote.cast`), against a pool of `candidates`. */
  ballot(cast: CastBallot, span: Span, candidates: number): void {
    this.emit(EVENT_TYPES.voteCast, span, cast.outcome.port, voteCastData(cast, candidates));
  }

  consensusReached(doc: ConsensusDocument, span: Span): void {
    this.emit(EVENT_TYPES.consensusReached, span, undefined, {
      status: doc.status,
      quorum: doc.quorum,
      claims: doc.claims.length,
      dissent: doc.dissent.length,
      failures: doc.failures.length,
    });
  }

  runCompleted(span: Span, data: RunCompletedData): void {
    this.emit(EVENT_TYPES.runCompleted, span, undefined, data);
  }

  private emit<T extends QuorumEventType>(type: T, span: Span, port: number | undefined, data: EventDataMap[T]): void {
    this.sink.write(
      makeEvent(type, data, {
        runId: this.ids.runId,
        traceparent: traceparentOf(span),
        ...(port !== undefined && { port }),
        ...(this.ids.chunk && { chunkId: this.ids.chunk.id }),
        ...(this.ids.batchId && { batchId: this.ids.batchId }),
      }) as QuorumEvent,
    );
  }
}

function respondedData(outcome: Extract<ModelOutcome, { ok: true }>): EventDataMap[typeof EVENT_TYPES.modelResponded] {
  const u = outcome.usage;
  return {
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
  };
}

function failedData(outcome: Extract<ModelOutcome, { ok: false }>): EventDataMap[typeof EVENT_TYPES.modelFailed] {
  return {
    port: outcome.port,
    model: outcome.model,
    family: outcome.family,
    kind: outcome.kind,
    message: outcome.message,
    attempts: outcome.attempts,
    latencyMs: outcome.latencyMs,
    ...(outcome.status !== undefined && { status: outcome.status }),
  };
}

/** A ballot's tally by vote, and why it does not count when it does not (a failed call, no readable vote). */
export function voteCastData({ outcome, ballot }: CastBallot, candidates: number): VoteCastData {
  const counts = { agree: 0, disagree: 0, unsure: 0, same: 0 };
  for (const vote of ballot?.values() ?? []) counts[typeof vote === 'object' ? 'same' : vote]++;
  const u = outcome.ok ? outcome.usage : {};
  const failure = !outcome.ok ? { kind: outcome.kind, message: outcome.message } : ballot === null ? { kind: 'malformed' as const, message: 'No votes could be read from the ballot' } : undefined;
  return {
    port: outcome.port,
    model: outcome.model,
    family: outcome.family,
    round: 2,
    ok: failure === undefined,
    latencyMs: outcome.latencyMs,
    attempts: outcome.attempts,
    candidates,
    ...counts,
    ...failure,
    ...(u.inputTokens !== undefined && { inputTokens: u.inputTokens }),
    ...(u.outputTokens !== undefined && { outputTokens: u.outputTokens }),
    ...(u.cost !== undefined && { cost: u.cost }),
  };
}
