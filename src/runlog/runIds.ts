import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_FILES, type RunLine } from './lines.js';
import { logLines, stringField, wholeLinesEnd } from './logLines.js';

/** Run ids the record knows, for "did you mean" messages: read by a text test, no line parsed. */
export interface KnownRunIds {
  /** Runs with a line in runs.jsonl, in commit order. */
  decided: string[];
  /** Runs the events saw start that have no run line (interrupted, or still running). */
  undecided: string[];
}

export async function knownRunIds(out: string): Promise<KnownRunIds> {
  const decided = new Set<string>();
  for await (const line of logLines(join(out, LOG_FILES.runs))) {
    const id = stringField(line, 'runId');
    if (id !== undefined) decided.add(id);
  }
  const undecided = new Set<string>();
  // Only run.started: a batch's own events carry the batch id as their run id.
  for await (const line of logLines(join(out, LOG_FILES.events))) {
    if (!line.includes('"type":"quorum.run.started"')) continue;
    const id = stringField(line, 'runid');
    if (id !== undefined && !decided.has(id)) undecided.add(id);
  }
  return { decided: [...decided], undecided: [...undecided] };
}

/**
 * The run decided last (the last whole run line of runs.jsonl), read from the end of the file so
 * a log of 64,000 runs costs no more than one of ten. Undefined when no run was decided.
 */
export async function lastRunLine(out: string): Promise<RunLine | undefined> {
  for await (const line of linesFromEnd(join(out, LOG_FILES.runs))) {
    try {
      const value = JSON.parse(line) as RunLine;
      if (value !== null && typeof value === 'object' && typeof value.runId === 'string') return value;
    } catch {
      // Damage from an older writer: the line before it is the last whole run.
    }
  }
  return undefined;
}

/** A log's whole lines, last first, read back a chunk at a time (a run line is often tens of KB). */
export async function* linesFromEnd(path: string): AsyncGenerator<string> {
  const end = await wholeLinesEnd(path);
  if (end === undefined || end.bytes === 0) return;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    // Bytes of the line being assembled, nearest the start of the file first.
    let pending: Buffer[] = [];
    for (let pos = end.bytes - 1; pos > 0; ) {
      const from = Math.max(0, pos - buf.length);
      const { bytesRead } = await fh.read(buf, 0, pos - from, from);
      let part = buf.subarray(0, bytesRead);
      for (let nl = part.lastIndexOf(0x0a); nl !== -1; nl = part.lastIndexOf(0x0a)) {
        const line = Buffer.concat([part.subarray(nl + 1), ...pending]).toString('utf8');
        pending = [];
        if (line.trim() !== '') yield line;
        part = part.subarray(0, nl);
      }
      pending.unshift(Buffer.from(part));
      pos = from;
    }
    const first = Buffer.concat(pending).toString('utf8');
    if (first.trim() !== '') yield first;
  } finally {
    await fh.close();
  }
}
