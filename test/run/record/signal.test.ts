import { describe, expect, it } from 'vitest';
import { runSummary, writeSignal } from '../../../src/run/record/signal.js';
import type { BlackboardSignal } from '../../../src/sinks/blackboard.js';
import { InMemorySink } from '../../../src/sinks/inMemorySink.js';
import type { ConsensusDocument } from '../../../src/types.js';

const identity = { hive: 'h', gen: 3, port: 'gather' };
const run = { out: '/tmp/out', runId: 'run-1', runDir: '/tmp/out/runs/run-1' };

function doc(status: ConsensusDocument['status']): ConsensusDocument {
  return { status, quorum: { configured: 3, required: 2, responders: 2, panel: 4, minResponders: 3 }, claims: [{}, {}], dissent: [{}] } as unknown as ConsensusDocument;
}

describe('the blackboard signal of a run', () => {
  it('sums up a decided run, or why it lost its quorum, in one line', () => {
    expect(runSummary(doc('consensus'), 'Why?')).toBe('2 consensus claim(s) at 2/2, 1 dissent — "Why?"');
    expect(runSummary(doc('degraded'), 'Why?')).toBe('2 consensus claim(s) at 2/2 (degraded), 1 dissent — "Why?"');
    expect(runSummary(doc('quorum_lost'), 'Why?')).toBe('quorum lost: 2 of 4 ports answered, 3 needed — "Why?"');
  });

  it('points at consensus.md relative to the folder when views are rendered, else at the run line', () => {
    const blackboard = new InMemorySink<BlackboardSignal>();
    writeSignal({ blackboard, runFiles: true, identity }, run, 'consensus', 'ok');
    writeSignal({ blackboard, runFiles: false, identity }, run, 'quorum_lost', 'lost');
    expect(blackboard.events.map((s) => [s.mark, s.pull, s.msg, s.hive, s.gen, s.port])).toEqual([
      ['consensus', 'runs/run-1/consensus.md', 'ok', 'h', 3, 'gather'],
      ['quorum_lost', 'runs.jsonl#run-1', 'lost', 'h', 3, 'gather'],
    ]);
  });

  it('leaves no signal for a run with no result', () => {
    const blackboard = new InMemorySink<BlackboardSignal>();
    writeSignal({ blackboard, runFiles: true, identity }, run, 'failed', 'failed: boom');
    writeSignal({ blackboard, runFiles: true, identity }, run, 'interrupted', 'interrupted: Ctrl-C');
    expect(blackboard.events).toEqual([]);
  });
});
