import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { renderConsensusMarkdown } from '../render/consensusMarkdown.js';
import { jsonReplacer } from '../sinks/json.js';
import type { ConsensusDocument } from '../types.js';
import type { AnswerLine, RunLine } from './lines.js';

/** Run ids become folder names: nothing that could climb out of `runs/` or hide as a dotfile. */
const SAFE_ID = /^[\w-][\w.-]*$/;

/** The consensus document of a run line: consensus.json's fields, without what only the log carries. */
export function consensusDocumentOf(run: RunLine): ConsensusDocument {
  const { models: _models, batchId: _batchId, pool: _pool, panelSource: _panelSource, ...doc } = run;
  return doc;
}

/** consensus.json's bytes: pretty-printed as 0.1 wrote it, so diffs and scripts see the same file. */
export function consensusJson(run: RunLine): string {
  return pretty(consensusDocumentOf(run));
}

/**
 * Renders the per-run view files of one run into `<out>/runs/<runId>/`: consensus.json,
 * consensus.md, responses/port_<n>.json (round 1), votes/port_<n>.json (round 2) and
 * candidates.json (two-round runs), in the shapes 0.1 wrote. Resolves to the run's folder.
 *
 * Each file is renamed into place from a temporary name, so a reader never sees half a file;
 * there is no fsync because the committed log lines are the record and a lost view can be
 * rendered again (`quorum show <runId> --write`).
 */
export async function writeRunFiles(out: string, run: RunLine, answers: readonly AnswerLine[]): Promise<string> {
  if (!SAFE_ID.test(run.runId)) throw new Error(`Refusing to write views for run id ${JSON.stringify(run.runId)}: not a plain file name`);
  const dir = join(out, 'runs', run.runId);
  const files = new Map<string, string>();
  const doc = consensusDocumentOf(run);
  files.set(join(dir, 'consensus.json'), pretty(doc));
  files.set(join(dir, 'consensus.md'), renderConsensusMarkdown(doc, run.models));
  if (run.pool !== undefined) files.set(join(dir, 'candidates.json'), pretty(run.pool));
  // Keyed by path, so should a port's answer ever be committed twice the later line wins, as findRunLine does for runs.
  for (const answer of answers) {
    if (!Number.isSafeInteger(answer.port) || answer.port < 0) throw new Error(`Answer of run ${run.runId} has no usable port: ${String(answer.port)}`);
    const folder = answer.round === 2 ? 'votes' : 'responses';
    files.set(join(dir, folder, `port_${answer.port}.json`), pretty(answerRecord(answer)));
  }
  const folders = new Set([...files.keys()].map((path) => dirname(path)));
  await Promise.all([...folders].map((folder) => mkdir(folder, { recursive: true })));
  await Promise.all([...files].map(([path, text]) => replaceFile(path, text)));
  return dir;
}

/** responses/port_<n>.json and votes/port_<n>.json as 0.1 wrote them: the line without `round`, fields in 0.1's order. */
function answerRecord(a: AnswerLine) {
  return {
    runId: a.runId,
    port: a.port,
    model: a.model,
    family: a.family,
    latencyMs: a.latencyMs,
    attempts: a.attempts,
    usage: a.usage,
    finishReason: a.finishReason ?? null,
    responseId: a.responseId ?? null,
    text: a.text,
    ...(a.round === 2 && { ballot: a.ballot ?? null }),
  };
}

async function replaceFile(path: string, text: string): Promise<void> {
  // Unique per writer, so two `show --write` of one run never share a temporary file.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, text, { flag: 'wx' });
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw new Error(`Could not write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function pretty(value: unknown): string {
  return `${JSON.stringify(value, jsonReplacer, 2)}\n`;
}
