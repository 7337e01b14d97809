import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface JsonlReadResult<T> {
  /** Every JSON object the file holds whole, in file order. */
  records: T[];
  /** Lines holding something that is not a JSON object (a torn write, garbage); blank lines are not counted. */
  skipped: number;
  /** 1-based line numbers of those lines. */
  skippedLines: number[];
}

/**
 * Reads a JSONL file, tolerating what a crash can leave behind. A line that is not a JSON
 * object is skipped and counted rather than failing the read.
 *
 * One case is repaired rather than skipped: when a writer is killed inside a large write, the
 * kernel can leave a torn fragment with no newline, and another process still appending glues
 * its next (whole) line onto it. That whole line is recovered from the end of the damaged line.
 *
 * Streams the file, so a large log is never held as one string.
 */
export async function readJsonl<T = unknown>(path: string): Promise<JsonlReadResult<T>> {
  const records: T[] = [];
  const skippedLines: number[] = [];
  const lines = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    const whole = parseObject(line);
    if (whole !== undefined) {
      records.push(whole as T);
      continue;
    }
    skippedLines.push(n);
    const glued = gluedObject(line);
    if (glued !== undefined) records.push(glued as T);
  }
  return { records, skipped: skippedLines.length, skippedLines };
}

function parseObject(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The whole object at the end of a damaged line, if any. Candidates start at `{"`, which cannot
 * occur unescaped inside a JSON string, so a match is the glued line itself or (harmlessly
 * rejected by the parse) an object nested in the torn fragment.
 */
function gluedObject(line: string): object | undefined {
  for (let i = line.indexOf('{"', 1); i !== -1; i = line.indexOf('{"', i + 1)) {
    const value = parseObject(line.slice(i));
    if (value !== undefined) return value;
  }
  return undefined;
}
