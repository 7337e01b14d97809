import { CloudEvent, ValidationError } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import {
  EVENT_TYPES,
  makeEvent,
  type ConsensusReachedData,
  type ModelFailedData,
  type ModelRespondedData,
  type RunCompletedData,
  type RunStartedData,
} from '../../src/events.js';

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const started: RunStartedData = {
  query: 'What causes auroras?',
  panel: {
    source: 'built-in',
    size: 2,
    members: [
      { port: 0, model: 'meta-llama/llama-3.3-70b-instruct:free', family: 'meta' },
      { port: 1, model: 'deepseek/deepseek-chat:free', family: 'deepseek' },
    ],
  },
  quorum: { configured: 2, minResponders: 2 },
  context: null,
  sandbox: true,
};
const responded: ModelRespondedData = {
  port: 1,
  model: 'deepseek/deepseek-chat:free',
  family: 'deepseek',
  latencyMs: 812.5,
  attempts: 2,
  inputTokens: 120,
  outputTokens: 340,
  cost: 0.00012,
  claims: 6,
};
const failed: ModelFailedData = {
  port: 0,
  model: 'meta-llama/llama-3.3-70b-instruct:free',
  family: 'meta',
  kind: 'rate_limited',
  message: 'HTTP 429 from provider',
  attempts: 3,
  latencyMs: 30000,
  status: 429,
};
const reached: ConsensusReachedData = {
  status: 'degraded',
  quorum: { configured: 2, required: 1, responders: 1, panel: 2, minResponders: 1 },
  claims: 4,
  dissent: 2,
  failures: 1,
};
const completed: RunCompletedData = { status: 'degraded', durationMs: 31234.7, exitCode: 0 };

describe('makeEvent', () => {
  it('builds a structured-mode CloudEvent 1.0 with quorum extensions for a model event', () => {
    const e = makeEvent(EVENT_TYPES.modelResponded, responded, {
      runId: 'run-1',
      port: 1,
      chunkId: 'chunk-9',
      traceparent,
      id: 'ev-1',
      time: '2025-03-01T12:00:00Z',
    });
    expect(e).toEqual({
      specversion: '1.0',
      id: 'ev-1',
      source: '/quorum/port/1',
      type: 'quorum.model.responded',
      time: '2025-03-01T12:00:00.000Z',
      datacontenttype: 'application/json',
      runid: 'run-1',
      port: 1,
      chunkid: 'chunk-9',
      traceparent,
      data: responded,
    });
  });

  it('sources run-level events from /quorum/run and leaves absent extensions out', () => {
    for (const [type, data] of [
      [EVENT_TYPES.runStarted, started],
      [EVENT_TYPES.consensusReached, reached],
      [EVENT_TYPES.runCompleted, completed],
    ] as const) {
      const e = makeEvent(type, data as never, { runId: 'run-2' });
      expect(e.source).toBe('/quorum/run');
      expect(Object.keys(e).sort()).toEqual(
        ['data', 'datacontenttype', 'id', 'runid', 'source', 'specversion', 'time', 'type'],
      );
    }
  });

  it('round-trips through JSON into a valid cloudevents SDK event', () => {
    const e = makeEvent(EVENT_TYPES.modelFailed, failed, { runId: 'run-3', port: 0, traceparent });
    const back = new CloudEvent<ModelFailedData>(JSON.parse(JSON.stringify(e)));
    expect(back.validate()).toBe(true);
    expect(back.port).toBe(0);
    expect(back.traceparent).toBe(traceparent);
    expect(back.data).toEqual(failed);
  });

  it('gives every event its own id and a current ISO time by default', () => {
    const a = makeEvent(EVENT_TYPES.runStarted, started, { runId: 'r' });
    const b = makeEvent(EVENT_TYPES.runStarted, started, { runId: 'r' });
    expect(a.id).not.toBe(b.id);
    expect(a.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(a.time) - Date.now())).toBeLessThan(60_000);
  });

  it('refuses a model event without a port, since its source is the port', () => {
    expect(() => makeEvent(EVENT_TYPES.modelFailed, failed, { runId: 'r' })).toThrow(
      /Expected a port for quorum.model.failed/,
    );
  });

  it('refuses a port that is not a non-negative integer (extensions may not be floats)', () => {
    expect(() => makeEvent(EVENT_TYPES.modelResponded, responded, { runId: 'r', port: 1.5 })).toThrow(
      /non-negative integer.*got 1.5/,
    );
    expect(() => makeEvent(EVENT_TYPES.modelResponded, responded, { runId: 'r', port: -1 })).toThrow(TypeError);
  });

  it('refuses a malformed traceparent and an empty run id', () => {
    expect(() => makeEvent(EVENT_TYPES.runStarted, started, { runId: 'r', traceparent: '00-abc-01' })).toThrow(
      /W3C traceparent/,
    );
    expect(() => makeEvent(EVENT_TYPES.runStarted, started, { runId: '' })).toThrow(/runId/);
  });

  it('lets the cloudevents SDK reject what its own validation rejects', () => {
    expect(() =>
      makeEvent(EVENT_TYPES.runCompleted, completed, { runId: 'r', time: 'not a date' }),
    ).toThrow(RangeError);
    // The SDK is really consulted: a bad id type is its ValidationError, not ours.
    expect(() => makeEvent(EVENT_TYPES.runCompleted, completed, { runId: 'r', id: 5 as never })).toThrow(
      ValidationError,
    );
  });

  it('reserves the vote and batch event types under the quorum namespace', () => {
    expect([EVENT_TYPES.voteCast, EVENT_TYPES.batchStarted, EVENT_TYPES.batchCompleted]).toEqual([
      'quorum.vote.cast',
      'quorum.batch.started',
      'quorum.batch.completed',
    ]);
    const cast = { port: 4, model: 'm', family: 'f', round: 2 as const, ok: true, latencyMs: 5, attempts: 1, candidates: 3, agree: 2, disagree: 0, unsure: 1, same: 0 };
    expect(makeEvent(EVENT_TYPES.voteCast, cast, { runId: 'r', port: 4 }).source).toBe('/quorum/port/4');
    expect(makeEvent(EVENT_TYPES.batchStarted, { files: 2 }, { runId: 'b' }).source).toBe('/quorum/run');
  });
});
