import { describe, expect, it } from 'vitest';
import { RunSpans } from '../../../src/run/record/spans.js';
import * as A from '../../../src/tracing/attributes.js';
import { failure, members, memoryTracing, panel, success } from './fixtures.js';

function newRun(over: { replayOf?: string } = {}) {
  const t = memoryTracing();
  const spans = new RunSpans(t.tracer, { runId: 'run-1', panel, quorum: { configured: 2 }, sandbox: true, chunk: { source: 'a.md', id: 'a.md#1' }, ...over });
  const byName = (name: string) => t.spans.filter((s) => s.name === name);
  return { ended: t.spans, spans, byName };
}

describe('RunSpans: the span tree of one run', () => {
  it('hangs round-1 calls under scatter, closes scatter at the first stage and ends gather and the root last', () => {
    const r = newRun();
    r.spans.portStarted(members[0]!, 1);
    r.spans.firstToken(members[0]!, 1);
    const ended = r.spans.endPort(success(0, { responseId: 'gen-1', finishReason: 'stop' }), 1);
    expect(ended.called).toBe(true);
    expect(r.spans.stage(A.SPAN_NAMES.extractClaims, () => 42)).toBe(42);
    r.spans.end();

    expect(r.ended.map((s) => s.name)).toEqual(['query_model', 'scatter', 'extract_claims', 'gather', 'scatter_gather_research']);
    const [call, scatter, stage, gather, root] = r.ended;
    expect(root!.parentSpanId).toBeNull();
    expect(root!.attributes).toMatchObject({ [A.ATTR_QUORUM_RUN_ID]: 'run-1', 'quorum.panel.size': 3, 'quorum.chunk.id': 'a.md#1', 'quorum.sandbox': true });
    expect(scatter!.parentSpanId).toBe(root!.spanId);
    expect(call!.parentSpanId).toBe(scatter!.spanId);
    expect(call!.kind).toBe('CLIENT');
    expect(call!.events.map((e) => e.name)).toEqual(['gen_ai.first_token']);
    expect(call!.status.code).toBe('OK');
    expect(call!.attributes).toMatchObject({
      'quorum.round': 1,
      [A.ATTR_GEN_AI_PROVIDER_NAME]: 'quorum.sandbox',
      [A.ATTR_SERVER_ADDRESS]: '127.0.0.1',
      [A.ATTR_SERVER_PORT]: 4010,
      [A.ATTR_GEN_AI_RESPONSE_ID]: 'gen-1',
      [A.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 20,
      [A.ATTR_QUORUM_ATTEMPTS]: 1,
    });
    expect(stage!.parentSpanId).toBe(gather!.spanId);
    expect(gather!.parentSpanId).toBe(root!.spanId);
  });

  it('still gives a port cut before it started its span, and says it made no call', () => {
    const r = newRun();
    const { span, called } = r.spans.endPort(failure(2, { kind: 'cancelled', message: 'cut' }), 1);
    expect(called).toBe(false);
    expect(r.byName('query_model')).toHaveLength(1);
    expect(r.byName('query_model')[0]!.spanId).toBe(span.spanContext().spanId);
    expect(r.byName('query_model')[0]!.status).toEqual({ code: 'ERROR', message: 'cut' });
  });

  it('hangs vote-round calls under vote_round and ends it at the next stage, but not at synthesize_output', () => {
    const r = newRun();
    r.spans.voteRoundStarted(4);
    r.spans.portStarted(members[1]!, 2);
    r.spans.endPort(success(1), 2);
    r.spans.stage(A.SPAN_NAMES.synthesizeOutput, () => undefined);
    expect(r.byName('vote_round')).toHaveLength(0);
    r.spans.stage(A.SPAN_NAMES.voteConsensus, () => undefined);
    const [vote] = r.byName('vote_round');
    expect(vote!.attributes['quorum.candidates']).toBe(4);
    expect(r.byName('query_model')[0]!.parentSpanId).toBe(vote!.spanId);
  });

  it('marks a stage that throws as failed and lets the error through', () => {
    const r = newRun();
    expect(() => r.spans.stage(A.SPAN_NAMES.voteConsensus, () => { throw new Error('bad tally'); })).toThrow('bad tally');
    const [stage] = r.byName('vote_consensus');
    expect(stage!.status).toEqual({ code: 'ERROR', message: 'bad tally' });
    expect(stage!.attributes['error.type']).toBe('exception');
  });

  it('ends a chair call with its outcome, and does nothing for a chair that never started', () => {
    const r = newRun();
    r.spans.chairFinished(success(0));
    expect(r.byName('query_model')).toHaveLength(0);
    r.spans.chairStarted(members[0]!);
    r.spans.chairFinished(failure(0, { kind: 'timeout', message: 'too slow' }));
    const [chair] = r.byName('query_model');
    expect(chair!.attributes).toMatchObject({ 'quorum.role': 'chair', [A.ATTR_QUORUM_ATTEMPTS]: 3 });
    expect(chair!.status.code).toBe('ERROR');
  });

  it('cancels the calls in flight and fails the root when the run ends with no result', () => {
    const r = newRun();
    r.spans.portStarted(members[0]!, 1);
    r.spans.portStarted(members[1]!, 1);
    r.spans.cancel('interrupted', 'interrupted by the user');
    r.spans.end();
    const calls = r.byName('query_model');
    expect(calls.map((s) => [s.attributes['quorum.port'], s.attributes['error.type'], s.status.code])).toEqual([
      [0, 'cancelled', 'ERROR'],
      [1, 'cancelled', 'ERROR'],
    ]);
    const [root] = r.byName('scatter_gather_research');
    expect(root!.status).toEqual({ code: 'ERROR', message: 'interrupted by the user' });
    expect(root!.attributes['error.type']).toBe('interrupted');
  });

  it('opens no scatter span on a replay, which calls no model', () => {
    const r = newRun({ replayOf: 'run-0' });
    r.spans.stage(A.SPAN_NAMES.voteConsensus, () => undefined);
    r.spans.end();
    expect(r.ended.map((s) => s.name)).toEqual(['vote_consensus', 'gather', 'scatter_gather_research']);
  });
});
