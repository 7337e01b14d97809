import type { Round } from '../../pipelines/ask.js';
import type { CastBallot } from '../../operators/voteRound.js';
import type { AnswerLine } from '../../runlog/lines.js';
import type { Sink } from '../../sinks/sink.js';
import type { ModelOutcome } from '../../types.js';

/**
 * A run's answers.jsonl lines: every usable reply, raw, for audit and `replay`. When the run's
 * view files will be rendered it also keeps them, since the views show the answers.
 */
export class RunAnswers {
  /** This run's answer lines, kept only when `keep` (its view files will be rendered). */
  readonly lines: AnswerLine[] = [];

  constructor(
    private readonly sink: Sink<AnswerLine>,
    private readonly runId: string,
    private readonly keep: boolean,
  ) {}

  /** A round-1 reply; a failed call leaves no answer. */
  outcome(outcome: ModelOutcome): void {
    if (outcome.ok) this.record(answerLine(this.runId, 1, outcome));
  }

  /** A vote-round reply, with the ballot read from it (null when none could be read). */
  ballot({ outcome, ballot }: CastBallot): void {
    if (!outcome.ok) return;
    this.record({
      ...answerLine(this.runId, 2, outcome),
      ballot: ballot ? Object.fromEntries([...ballot].map(([id, v]) => [id, typeof v === 'object' ? `same:${v.same}` : v])) : null,
    });
  }

  /** An answer made elsewhere (a replay's copy of the recorded answers). */
  record(line: AnswerLine): void {
    this.sink.write(line);
    if (this.keep) this.lines.push(line);
  }
}

/** An answers.jsonl line: the raw reply, for audit and replay. */
export function answerLine(runId: string, round: Round, outcome: Extract<ModelOutcome, { ok: true }>): AnswerLine {
  return {
    runId,
    round,
    port: outcome.port,
    model: outcome.model,
    family: outcome.family,
    latencyMs: outcome.latencyMs,
    attempts: outcome.attempts,
    usage: outcome.usage,
    finishReason: outcome.finishReason ?? null,
    responseId: outcome.responseId ?? null,
    text: outcome.text,
  };
}
