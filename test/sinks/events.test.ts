import { CloudEvent } from 'cloudevents';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVENT_TYPES,
  PORT_EVENT_TYPES,
  makeEvent,
  type ConsensusReachedData,
  type EventContext,
  type EventDataMap,
  type QuorumEventType,
  type ModelFailedData,
  type ModelRespondedData,
  type RunCompletedData,
  type RunStartedData,
  type VoteCastData,
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
const cast: VoteCastData = {
  port: 4,
  model: 'm',
  family: 'f',
  round: 2,
  ok: false,
  latencyMs: 5.5,
  attempts: 1,
  candidates: 3,
  agree: 0,
  disagree: 0,
  unsure: 0,
  same: 0,
  kind: 'malformed',
  message: 'no ballot in the reply',
};

/** One `data` per event type: a type added to EVENT_TYPES without an entry here fails to compile. */
const dataOf: { [K in QuorumEventType]: EventDataMap[K] } = {
  'quorum.run.started': { ...started, rounds: 2, timeoutMs: 60_000, replayOf: 'run-0', supersedes: ['run-a'], context: { source: 'spec.md', chars: 1234 } },
  'quorum.model.responded': { ...responded, chars: 2048, finishReason: 'stop', responseId: 'gen-1' },
  'quorum.model.failed': failed,
  'quorum.consensus.reached': reached,
  'quorum.run.completed': { status: 'interrupted', durationMs: 12, exitCode: 130, message: 'Interrupted by SIGINT' },
  'quorum.vote.cast': cast,
  'quorum.batch.started': { query: 'q', files: 2, chunks: 5, resumed: false, alreadyDone: 0, concurrency: 2, quorum: undefined, rounds: 2 },
  'quorum.batch.completed': { outcome: 'completed', chunks: 5, wallMs: 1234.5 },
  'quorum.run.superseded': { keptRunId: '20261206T090000Z-aaaaaa', worker: 'host:42', status: 'consensus' },
};
const ALL_TYPES = Object.values(EVENT_TYPES);

/** The event as the cloudevents SDK sees it: its constructor validates (strict) and throws on any violation. */
function sdkEvent(event: object): CloudEvent<unknown> {
  return new CloudEvent<unknown>(event as never);
}

/** The JSON text of a value, parsed back: what a reader of cloudevents.jsonl gets. */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

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

  it('refuses an event id that is not a non-empty string and a time that is not a date', () => {
    expect(() => makeEvent(EVENT_TYPES.runCompleted, completed, { runId: 'r', time: 'not a date' })).toThrow(RangeError);
    expect(() => makeEvent(EVENT_TYPES.runCompleted, completed, { runId: 'r', id: 5 as never })).toThrow(/event id/);
    expect(() => makeEvent(EVENT_TYPES.runCompleted, completed, { runId: 'r', id: '' })).toThrow(TypeError);
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

// makeEvent does not run the cloudevents SDK (it cost several % of CPU per call); these tests
// keep its fixed shape checked by the SDK's own validation (CloudEvents 1.0 JSON schema,
// attribute names, extension value types) instead.
describe('makeEvent output against the cloudevents SDK', () => {
  const fullCtx = (type: QuorumEventType): EventContext => ({
    runId: 'run-1',
    ...(PORT_EVENT_TYPES.has(type) && { port: 3 }),
    chunkId: 'a1b2c3d4e5f6',
    batchId: 'batch-20250301-abc',
    traceparent,
    id: 'ev-1',
    time: new Date('2025-03-01T12:00:00.123Z'),
  });

  it.each(ALL_TYPES)('%s: valid as made, with every extension and with none', (type) => {
    const minimal = makeEvent(type, dataOf[type] as never, { runId: 'r', ...(PORT_EVENT_TYPES.has(type) && { port: 0 }) });
    const full = makeEvent(type, dataOf[type] as never, fullCtx(type));
    for (const event of [minimal, full]) {
      const sdk = sdkEvent(event);
      expect(sdk.validate()).toBe(true);
      // The SDK reads the plain object exactly as written: same attributes, same values.
      expect(viaJson(sdk)).toEqual(viaJson(event));
      // And so does a reader of the JSONL line.
      expect(sdkEvent(viaJson(event) as object).validate()).toBe(true);
    }
    expect(Object.keys(full).filter((k) => !['data', 'datacontenttype', 'id', 'source', 'specversion', 'time', 'type'].includes(k)).sort()).toEqual(
      ['batchid', 'chunkid', 'runid', 'traceparent', ...(PORT_EVENT_TYPES.has(type) ? ['port'] : [])].sort(),
    );
  });

  it('stays valid for any context makeEvent accepts', () => {
    const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_TYPES),
        fc.record(
          {
            runId: fc.string({ minLength: 1 }),
            port: fc.nat({ max: 1_000_000 }),
            chunkId: fc.string(),
            batchId: fc.string(),
            traceparent: fc.tuple(hex(2), hex(32), hex(16), hex(2)).map((parts) => parts.join('-')),
            id: fc.string({ minLength: 1 }),
            time: fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
          },
          { requiredKeys: ['runId'] },
        ),
        (type, ctx) => {
          const event = makeEvent(type, dataOf[type] as never, { ...ctx, ...(PORT_EVENT_TYPES.has(type) && { port: ctx.port ?? 0 }) });
          expect(sdkEvent(event).validate()).toBe(true);
          expect(sdkEvent(viaJson(event) as object).validate()).toBe(true);
        },
      ),
    );
  });
});
