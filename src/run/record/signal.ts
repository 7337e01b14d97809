import { join, relative } from 'node:path';
import { blackboardSignal, type BlackboardSignal } from '../../sinks/blackboard.js';
import type { ConsensusDocument } from '../../types.js';
import type { RunSinks } from '../runSinks.js';

/** The one-line summary a decided run leaves on the blackboard. */
export function runSummary(doc: ConsensusDocument, query: string): string {
  const q = doc.quorum;
  return doc.status === 'quorum_lost'
    ? `quorum lost: ${q.responders} of ${q.panel} ports answered, ${q.minResponders} needed — "${query}"`
    : `${doc.claims.length} consensus claim(s) at ${q.required}/${q.responders}${doc.status === 'degraded' ? ' (degraded)' : ''}, ${doc.dissent.length} dissent — "${query}"`;
}

/**
 * The blackboard.jsonl signal of a run that ended. A run with no result (failed, interrupted)
 * leaves none: there is nothing for another agent to pull.
 */
export function writeSignal(
  sinks: Pick<RunSinks, 'blackboard' | 'runFiles' | 'identity'>,
  run: { out: string; runId: string; runDir: string },
  status: BlackboardSignal['mark'],
  summary: string,
): void {
  if (status === 'failed' || status === 'interrupted') return;
  sinks.blackboard.write(
    // Relative to the artifacts folder, so the signal stays true when the folder moves.
    blackboardSignal({
      status,
      consensusMdPath: sinks.runFiles ? relative(run.out, join(run.runDir, 'consensus.md')) : `runs.jsonl#${run.runId}`,
      summary,
      identity: sinks.identity,
    }),
  );
}
