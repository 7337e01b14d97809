import { ArtifactsError } from '../errors.js';
import type { QuorumEvent } from '../events.js';
import type { AnswerLine, BatchLine, RunLine } from '../runlog/lines.js';
import { LogWriter, type LogWriterOptions } from '../runlog/logWriter.js';
import { writeRunFiles } from '../runlog/runFiles.js';
import type { BlackboardIdentity, BlackboardSignal } from '../sinks/blackboard.js';
import type { Sink } from '../sinks/sink.js';
import type { SpanLine } from '../tracing/jsonlSpanExporter.js';
import { createTracing, type Tracing } from '../tracing/tracing.js';

/** Where a process records its runs: the run log of one artifacts folder, through one group-commit writer. */
export interface RunSinks {
  out: string;
  writer: LogWriter;
  tracing: Tracing;
  events: Sink<QuorumEvent>;
  blackboard: Sink<BlackboardSignal>;
  runs: Sink<RunLine>;
  answers: Sink<AnswerLine>;
  batches: Sink<BatchLine>;
  identity: BlackboardIdentity;
  /** True when each run's view files (runs/<id>/…) are rendered after its line is committed. */
  runFiles: boolean;
  /** Renders a run's view files once its run line is committed (off the hot path); `close` waits for them. */
  renderViews(run: RunLine, answers: readonly AnswerLine[]): void;
  /** Commits and closes everything; rejects naming the folder when an artifact could not be written. */
  close(): Promise<void>;
}

/** What one run's recorder writes to: a folder's run log, or (a queue worker) a capture sent to the submitter. */
export type RecordSinks = Pick<RunSinks, 'tracing' | 'events' | 'blackboard' | 'runs' | 'answers' | 'identity' | 'runFiles' | 'renderViews'>;

export interface OpenRunSinksOptions {
  /** Render runs/<id>/ view files for every run (ask, replay; batch and watch with --run-files). */
  runFiles?: boolean;
  writer?: LogWriterOptions;
}

export function openRunSinks(out: string, env: NodeJS.ProcessEnv, options: OpenRunSinksOptions = {}): RunSinks {
  const writer = LogWriter.open(out, options.writer);
  const tracing = createTracing({ spans: writer.sink<SpanLine>('spans'), env });
  const views = new Set<Promise<void>>();
  let viewError: Error | undefined;
  return {
    out,
    writer,
    tracing,
    events: writer.sink('events'),
    blackboard: writer.sink('blackboard'),
    runs: writer.sink('runs'),
    answers: writer.sink('answers'),
    batches: writer.sink('batches'),
    identity: { hive: env.QUORUM_HIVE || 'quorum', gen: env.QUORUM_GEN || 0, port: env.QUORUM_GATHERER_PORT || 'gather' },
    runFiles: Boolean(options.runFiles),
    renderViews(run, answers) {
      const job = writer
        .settled()
        // A view must never show a decision the log does not hold.
        .then(() => (writer.failed ? undefined : writeRunFiles(out, run, [...answers])))
        .then(
          () => undefined,
          (error: unknown) => {
            viewError ??= error as Error;
          },
        )
        .finally(() => views.delete(job));
      views.add(job);
    },
    async close() {
      const results = await Promise.allSettled([tracing.shutdown().then(() => Promise.all(views)), writer.commit()]);
      const closed = await Promise.allSettled([writer.close()]);
      const failed = [...results, ...closed].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      // An artifact that could not be written is a failed run, even if the vote went well.
      if (failed) throw new ArtifactsError(`Could not write the artifacts in ${out}: ${oneLine((failed.reason as Error).message)}`);
      if (viewError) throw new ArtifactsError(`Could not write the run files in ${out}: ${oneLine(viewError.message)}`);
    },
  };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
