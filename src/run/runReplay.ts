import { EmptyError, take } from 'rxjs';
import { defaultMinResponders, validateQuorum } from '../claims/quorumRules.js';
import { UsageError } from '../errors.js';
import { replayPipeline } from '../pipelines/replay.js';
import type { ConsensusDocument } from '../types.js';
import { prepareOutFolder } from './outFolder.js';
import { loadRecordedRun } from '../runlog/recordedRun.js';
import { RunRecorder } from './recorder.js';
import { newRunId } from './runId.js';
import { openRunSinks } from './runSinks.js';
import { untilDone } from './untilDone.js';

export interface RunReplayOptions {
  out: string;
  runId: string;
  /** Default: the recorded run's quorum. */
  quorum?: number;
  /** Default: the recorded run's rounds. */
  rounds?: 1 | 2;
  env: NodeJS.ProcessEnv;
}

export interface RunReplayResult {
  runId: string;
  runDir: string;
  doc: ConsensusDocument;
  exitCode: 0 | 1;
}

/**
 * Gathers a recorded run again (new quorum, rounds or matcher) without calling any model, and
 * writes the result as a new run beside the old one, naming its source.
 */
export async function runReplay(o: RunReplayOptions): Promise<RunReplayResult> {
  const recorded = await loadRecordedRun(o.out, o.runId);
  const n = recorded.panel.members.length;
  const quorum = validateQuorum(o.quorum ?? recorded.quorum, n);
  const rounds = o.rounds ?? recorded.rounds;
  if (rounds === 2 && !recorded.candidates) {
    throw new UsageError(`Run ${o.runId} has no recorded vote round (it ran with --rounds 1); replay it with --rounds 1`);
  }
  // The replay is written as a new run: a folder that cannot take it fails now, in one line.
  prepareOutFolder(o.out);
  const runId = newRunId();
  const sinks = openRunSinks(o.out, o.env, { runFiles: true });
  const recorder = new RunRecorder({
    runId,
    out: o.out,
    request: { query: recorded.query },
    panel: recorded.panel,
    quorum: { configured: quorum, minResponders: defaultMinResponders(n) },
    sinks,
    sandbox: false,
    chunk: recorded.chunk,
    rounds,
    replayOf: o.runId,
  });
  try {
    // The new run carries its own copy of the answers, so it can be replayed in turn.
    for (const answer of recorded.answers) recorder.recordAnswer({ ...answer, runId });
    const { stage, voteRoundStarted } = recorder.observer();
    // No signal: a replay calls no model, so there is nothing for Ctrl-C to cancel mid-way.
    const done = await untilDone(replayPipeline(recorded, { quorum, rounds, observer: { stage, voteRoundStarted } }).pipe(take(1)));
    const gathered = done.interrupted ? undefined : done.last;
    if (!gathered) throw new EmptyError();
    const doc = recorder.complete(gathered);
    return { runId, runDir: recorder.runDir, doc, exitCode: doc.status === 'quorum_lost' ? 1 : 0 };
  } catch (error) {
    recorder.abort({ status: 'failed', message: (error as Error).message, exitCode: 1 });
    throw error;
  } finally {
    await sinks.close();
  }
}
