import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { renderConsensusMarkdown } from '../render/consensusMarkdown.js';
import { legacyFolderMessage } from '../runlog/legacy.js';
import { LOG_FILES, type RunLine } from '../runlog/lines.js';
import { answersOf, findRunLine, readLog } from '../runlog/readLog.js';
import { consensusDocumentOf, consensusJson, writeRunFiles } from '../runlog/runFiles.js';
import { lastRunLine } from '../runlog/runIds.js';
import { unknownRunError } from '../runlog/recordedRun.js';

export interface ShowRunOptions {
  out: string;
  /** A run id, `latest` (the run decided last), or a blackboard pull `runs.jsonl#<runId>`. */
  runId: string;
  /** `markdown`: consensus.md; `json`: consensus.json; `write`: render the view files and name their folder. */
  as: 'markdown' | 'json' | 'write';
}

export type ShowRunResult = { ok: true; text: string } | { ok: false; message: string; exitCode: 1 };

/** The id `latest` names the run decided last. */
export const LATEST = 'latest';

/**
 * `quorum show`: renders one decided run from its run line (and, for `write`, its answers),
 * so any run's consensus.md can be read whether or not its view files were ever written.
 */
export async function showRun(o: ShowRunOptions): Promise<ShowRunResult> {
  const legacy = legacyFolderMessage(o.out);
  if (legacy !== undefined) throw new UsageError(legacy);
  const runId = o.runId.startsWith(`${LOG_FILES.runs}#`) ? o.runId.slice(LOG_FILES.runs.length + 1) : o.runId;
  const line = runId === LATEST ? await latest(o.out) : /^[\w.-]+$/.test(runId) ? await findRunLine(o.out, runId) : undefined;
  if (!line) return { ok: false, message: await undecidedMessage(o.out, runId), exitCode: 1 };
  if (o.as === 'json') return { ok: true, text: consensusJson(line) };
  if (o.as === 'markdown') return { ok: true, text: renderConsensusMarkdown(consensusDocumentOf(line), line.models) };
  const dir = await writeRunFiles(o.out, line, await answersOf(o.out, line.runId));
  return { ok: true, text: `${dir}\n` };
}

async function latest(out: string): Promise<RunLine> {
  const line = await lastRunLine(out);
  if (!line) throw new UsageError(`No run decided in ${out} yet (${LOG_FILES.runs} holds none); check --out`);
  return line;
}

/** Why a run the record knows has no run line, and how to redo it; an unknown id throws, naming the ids nearby. */
async function undecidedMessage(out: string, runId: string): Promise<string> {
  const contains = `"runid":${JSON.stringify(runId)}`;
  const [{ records: events }, answers] = await Promise.all([
    /^[\w.-]+$/.test(runId) ? readLog<{ type?: string; runid?: string; batchid?: string }>(join(out, LOG_FILES.events), { contains }) : { records: [] },
    /^[\w.-]+$/.test(runId) ? answersOf(out, runId) : [],
  ]);
  const own = events.filter((e) => e.runid === runId);
  if (!own.some((e) => e.type === 'quorum.run.started') && answers.length === 0) throw await unknownRunError(out, runId);
  const batchId = own.find((e) => e.batchid)?.batchid;
  const redo = batchId
    ? `resume its batch ${batchId} (the same quorum batch command with --resume) to redo its chunk`
    : `ask again${answers.length > 0 ? `, or gather the ${answers.length} answer(s) it got with: quorum replay ${runId} --out ${out}` : ''}`;
  return `Run ${runId} was never decided: it stopped before its consensus was committed (no line in ${LOG_FILES.runs}); ${redo}`;
}
