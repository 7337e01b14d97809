import { join } from 'node:path';
import type { Span } from '@opentelemetry/api';
import type { Candidate } from '../claims/candidates.js';
import type { AskObserver, AskResult, Round } from '../pipelines/ask.js';
import type { AnswerLine } from '../runlog/lines.js';
import type { BlackboardSignal } from '../sinks/blackboard.js';
import type { LiveHooks } from '../terminal/liveView.js';
import * as A from '../tracing/attributes.js';
import type { ConsensusDocument, ModelOutcome, ModelRequest, Panel } from '../types.js';
import { RunAnswers } from './record/answers.js';
import { RunEvents } from './record/events.js';
import { consensusDocument, runLineOf, writeRunLine } from './record/runLine.js';
import { runSummary, writeSignal } from './record/signal.js';
import { RunSpans } from './record/spans.js';
import type { RecordSinks } from './runSinks.js';

export interface RunRecorderOptions {
  runId: string;
  /** The artifacts folder (`--out`). */
  out: string;
  request: ModelRequest;
  panel: Panel;
  quorum: { configured: number; minResponders: number };
  /** Where the run is recorded (the run log of `out`). */
  sinks: RecordSinks;
  sandbox: boolean;
  chunk?: { source: string; id: string } | null;
  rounds: Round;
  /** Set on a replay: the run whose answers are re-gathered. */
  replayOf?: string;
  /** A batch's span: the run's root span becomes its child. */
  parentSpan?: Span;
  /** The batch the run belongs to (the `batchid` extension of its events). */
  batchId?: string;
  /** Earlier runs on an earlier version of the same input (`quorum watch`): this run replaces them. */
  supersedes?: string[];
  now?: () => Date;
}

export type RunEnd = { status: 'failed' | 'interrupted'; message: string; exitCode: number };

/**
 * Records one run as it happens, into the run log, by handing each hook to the module that owns
 * the artifact: the span tree (`record/spans.ts`, traces.jsonl), CloudEvents (`record/events.ts`),
 * answers (`record/answers.ts`), the run line and its views (`record/runLine.ts`) and the
 * blackboard signal (`record/signal.ts`). The spans come first in each hook, since the events
 * name them. Nothing is written synchronously. It is the pipeline's observer and decides nothing.
 */
export class RunRecorder {
  readonly runDir: string;
  /** What the run's calls cost, for the batch summary: attempts made, tokens, provider cost. */
  readonly usage = { calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
  private readonly spans: RunSpans;
  private readonly events: RunEvents;
  private readonly answers: RunAnswers;
  /** Size of the vote round's ballot, for each vote.cast event. */
  private candidateCount = 0;
  private readonly startedAt: Date;
  private finished = false;
  /** Two-round runs: the candidates put to the vote. */
  private pool: Candidate[] | undefined;

  constructor(private readonly o: RunRecorderOptions) {
    const now = o.now ?? (() => new Date());
    this.startedAt = now();
    this.runDir = join(o.out, 'runs', o.runId);
    this.spans = new RunSpans(o.sinks.tracing.tracer, o);
    this.events = new RunEvents(o.sinks.events, o);
    this.answers = new RunAnswers(o.sinks.answers, o.runId, o.sinks.runFiles);
    this.events.runStarted(this.spans.root, {
      query: o.request.query,
      panel: { source: o.panel.source, size: o.panel.members.length, members: o.panel.members.map(({ port, model, family }) => ({ port, model, family })) },
      quorum: o.quorum,
      context: o.request.context ? { source: o.request.context.source, chars: o.request.context.text.length } : null,
      sandbox: o.sandbox,
      timeoutMs: o.panel.timeoutMs,
      rounds: o.rounds,
      ...(o.replayOf && { replayOf: o.replayOf }),
      ...(o.supersedes?.length && { supersedes: o.supersedes }),
    });
  }

  /** The hooks the ask pipeline calls. */
  observer(live?: LiveHooks): AskObserver {
    return {
      portStarted: (member, round) => this.spans.portStarted(member, round),
      firstToken: (member, round) => {
        this.spans.firstToken(member, round);
        live?.streaming(member.port, round);
      },
      outcome: (outcome) => {
        const span = this.portFinished(outcome, 1);
        this.answers.outcome(outcome);
        this.events.outcome(outcome, span);
        live?.finished(outcome, 1);
      },
      voteRoundStarted: (candidates) => {
        this.candidateCount = candidates.length;
        this.spans.voteRoundStarted(candidates.length);
        this.pool = candidates;
        live?.roundStarted?.(2);
      },
      ballot: (cast) => {
        const span = this.portFinished(cast.outcome, 2);
        this.answers.ballot(cast);
        this.events.ballot(cast, span, this.candidateCount);
        live?.finished(cast.outcome, 2);
      },
      chairStarted: (member) => this.spans.chairStarted(member),
      chairFinished: (outcome) => this.spans.chairFinished(outcome),
      stage: (name, work) => this.stage(name, work),
    };
  }

  /** Ends a port's span and counts what its call cost; returns the span its event names. */
  private portFinished(outcome: ModelOutcome, round: Round): Span {
    const { span, called } = this.spans.endPort(outcome, round);
    // A port cut before it ever started made no call.
    if (called) this.usage.calls += outcome.attempts;
    if (outcome.ok) {
      const u = outcome.usage;
      this.usage.inputTokens += u.inputTokens ?? 0;
      this.usage.outputTokens += u.outputTokens ?? 0;
      this.usage.cost += u.cost ?? 0;
    }
    return span;
  }

  /** Runs one gather stage in its own span; the first stage closes scatter and opens gather. */
  stage<T>(name: string, work: () => T): T {
    return this.spans.stage(name, work);
  }

  /** Records an answer made elsewhere (a replay's copy of the recorded answers). */
  recordAnswer(line: AnswerLine): void {
    this.answers.record(line);
  }

  /** Writes the run line, the closing events and the blackboard signal. Returns the document. */
  complete(gathered: AskResult): ConsensusDocument {
    const context = { ...this.o, startedAt: this.startedAt };
    const doc = this.stage(A.SPAN_NAMES.synthesizeOutput, () => {
      const document = consensusDocument(context, gathered, new Date());
      writeRunLine(this.o.sinks, runLineOf(context, document, this.pool), this.answers.lines);
      return document;
    });
    this.events.consensusReached(doc, this.spans.decision);
    this.spans.root.setAttribute(A.ATTR_QUORUM_STATUS, doc.status);
    this.end(doc.status, doc.status === 'quorum_lost' ? 1 : 0, runSummary(doc, this.o.request.query));
    return doc;
  }

  /** Closes a run that produced no result (an error or Ctrl-C): no consensus files are written. */
  abort(end: RunEnd): void {
    this.spans.cancel(end.status, end.message);
    this.end(end.status, end.exitCode, `${end.status}: ${end.message}`, end.message);
  }

  private end(status: BlackboardSignal['mark'], exitCode: number, summary: string, message?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.events.runCompleted(this.spans.root, {
      status,
      durationMs: Date.now() - this.startedAt.getTime(),
      exitCode,
      ...(message !== undefined && { message }),
    });
    writeSignal(this.o.sinks, { out: this.o.out, runId: this.o.runId, runDir: this.runDir }, status, summary);
    this.spans.end();
  }
}
