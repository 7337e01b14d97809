import type { QuorumEvent } from '../events.js';
import type { DecidedResult } from '../queue/messages.js';
import type { AnswerLine, RunLine } from '../runlog/lines.js';
import type { BlackboardIdentity, BlackboardSignal } from '../sinks/blackboard.js';
import type { Sink } from '../sinks/sink.js';
import { createTracing } from '../tracing/tracing.js';
import type { SpanLine } from '../tracing/jsonlSpanExporter.js';
import type { RecordSinks } from './runSinks.js';

/**
 * Where a queue worker's run is recorded: every line the run would have appended to a run log,
 * kept in memory until the run is decided and sent to the submitter in one result, so a worker
 * that dies mid-run leaves nothing half-recorded anywhere. Events also go to the bus as they
 * happen, when one is given.
 */
export function captureSinks(identity: BlackboardIdentity, bus?: Sink<QuorumEvent>) {
  const lines = { runs: [] as RunLine[], answers: [] as AnswerLine[], events: [] as QuorumEvent[], spans: [] as SpanLine[], blackboard: [] as BlackboardSignal[] };
  const keep = <E>(into: E[], also?: Sink<E>): Sink<E> => ({
    write(line) {
      into.push(line);
      also?.write(line);
    },
    flush: async () => undefined,
    close: async () => undefined,
  });
  // A tracer per run, so its spans are told apart from other runs' (all share the batch's trace
  // id). `env: {}`: a worker exports no OTLP of its own; its spans reach the submitter's traces.jsonl.
  const tracing = createTracing({ spans: keep(lines.spans), env: {} });
  const sinks: RecordSinks = {
    tracing,
    events: keep(lines.events, bus),
    answers: keep(lines.answers),
    runs: keep(lines.runs),
    blackboard: keep(lines.blackboard),
    identity,
    runFiles: false,
    renderViews: () => undefined,
  };
  return {
    sinks,
    /** The run's lines once it is decided (spans flushed); undefined when it wrote no run line. */
    async lines(): Promise<DecidedResult['lines'] | undefined> {
      await tracing.shutdown();
      const run = lines.runs[0];
      return run && { run, answers: lines.answers, events: lines.events, spans: lines.spans, blackboard: lines.blackboard };
    },
    close: () => tracing.shutdown(),
  };
}
