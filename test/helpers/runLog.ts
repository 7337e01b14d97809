import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnswerLine, RunLine } from '../../src/runlog/lines.js';

/** Whole lines of a log in `out` (an incomplete last line, from a writer killed mid-commit, is left out). */
export function logLines<T>(out: string, file: string): T[] {
  const path = join(out, file);
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

/** The decided runs of an artifacts folder: its runs.jsonl lines. */
export const runLines = (out: string): RunLine[] => logLines<RunLine>(out, 'runs.jsonl');

export const answerLines = (out: string): AnswerLine[] => logLines<AnswerLine>(out, 'answers.jsonl');
