import { createReadStream } from 'node:fs';
import { wholeLinesEnd } from './readLog.js';

/**
 * The whole lines of a log as of now, one at a time, unparsed: for scans of logs too large to
 * hold (`readLog` keeps every record), where most lines are passed over by a cheap text test.
 * Stops at the last newline when the scan starts, as `readLog` does, so a line being committed
 * meanwhile or a torn tail is never seen. Pulls the file as the caller consumes the lines, so
 * a slow consumer holds at most one chunk of it.
 */
export async function* logLines(path: string): AsyncGenerator<string> {
  const end = await wholeLinesEnd(path);
  if (end === undefined || end.bytes === 0) return;
  let carry = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', start: 0, end: end.bytes - 1 })) {
    const parts = (carry + (chunk as string)).split('\n');
    carry = parts.pop()!;
    for (const part of parts) {
      const line = part.endsWith('\r') ? part.slice(0, -1) : part;
      if (line !== '') yield line;
    }
  }
}

/**
 * The value of the first `"name":"…"` string field of a JSON line, without parsing the line: for
 * keys only the top level has (`runId` in runs.jsonl and answers.jsonl, `runid` in events).
 * Undefined when absent or escaped (no run id holds a quote or a backslash).
 */
export function stringField(line: string, name: string): string | undefined {
  // Inside a JSON string every quote is escaped, so an unescaped `"name":"` is a key; the writers
  // (JSON.stringify) put no space after the colon.
  const key = `"${name}":"`;
  const at = line.indexOf(key);
  if (at === -1) return undefined;
  const from = at + key.length;
  const to = line.indexOf('"', from);
  if (to === -1) return undefined;
  const value = line.slice(from, to);
  return value.includes('\\') ? undefined : value;
}
