import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import {
  ExportResultCode,
  hrTimeToMilliseconds,
  hrTimeToTimeStamp,
  type ExportResult,
} from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonlSink } from '../sinks/jsonlSink.js';
import type { Sink } from '../sinks/sink.js';

/**
 * One line of `traces.jsonl`: a finished span, flattened for DuckDB. Every key is always
 * present (null when empty) so `read_json` infers one stable schema across files.
 */
export interface SpanLine {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  /** The parent's spanId; null for a root span. */
  parentSpanId: string | null;
  name: string;
  kind: 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  /** ISO-8601 UTC with nanosecond digits, e.g. `2025-01-01T00:00:00.123456789Z`. */
  startTime: string;
  endTime: string;
  /** endTime − startTime in milliseconds, fractional. */
  durationMs: number;
  status: { code: 'UNSET' | 'OK' | 'ERROR'; message: string | null };
  /** Span attributes by their dotted names (`gen_ai.request.model`, `quorum.port`, …). */
  attributes: Attributes;
  events: { name: string; time: string; attributes: Attributes }[];
  /** Resource attributes (`service.name`, …). */
  resource: Attributes;
  /** Instrumentation scope name: the tracer's name. */
  scope: string;
}

/** Flattens an SDK span into its JSONL form. */
export function spanToLine(span: ReadableSpan): SpanLine {
  const ctx = span.spanContext();
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: (SpanKind[span.kind] ?? 'INTERNAL') as SpanLine['kind'],
    startTime: hrTimeToTimeStamp(span.startTime),
    endTime: hrTimeToTimeStamp(span.endTime),
    durationMs: hrTimeToMilliseconds(span.duration),
    status: {
      code: (SpanStatusCode[span.status.code] ?? 'UNSET') as SpanLine['status']['code'],
      message: span.status.message || null,
    },
    attributes: span.attributes,
    events: span.events.map((e) => ({
      name: e.name,
      time: hrTimeToTimeStamp(e.time),
      attributes: e.attributes ?? {},
    })),
    resource: span.resource.attributes,
    scope: span.instrumentationScope.name,
  };
}

/**
 * Writes each finished span as one line of a JSONL file. Errors writing the file do not fail
 * the span export (the sink keeps them); they surface from `forceFlush()` and `shutdown()`,
 * which the CLI awaits.
 */
export class JsonlSpanExporter implements SpanExporter {
  readonly #sink: Sink<SpanLine>;
  #shutDown = false;

  /** @param target a JSONL path, or any sink (an `InMemorySink` in tests). */
  constructor(target: string | Sink<SpanLine>) {
    this.#sink = typeof target === 'string' ? new JsonlSink<SpanLine>(target) : target;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#shutDown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
      return;
    }
    for (const span of spans) this.#sink.write(spanToLine(span));
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  forceFlush(): Promise<void> {
    return this.#sink.flush();
  }

  shutdown(): Promise<void> {
    this.#shutDown = true;
    return this.#sink.close();
  }
}

/**
 * Hands each ended span straight to a sink. The SDK's SimpleSpanProcessor wraps every export in a
 * promise and tracks it, which is pure overhead for a sink that only queues a line; this
 * processor keeps the sink's own contract instead (`write` never throws, errors surface from
 * `forceFlush` and `shutdown`).
 */
export class JsonlSpanProcessor implements SpanProcessor {
  #shutDown = false;

  constructor(readonly sink: Sink<SpanLine>) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#shutDown) return;
    this.sink.write(spanToLine(span));
  }

  forceFlush(): Promise<void> {
    return this.sink.flush();
  }

  shutdown(): Promise<void> {
    this.#shutDown = true;
    return this.sink.close();
  }
}
