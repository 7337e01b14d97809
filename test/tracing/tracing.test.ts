import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, trace } from '@opentelemetry/api';
import * as semconv from '@opentelemetry/semantic-conventions/incubating';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeEvent, EVENT_TYPES } from '../../src/events.js';
import { readJsonl } from '../../src/sinks/jsonlSink.js';
import * as A from '../../src/tracing/attributes.js';
import type { SpanLine } from '../../src/tracing/jsonlSpanExporter.js';
import {
  createTracing,
  markSpanFailed,
  otlpTracesUrl,
  startChild,
  traceparentOf,
} from '../../src/tracing/tracing.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'quorum-trace-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

/** Records a small run: root → scatter → query_model ×3 (one failing), root → gather. */
function recordRun(tracing: ReturnType<typeof createTracing>) {
  const { tracer } = tracing;
  const root = startChild(tracer, A.SPAN_NAMES.root, undefined, { [A.ATTR_QUORUM_RUN_ID]: 'run-1' });
  const scatter = startChild(tracer, A.SPAN_NAMES.scatter, root);
  const calls = [0, 1, 2].map((port) =>
    startChild(
      tracer,
      A.SPAN_NAMES.queryModel,
      scatter,
      {
        [A.ATTR_GEN_AI_OPERATION_NAME]: A.GEN_AI_OPERATION_CHAT,
        [A.ATTR_GEN_AI_PROVIDER_NAME]: A.GEN_AI_PROVIDER_OPENAI,
        [A.ATTR_GEN_AI_REQUEST_MODEL]: `model-${port}`,
        [A.ATTR_QUORUM_PORT]: port,
      },
      { kind: SpanKind.CLIENT },
    ),
  );
  calls[0]!.setAttributes({ [A.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 100, [A.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 50 });
  calls[1]!.addEvent('retry', { attempt: 2 });
  markSpanFailed(calls[2]!, 'timeout', 'no answer in 30000 ms');
  for (const c of calls) c.end();
  scatter.end();
  const gather = startChild(tracer, A.SPAN_NAMES.gather, root);
  gather.end();
  root.end();
  return { root, scatter, calls, gather };
}

describe('createTracing', () => {
  it('writes a root → scatter → query_model ×3 tree to traces.jsonl with parents, attributes and durations', async () => {
    const tracesPath = join(dir, 'artifacts', 'traces.jsonl');
    const tracing = createTracing({ tracesPath, serviceName: 'quorum-test', env: {} });
    const { root, scatter } = recordRun(tracing);
    await tracing.shutdown();

    const { records, skipped } = await readJsonl<SpanLine>(tracesPath);
    expect(skipped).toBe(0);
    // Spans are written as they end, children first.
    expect(records.map((s) => s.name)).toEqual([
      'query_model', 'query_model', 'query_model', 'scatter', 'gather', 'scatter_gather_research',
    ]);
    const rootId = root.spanContext().spanId;
    const scatterId = scatter.spanContext().spanId;
    const byName = (n: string) => records.filter((s) => s.name === n);
    expect(byName('scatter_gather_research')[0]!.parentSpanId).toBeNull();
    expect(byName('scatter')[0]!.parentSpanId).toBe(rootId);
    expect(byName('gather')[0]!.parentSpanId).toBe(rootId);
    expect(byName('query_model').map((s) => s.parentSpanId)).toEqual([scatterId, scatterId, scatterId]);
    expect(new Set(records.map((s) => s.traceId))).toEqual(new Set([root.spanContext().traceId]));

    const [ok, retried, timedOut] = byName('query_model');
    expect(ok).toMatchObject({
      kind: 'CLIENT',
      status: { code: 'UNSET', message: null },
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'model-0',
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 50,
        'quorum.port': 0,
      },
      resource: { 'service.name': 'quorum-test' },
      scope: 'quorum',
    });
    expect(retried!.events).toEqual([{ name: 'retry', time: expect.any(String), attributes: { attempt: 2 } }]);
    expect(timedOut!.status).toEqual({ code: 'ERROR', message: 'no answer in 30000 ms' });
    expect(timedOut!.attributes['error.type']).toBe('timeout');

    for (const s of records) {
      expect(s.durationMs).toBeGreaterThanOrEqual(0);
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(Date.parse(s.endTime)).toBeGreaterThanOrEqual(Date.parse(s.startTime));
      expect(s.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    }
    expect(byName('scatter_gather_research')[0]!.attributes['quorum.run_id']).toBe('run-1');
  });

  it('gives events a traceparent that names the span they happened in', () => {
    const tracing = createTracing({ tracesPath: join(dir, 't.jsonl'), env: {} });
    const span = startChild(tracing.tracer, 'query_model', undefined);
    const tp = traceparentOf(span);
    const { traceId, spanId } = span.spanContext();
    expect(tp).toBe(`00-${traceId}-${spanId}-01`);
    expect(traceparentOf(span.spanContext())).toBe(tp);
    expect(makeEvent(EVENT_TYPES.runStarted, {} as never, { runId: 'r', traceparent: tp }).traceparent).toBe(tp);
    span.end();
    return tracing.shutdown();
  });

  it('leaves the global tracer provider alone', async () => {
    const tracing = createTracing({ tracesPath: join(dir, 't.jsonl'), env: {} });
    expect(trace.getTracer('someone-else').startSpan('x').isRecording()).toBe(false);
    expect(tracing.tracer.startSpan('y').isRecording()).toBe(true);
    await tracing.shutdown();
  });

  it('shuts down idempotently', async () => {
    const tracing = createTracing({ tracesPath: join(dir, 't.jsonl'), env: {} });
    await Promise.all([tracing.shutdown(), tracing.shutdown()]);
    await tracing.shutdown();
  });

  it('surfaces an unwritable traces file from forceFlush', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const tracing = createTracing({ tracesPath: join(dir, 'a-file', 't.jsonl'), env: {} });
    startChild(tracing.tracer, 'x', undefined).end();
    await expect(tracing.forceFlush()).rejects.toThrow(/Could not append to/);
    await tracing.shutdown();
  });

  it('also exports over OTLP/HTTP to /v1/traces when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    const received: { method?: string; url?: string; type?: string; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const tracing = createTracing({
        tracesPath: join(dir, 't.jsonl'),
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/` },
      });
      recordRun(tracing);
      await tracing.shutdown();
      expect(received.length).toBeGreaterThanOrEqual(1);
      expect(received[0]).toMatchObject({ method: 'POST', url: '/v1/traces', type: 'application/json' });
      const names = received.flatMap((r) =>
        (JSON.parse(r.body) as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] }).resourceSpans
          .flatMap((rs) => rs.scopeSpans)
          .flatMap((ss) => ss.spans.map((s) => s.name)),
      );
      expect(names.sort()).toEqual(
        ['gather', 'query_model', 'query_model', 'query_model', 'scatter', 'scatter_gather_research'],
      );
    } finally {
      server.close();
    }
  });

  it('also prints spans when OTEL_TRACES_EXPORTER lists console', async () => {
    const dirSpy = vi.spyOn(console, 'dir').mockImplementation(() => {});
    const tracing = createTracing({ tracesPath: join(dir, 't.jsonl'), env: { OTEL_TRACES_EXPORTER: 'console' } });
    startChild(tracing.tracer, 'printed', undefined).end();
    await tracing.shutdown();
    expect(dirSpy).toHaveBeenCalledWith(expect.objectContaining({ name: 'printed' }), expect.anything());
  });
});

describe('otlpTracesUrl', () => {
  it('is off when no endpoint is configured', () => {
    expect(otlpTracesUrl({})).toBeUndefined();
  });
  it('appends /v1/traces to the generic endpoint', () => {
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe(
      'http://collector:4318/v1/traces',
    );
  });
  it('uses the traces-specific endpoint as given', () => {
    expect(
      otlpTracesUrl({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom',
      }),
    ).toBe('http://b:9999/custom');
  });
  it('follows OTEL_TRACES_EXPORTER when it is set, comma lists included', () => {
    expect(otlpTracesUrl({ OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' })).toBeUndefined();
    expect(otlpTracesUrl({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' })).toBeUndefined();
    expect(otlpTracesUrl({ OTEL_TRACES_EXPORTER: 'console, otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' })).toBe(
      'http://a:4318/v1/traces',
    );
    expect(otlpTracesUrl({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe('http://localhost:4318/v1/traces');
  });
});

describe('attribute names', () => {
  it('match the installed OpenTelemetry semantic conventions', () => {
    expect({
      op: A.ATTR_GEN_AI_OPERATION_NAME,
      provider: A.ATTR_GEN_AI_PROVIDER_NAME,
      reqModel: A.ATTR_GEN_AI_REQUEST_MODEL,
      resModel: A.ATTR_GEN_AI_RESPONSE_MODEL,
      resId: A.ATTR_GEN_AI_RESPONSE_ID,
      finish: A.ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
      inTok: A.ATTR_GEN_AI_USAGE_INPUT_TOKENS,
      outTok: A.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
      maxTok: A.ATTR_GEN_AI_REQUEST_MAX_TOKENS,
      temp: A.ATTR_GEN_AI_REQUEST_TEMPERATURE,
      err: A.ATTR_ERROR_TYPE,
      addr: A.ATTR_SERVER_ADDRESS,
      port: A.ATTR_SERVER_PORT,
      chat: A.GEN_AI_OPERATION_CHAT,
      openai: A.GEN_AI_PROVIDER_OPENAI,
    }).toEqual({
      op: semconv.ATTR_GEN_AI_OPERATION_NAME,
      provider: semconv.ATTR_GEN_AI_PROVIDER_NAME,
      reqModel: semconv.ATTR_GEN_AI_REQUEST_MODEL,
      resModel: semconv.ATTR_GEN_AI_RESPONSE_MODEL,
      resId: semconv.ATTR_GEN_AI_RESPONSE_ID,
      finish: semconv.ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
      inTok: semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS,
      outTok: semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
      maxTok: semconv.ATTR_GEN_AI_REQUEST_MAX_TOKENS,
      temp: semconv.ATTR_GEN_AI_REQUEST_TEMPERATURE,
      err: semconv.ATTR_ERROR_TYPE,
      addr: semconv.ATTR_SERVER_ADDRESS,
      port: semconv.ATTR_SERVER_PORT,
      chat: semconv.GEN_AI_OPERATION_NAME_VALUE_CHAT,
      openai: semconv.GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
    });
  });
});
