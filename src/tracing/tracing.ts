import {
  context,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  type Tracer,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE } from './attributes.js';
import { JsonlSink } from '../sinks/jsonlSink.js';
import type { Sink } from '../sinks/sink.js';
import { JsonlSpanProcessor, type SpanLine } from './jsonlSpanExporter.js';
import { LazyExporter } from './lazyExporter.js';

export interface TracingOptions {
  /**
   * Where every finished span goes, whatever else is configured: a sink (the run log's
   * `traces.jsonl`, committed with the other logs), or a JSONL path of its own.
   */
  spans?: Sink<SpanLine>;
  /** The `traces.jsonl` to append to when no `spans` sink is given. */
  tracesPath?: string;
  /** `service.name` of the resource; `OTEL_SERVICE_NAME` wins, then this, then `quorum`. */
  serviceName?: string;
  /** `service.version` of the resource, when known. */
  serviceVersion?: string;
  /**
   * Where the `OTEL_*` variables are read from (default `process.env`):
   * - `OTEL_TRACES_EXPORTER`: comma list of `otlp`, `console`, `none`. Unset means "otlp when an
   *   endpoint is set". traces.jsonl is written in every case.
   * - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT`
   *   (`/v1/traces` appended); default `http://localhost:4318` when `otlp` is listed.
   * - `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS`: `k=v,k2=v2`.
   * - `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` (`k=v,…`).
   */
  env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  /** Pass this around; nothing is registered globally. */
  tracer: Tracer;
  /** Exports what is pending and closes every exporter. Idempotent; await it in `finally`. */
  shutdown(): Promise<void>;
  /** Exports what is pending; rejects when traces.jsonl could not be written. */
  forceFlush(): Promise<void>;
}

/** Name of the tracer (instrumentation scope) quorum's spans carry. */
export const TRACER_NAME = 'quorum';

/**
 * Builds a tracer provider that writes every finished span to `tracesPath`, plus OTLP/HTTP
 * (batched) and console exporters when the environment asks for them.
 *
 * The provider is deliberately not registered as the global one: quorum is also a library,
 * and a host application's own provider must not be replaced. There is no context manager
 * either, since RxJS callbacks lose async context anyway; parents are passed explicitly with
 * `startChild`.
 */
export function createTracing(opts: TracingOptions): Tracing {
  const env = opts.env ?? process.env;
  if (!opts.spans && !opts.tracesPath) throw new TypeError('createTracing needs a spans sink or a tracesPath');
  // Each span is handed to the sink as it ends (the sink batches the disk writes), so a crash
  // mid-run still leaves the spans that finished, at the cost of the span processor's own
  // per-span bookkeeping only.
  const spanProcessors: SpanProcessor[] = [new JsonlSpanProcessor(opts.spans ?? new JsonlSink<SpanLine>(opts.tracesPath!))];

  const exporters = listOf(env.OTEL_TRACES_EXPORTER);
  const otlpUrl = otlpTracesUrl(env, exporters);
  if (otlpUrl) {
    const headers = parseKeyValues(
      env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS,
    );
    const otlp = new LazyExporter(async () => new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: otlpUrl, headers }));
    spanProcessors.push(new BatchSpanProcessor(otlp));
  }
  if (exporters.includes('console')) {
    spanProcessors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  }

  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES),
      'service.name': env.OTEL_SERVICE_NAME || opts.serviceName || 'quorum',
      ...(opts.serviceVersion ? { 'service.version': opts.serviceVersion } : {}),
    }),
    spanProcessors,
  });

  let shuttingDown: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(TRACER_NAME, opts.serviceVersion),
    forceFlush: () => provider.forceFlush().catch((e: unknown) => Promise.reject(oneError(e))),
    shutdown: () => (shuttingDown ??= provider.shutdown()),
  };
}

/**
 * Starts a span as a child of `parent` (a new trace when `parent` is undefined). The parent is
 * passed by hand because without a context manager, and inside RxJS callbacks, there is no
 * "active" span to inherit.
 */
export function startChild(
  tracer: Tracer,
  name: string,
  parent: Span | undefined,
  attributes?: Attributes,
  options: { kind?: SpanKind; links?: Link[] } = {},
): Span {
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  return tracer.startSpan(name, { ...options, ...(attributes ? { attributes } : {}) }, ctx);
}

/**
 * W3C `traceparent` of a span (`00-<traceId>-<spanId>-<flags>`, flags `01` when sampled), for
 * the CloudEvents `traceparent` extension that joins events to spans.
 */
export function traceparentOf(span: Span | SpanContext): string {
  const sc = 'spanContext' in span ? span.spanContext() : span;
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${sc.traceId}-${sc.spanId}-${flags}`;
}

/**
 * A span started elsewhere (another process: the batch span of a queued batch), known only by its
 * W3C traceparent, as a parent for `startChild`; undefined when the text is not a traceparent.
 */
export function remoteParent(traceparent: string | undefined): Span | undefined {
  const m = traceparent === undefined ? null : /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent);
  if (!m) return undefined;
  return trace.wrapSpanContext({ traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16), isRemote: true });
}

/**
 * Marks a span failed the way the GenAI conventions expect: status ERROR with a message, and
 * `error.type` set to a low-cardinality kind (quorum uses its failure kinds: `timeout`, …).
 */
export function markSpanFailed(span: Span, errorType: string, message?: string): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
}

/** The SDK rejects forceFlush with an array of per-processor errors; callers expect one Error. */
function oneError(e: unknown): Error {
  const all = (Array.isArray(e) ? e : [e]).map((x) => (x instanceof Error ? x : new Error(String(x))));
  if (all.length === 1) return all[0]!;
  return new AggregateError(all, all.map((x) => x.message).join('; '));
}

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/** The OTLP traces URL, or undefined when OTLP export is off (see `TracingOptions.env`). */
export function otlpTracesUrl(
  env: NodeJS.ProcessEnv,
  exporters = listOf(env.OTEL_TRACES_EXPORTER),
): string | undefined {
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const wanted =
    exporters.length === 0 ? Boolean(specific || base) : exporters.includes('otlp');
  if (!wanted) return undefined;
  if (specific) return specific;
  return `${(base || 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
}

/** Parses the OTel `k=v,k2=v2` format (values percent-decoded); malformed pairs are skipped. */
function parseKeyValues(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    try {
      out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // A stray '%' in one pair should not cost the others.
    }
  }
  return out;
}
