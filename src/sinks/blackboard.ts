import type { RunStatus } from '../types.js';

/** The gatherer's identity on the shared blackboard, from config. */
export interface BlackboardIdentity {
  hive: string;
  gen: number | string;
  port: number | string;
}

/**
 * One line of `blackboard.jsonl`: the coordination signal a finished run leaves for other
 * agents (DESIGN.md, Blackboard).
 */
export interface BlackboardSignal {
  /** ISO-8601 time the signal was made. */
  ts: string;
  /** The run's outcome: a `RunStatus`, or `failed` / `interrupted` when no result was made. */
  mark: RunStatus | 'failed' | 'interrupted';
  /** Path of the run's consensus.md, for whoever picks the signal up. */
  pull: string;
  /** One-line summary, at most `MAX_MSG_CHARS` characters. */
  msg: string;
  type: 'signal';
  hive: string;
  gen: number | string;
  port: number | string;
}

/** Signals are scanned by eye and by other agents' prompts; keep them one short line. */
export const MAX_MSG_CHARS = 240;

export function blackboardSignal(input: {
  status: BlackboardSignal['mark'];
  consensusMdPath: string;
  summary: string;
  identity: BlackboardIdentity;
  /** Defaults to now; given in tests and replays. */
  now?: Date;
}): BlackboardSignal {
  const oneLine = input.summary.replace(/\s+/g, ' ').trim();
  // By code point, so an emoji or other astral character is never cut in half.
  const chars = Array.from(oneLine);
  const msg =
    chars.length > MAX_MSG_CHARS ? `${chars.slice(0, MAX_MSG_CHARS - 1).join('')}…` : oneLine;
  return {
    ts: (input.now ?? new Date()).toISOString(),
    mark: input.status,
    pull: input.consensusMdPath,
    msg,
    type: 'signal',
    hive: input.identity.hive,
    gen: input.identity.gen,
    port: input.identity.port,
  };
}
