import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logLines, stringField } from '../../src/runlog/logLines.js';
import { knownRunIds, lastRunLine } from '../../src/runlog/runIds.js';
import { tempDir } from '../helpers/cli.js';
import { runEvents, runLine, writeLogs } from './fixtures.js';

const collect = async (lines: AsyncIterable<string>) => {
  const all: string[] = [];
  for await (const line of lines) all.push(line);
  return all;
};

describe('logLines', () => {
  it('yields whole lines only: blank lines and CRs dropped, a torn tail left unread', async () => {
    const path = join(tempDir(), 'log.jsonl');
    writeFileSync(path, '{"a":1}\r\n\n{"b":"é"}\n{"torn":');
    expect(await collect(logLines(path))).toEqual(['{"a":1}', '{"b":"é"}']);
    expect(await collect(logLines(join(tempDir(), 'missing.jsonl')))).toEqual([]);
  });

  it('splits lines and multi-byte characters that straddle read chunks', async () => {
    const path = join(tempDir(), 'log.jsonl');
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i, text: 'ü€'.repeat(2000 + i) }));
    writeFileSync(path, `${lines.join('\n')}\n`);
    expect(await collect(logLines(path))).toEqual(lines);
  });
});

describe('stringField', () => {
  it('reads a key, not the same text inside a string', () => {
    const line = JSON.stringify({ text: '"runId":"fake"', runId: 'real' });
    expect(stringField(line, 'runId')).toBe('real');
    expect(stringField(line, 'missing')).toBeUndefined();
    expect(stringField(JSON.stringify({ runId: 'a\\b' }), 'runId')).toBeUndefined();
  });
});

describe('lastRunLine', () => {
  it('is the run committed last, however long its line', async () => {
    const out = tempDir();
    const big = runLine('20250601T120000Z-cccccc', { query: 'x'.repeat(200_000) });
    writeLogs(out, { runs: [runLine('20250601T100000Z-aaaaaa'), runLine('20250601T110000Z-bbbbbb', { query: 'y'.repeat(70_000) }), big] });
    expect((await lastRunLine(out))?.query).toBe(big.query);
  });

  it('passes over a damaged last line and a torn tail; none when no run was decided', async () => {
    const out = tempDir();
    expect(await lastRunLine(out)).toBeUndefined();
    writeLogs(out, { runs: [runLine('20250601T100000Z-aaaaaa')] });
    appendFileSync(join(out, 'runs.jsonl'), 'garbage\n{"runId":"torn');
    expect((await lastRunLine(out))?.runId).toBe('20250601T100000Z-aaaaaa');
    writeFileSync(join(out, 'runs.jsonl'), '');
    expect(await lastRunLine(out)).toBeUndefined();
  });
});

describe('knownRunIds', () => {
  it('names decided runs and runs the events saw start without a run line, never a batch id', async () => {
    const out = tempDir();
    writeLogs(out, {
      runs: [runLine('20250601T100000Z-aaaaaa')],
      events: [
        ...runEvents('20250601T100000Z-aaaaaa'),
        ...runEvents('20250601T110000Z-bbbbbb', { batchId: 'batch1', ended: false }),
        { specversion: '1.0', type: 'quorum.batch.started', runid: 'batch1', batchid: 'batch1', data: {} },
      ],
    });
    expect(await knownRunIds(out)).toEqual({ decided: ['20250601T100000Z-aaaaaa'], undecided: ['20250601T110000Z-bbbbbb'] });
  });
});
