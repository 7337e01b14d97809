import { describe, expect, it } from 'vitest';
import type { QuorumEvent } from '../../../src/events.js';
import { RunEvents } from '../../../src/run/record/events.js';
import type { Vote } from '../../../src/claims/ballot.js';
import { InMemorySink } from '../../../src/sinks/inMemorySink.js';
import { startChild, traceparentOf } from '../../../src/tracing/tracing.js';
import type { ConsensusDocument } from '../../../src/types.js';
import { failure, memoryTracing, success } from './fixtures.js';

function newEvents(ids: { chunk?: { source: string; id: string }; batchId?: string } = {}) {
  const sink = new InMemorySink<QuorumEvent>();
  const span = startChild(memoryTracing().tracer, 'query_model', undefined);
  return { sink, span, events: new RunEvents(sink, { runId: 'run-1', ...ids }) };
}

describe('RunEvents: the CloudEvents of one run', () => {
  it('records a usable answer as model.responded, from its port, in the span handed in', () => {
    const { sink, span, events } = newEvents({ chunk: { source: 'a.md', id: 'a.md#2' }, batchId: 'b-1' });
    events.outcome(success(1, { finishReason: 'stop', usage: { inputTokens: 10, cost: 0.5 } }), span);
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({
      type: 'quorum.model.responded',
      source: '/quorum/port/1',
      runid: 'run-1',
      port: 1,
      chunkid: 'a.md#2',
      batchid: 'b-1',
      traceparent: traceparentOf(span),
    });
    expect(sink.events[0]!.data).toEqual({ port: 1, model: 'model-1', family: 'family-1', latencyMs: 12, attempts: 1, chars: 8, inputTokens: 10, cost: 0.5, finishReason: 'stop' });
  });

  it('records a failed call as model.failed with its kind and HTTP status, and no chunk or batch when there is none', () => {
    const { sink, span, events } = newEvents();
    events.outcome(failure(0), span);
    const [event] = sink.events;
    expect(event!.type).toBe('quorum.model.failed');
    expect(event).not.toHaveProperty('chunkid');
    expect(event).not.toHaveProperty('batchid');
    expect(event!.data).toEqual({ port: 0, model: 'model-0', family: 'family-0', kind: 'rate_limited', message: 'HTTP 429 from provider', attempts: 3, latencyMs: 30, status: 429 });
  });

  it('counts a ballot by vote, and marks an unreadable ballot or a failed voter as not counted', () => {
    const { sink, span, events } = newEvents();
    events.ballot({ outcome: success(2), ballot: new Map<string, Vote>([['c1', 'agree'], ['c2', { same: 'c1' }], ['c3', 'agree'], ['c4', 'unsure']]) }, span, 5);
    events.ballot({ outcome: success(1), ballot: null }, span, 5);
    events.ballot({ outcome: failure(0, { kind: 'timeout', message: 'too slow' }), ballot: null }, span, 5);
    expect(sink.events.map((e) => [e.type, e.port])).toEqual([
      ['quorum.vote.cast', 2],
      ['quorum.vote.cast', 1],
      ['quorum.vote.cast', 0],
    ]);
    expect(sink.events[0]!.data).toEqual({ port: 2, model: 'model-2', family: 'family-2', round: 2, ok: true, latencyMs: 12, attempts: 1, candidates: 5, agree: 2, disagree: 0, unsure: 1, same: 1, inputTokens: 10, outputTokens: 20 });
    expect(sink.events[1]!.data).toMatchObject({ ok: false, kind: 'malformed', message: 'No votes could be read from the ballot', agree: 0 });
    expect(sink.events[2]!.data).toMatchObject({ ok: false, kind: 'timeout', message: 'too slow' });
    expect(sink.events[2]!.data).not.toHaveProperty('inputTokens');
  });

  it('sums up a decided run in consensus.reached and ends it with run.completed, both from the run', () => {
    const { sink, span, events } = newEvents();
    const doc = { status: 'degraded', quorum: { configured: 2, required: 1, responders: 1, panel: 3, minResponders: 2 }, claims: [{}, {}], dissent: [{}], failures: [] } as unknown as ConsensusDocument;
    events.consensusReached(doc, span);
    events.runCompleted(span, { status: 'degraded', durationMs: 5, exitCode: 0 });
    expect(sink.events.map((e) => [e.type, e.source])).toEqual([
      ['quorum.consensus.reached', '/quorum/run'],
      ['quorum.run.completed', '/quorum/run'],
    ]);
    expect(sink.events[0]!.data).toEqual({ status: 'degraded', quorum: doc.quorum, claims: 2, dissent: 1, failures: 0 });
  });
});
