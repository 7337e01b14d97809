import { join } from 'node:path';
import { type AnswerLine, LOG_FILES, type RunLine } from './lines.js';
import { logLines, wholeLinesEnd } from './logLines.js';

export interface LogRead<T> {
  /** Every whole line that parsed to a JSON object (and passed the filter), in file order. */
  records: T[];
  /** Whole lines that were not a JSON object (damage from an older writer, or garbage). */
  skipped: number;
  /** True when the file ended in an incomplete line (a writer killed mid-commit, a full disk): not read. */
  tornTail: boolean;
}

export interface ReadLogOptions {
  /**
   * A cheap text test on the raw line before it is parsed: lines without this substring are
   * passed over unparsed (e.g. `"runId":"<id>"` to find one run among 64,000).
   */
  contains?: string;
}

/**
 * Reads a log as of now: only up to its last newline when the read starts, so a line another
 * process is committing meanwhile, or a torn tail, is never half-read. Streams the file.
 */
export async function readLog<T = unknown>(path: string, options: ReadLogOptions = {}): Promise<LogRead<T>> {
  const records: T[] = [];
  const { skipped, tornTail } = await scanLog<T>(path, (record) => void records.push(record), options);
  return { records, skipped, tornTail };
}

/**
 * `readLog` that hands each record to `each` instead of keeping them, for scans over logs that
 * do not fit in memory (a resume over 64,000 run lines keeps only their chunk ids).
 */
export async function scanLog<T = unknown>(path: string, each: (record: T) => void, options: ReadLogOptions = {}): Promise<Omit<LogRead<T>, 'records'>> {
  const result = { skipped: 0, tornTail: false };
  const end = await wholeLinesEnd(path);
  if (end === undefined) return result;
  result.tornTail = end.torn;
  for await (const line of logLines(path, end)) {
    if (options.contains !== undefined && !line.includes(options.contains)) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      result.skipped++;
      continue;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) each(value as T);
    else result.skipped++;
  }
  return result;
}

/** The run line of `runId` (the last one, should a run ever be committed twice), or undefined. */
export async function findRunLine(out: string, runId: string): Promise<RunLine | undefined> {
  const { records } = await readLog<RunLine>(join(out, LOG_FILES.runs), { contains: `"runId":${JSON.stringify(runId)}` });
  return records.filter((r) => r.runId === runId).at(-1);
}

/** The recorded answers and ballots of `runId`, in commit order. */
export async function answersOf(out: string, runId: string): Promise<AnswerLine[]> {
  const { records } = await readLog<AnswerLine>(join(out, LOG_FILES.answers), { contains: `"runId":${JSON.stringify(runId)}` });
  return records.filter((r) => r.runId === runId);
}
