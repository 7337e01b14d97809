import type { Candidate } from '../../claims/candidates.js';
import type { AskResult } from '../../pipelines/ask.js';
import type { AnswerLine, RunLine } from '../../runlog/lines.js';
import type { ConsensusDocument, ModelRequest, Panel } from '../../types.js';
import type { RunSinks } from '../runSinks.js';

/** What a run line says about the run besides its result. */
export interface RunLineContext {
  runId: string;
  request: ModelRequest;
  panel: Panel;
  sandbox: boolean;
  chunk?: { source: string; id: string } | null;
  replayOf?: string;
  supersedes?: string[];
  batchId?: string;
  startedAt: Date;
}

/** The consensus document of a decided run: what `ask` returns and consensus.json holds. */
export function consensusDocument(c: RunLineContext, gathered: AskResult, finishedAt: Date): ConsensusDocument {
  const { result } = gathered;
  return {
    runId: c.runId,
    query: c.request.query,
    chunk: c.chunk ?? (c.request.context ? { source: c.request.context.source, id: 'context' } : null),
    status: result.status,
    quorum: result.quorum,
    claims: result.claims,
    dissent: result.dissent,
    failures: result.failures,
    agreement: result.agreement,
    rounds: result.rounds ?? 1,
    ...(result.abstentions && { abstentions: result.abstentions }),
    ...(result.candidates !== undefined && { candidates: result.candidates }),
    ...(result.leftOut?.length && { leftOut: result.leftOut }),
    ...(result.truncated?.length && { truncated: result.truncated }),
    startedAt: c.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    sandbox: c.sandbox,
    ...(c.replayOf && { replayOf: c.replayOf }),
    ...(c.supersedes?.length && { supersedes: c.supersedes }),
    ...(gathered.synthesis && { synthesis: gathered.synthesis }),
  };
}

/** The runs.jsonl line: the document plus what a reader needs without any other file (the seats, the pool). */
export function runLineOf(c: RunLineContext, document: ConsensusDocument, pool: Candidate[] | undefined): RunLine {
  return {
    ...document,
    models: c.panel.members.map(({ port, model, family }) => ({ port, model, family })),
    ...(c.batchId && { batchId: c.batchId }),
    ...(pool && { pool }),
    panelSource: c.panel.source,
  };
}

/**
 * Writes the run line (the run is decided when it commits) and, when the sinks render views,
 * asks for runs/<id>/… to be written from it after the commit.
 */
export function writeRunLine(sinks: Pick<RunSinks, 'runs' | 'runFiles' | 'renderViews'>, line: RunLine, answers: readonly AnswerLine[]): void {
  sinks.runs.write(line);
  if (sinks.runFiles) sinks.renderViews(line, answers);
}
