import { createReadStream, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * The whole lines of a log as of now, one at a time, unparsed: for scans of logs too large to
 * hold (`readLog` keeps every record), where most lines are passed over by a cheap text test.
 * Stops at the last newline when the scan starts, as `readLog` does, so a line being committed
 * meanwhile or a torn tail is never seen (`known`: that end, when the caller already has it). Pulls the file as the caller consumes the lines, so
 * a slow consumer holds at most one chunk of it.
 */
export async function* logLines(path: string, known?: { bytes: number }): AsyncGenerator<string> {
  const end = known ?? (await wholeLinesEnd(path));
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

/** Bytes up to and including the last newline, and whether anything follows it; undefined when there is no file. */
export async function wholeLinesEnd(path: string): Promise<{ bytes: number; torn: boolean } | undefined> {
  if (!existsSync(path)) return undefined;
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(64 * 1024);
    for (let pos = size; pos > 0; ) {
      const from = Math.max(0, pos - buf.length);
      const { bytesRead } = await fh.read(buf, 0, pos - from, from);
      const nl = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (nl !== -1) return { bytes: from + nl + 1, torn: from + nl + 1 < size };
      pos = from;
    }
    return { bytes: 0, torn: size > 0 };
  } finally {
    await fh.close();
  }
}
