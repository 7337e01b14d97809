import { join } from 'node:path';
import type { QuorumEvent } from '../events.js';
import type { BlackboardIdentity, BlackboardSignal } from '../sinks/blackboard.js';
import { JsonlSink } from '../sinks/jsonlSink.js';
import { createTracing, type Tracing } from '../tracing/tracing.js';

/** The append-only files every run writes to, opened together and closed together. */
export interface RunSinks {
  tracing: Tracing;
  events: JsonlSink<QuorumEvent>;
  blackboard: JsonlSink<BlackboardSignal>;
  identity: BlackboardIdentity;
  /** Flushes and closes everything; rejects naming the folder when an artifact could not be written. */
  close(): Promise<void>;
}

export function openRunSinks(out: string, env: NodeJS.ProcessEnv): RunSinks {
  const tracing = createTracing({ tracesPath: join(out, 'traces.jsonl'), env });
  const events = new JsonlSink<QuorumEvent>(join(out, 'cloudevents.jsonl'));
  const blackboard = new JsonlSink<BlackboardSignal>(join(out, 'blackboard.jsonl'));
  return {
    tracing,
    events,
    blackboard,
    identity: { hive: env.QUORUM_HIVE || 'quorum', gen: env.QUORUM_GEN || 0, port: env.QUORUM_GATHERER_PORT || 'gather' },
    async close() {
      const closed = await Promise.allSettled([events.close(), blackboard.close(), tracing.shutdown()]);
      const failed = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      // An artifact that could not be written is a failed run, even if the vote went well.
      if (failed) throw new Error(`Could not write the artifacts in ${out}: ${(failed.reason as Error).message}`);
    },
  };
}
