import { createTracing } from '../../../src/tracing/tracing.js';
import { InMemorySink } from '../../../src/sinks/inMemorySink.js';
import type { SpanLine } from '../../../src/tracing/jsonlSpanExporter.js';
import type { ModelFailure, ModelSuccess, Panel, PanelMember } from '../../../src/types.js';

/** A real tracer whose finished spans land in memory, in the order they end. */
export function memoryTracing() {
  const spans = new InMemorySink<SpanLine>();
  const tracing = createTracing({ spans, env: {} });
  return { tracer: tracing.tracer, spans: spans.events, tracing };
}

export const members: PanelMember[] = [0, 1, 2].map((port) => ({
  port,
  model: `model-${port}`,
  family: `family-${port}`,
  baseURL: 'http://127.0.0.1:4010/v1',
  apiKeyEnv: 'QUORUM_TEST_KEY',
  timeoutMs: 1000,
}));

export const panel: Panel = { source: 'sandbox', baseURL: 'http://127.0.0.1:4010/v1', apiKeyEnv: 'QUORUM_TEST_KEY', timeoutMs: 1000, members };

export function success(port: number, over: Partial<ModelSuccess> = {}): ModelSuccess {
  return { ok: true, port, model: `model-${port}`, family: `family-${port}`, latencyMs: 12, attempts: 1, text: `answer ${port}`, usage: { inputTokens: 10, outputTokens: 20 }, ...over };
}

export function failure(port: number, over: Partial<ModelFailure> = {}): ModelFailure {
  return { ok: false, port, model: `model-${port}`, family: `family-${port}`, latencyMs: 30, attempts: 3, kind: 'rate_limited', message: 'HTTP 429 from provider', status: 429, ...over };
}
