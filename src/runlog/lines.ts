/**
 * The run log (docs/CONTRACTS.md, "The run log"): the append-only JSONL files in the artifacts
 * folder that are the durable record of every run. Per-run files under `runs/<runId>/` are views
 * of these lines. Shapes here are the contract SQL (queries/views.sql), replay, resume, `show`
 * and `migrate` read.
 */
import type { Candidate } from '../claims/candidates.js';
import type { ConsensusDocument, ModelSuccess } from '../types.js';

/** File names of the logs, relative to the artifacts folder. */
export const LOG_FILES = {
  /** One line per decided run: a run is decided exactly when its line is committed. */
  runs: 'runs.jsonl',
  /** One line per usable port answer (round 1) and per ballot (round 2), raw text included. */
  answers: 'answers.jsonl',
  /** One line when a batch starts (or resumes) and one when it ends. */
  batches: 'batches.jsonl',
  events: 'cloudevents.jsonl',
  spans: 'traces.jsonl',
  blackboard: 'blackboard.jsonl',
} as const;

export type LogName = keyof typeof LOG_FILES;

/** A panel seat as recorded: which model sat at which port. */
export interface SeatRecord {
  port: number;
  model: string;
  family: string;
}

/**
 * One line of runs.jsonl: the whole consensus document (the fields of consensus.json) plus
 * what a reader needs without any other file.
 */
export interface RunLine extends ConsensusDocument {
  /** The panel: port → model, for every port, answering or not. */
  models: SeatRecord[];
  /** The batch the run belongs to (batch and watch-free runs: absent). */
  batchId?: string;
  /** Two-round runs: the candidates put to the vote (ids `c1`…), so a replay needs no model. */
  pool?: Candidate[];
  /** Where the panel came from: a file path, `built-in` or `sandbox`. */
  panelSource?: string;
  /** A queued batch (`batch --queue`): the worker that decided the run, `host:pid`. */
  worker?: string;
}

/** One line of answers.jsonl: a usable answer (round 1) or ballot reply (round 2) of one port. */
export interface AnswerLine {
  runId: string;
  round: 1 | 2;
  port: number;
  model: string;
  family: string;
  latencyMs: number;
  attempts: number;
  usage: ModelSuccess['usage'];
  finishReason: string | null;
  responseId: string | null;
  /** The reply exactly as the model gave it. */
  text: string;
  /** Round 2: the ballot read from the reply (candidate id → agree | disagree | unsure | same:cK); null when unreadable. */
  ballot?: Record<string, string> | null;
}

/** What makes two batch commands "the same command" for `--resume`. */
export interface BatchIdentity {
  query: string;
  files: string[];
  chunkTokens: number;
  overlapTokens: number;
  panel: { port: number; model: string }[];
  quorum: number;
  rounds: number;
}

/** One line of batches.jsonl. */
export type BatchLine =
  | {
      type: 'started';
      batchId: string;
      /** Hash of `identity`: the same command resumes the same batch. */
      key: string;
      identity: BatchIdentity;
      /** When the batch first started (a resume repeats it). */
      startedAt: string;
      /** When this process started or resumed it. */
      at: string;
      resumed: boolean;
      /** Chunks the inputs hold. */
      chunks: number;
    }
  | {
      type: 'ended';
      batchId: string;
      /** `completed`: every chunk decided; `interrupted` (Ctrl-C) and `stopped` (e.g. a spent quota) can be resumed. */
      outcome: 'completed' | 'interrupted' | 'stopped';
      chunks: number;
      at: string;
      message?: string;
      /** Chunks that ended failed (no run line): a `completed` batch with failures can still be resumed. */
      failed?: number;
    };
