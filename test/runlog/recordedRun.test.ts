import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { loadRecordedRun } from '../../src/runlog/recordedRun.js';
import { tempDir } from '../helpers/cli.js';
import { answerLine, answerLines, event, LEGACY_FIXTURE, POOL, runEvents, runLine, SEATS, writeLogs } from './fixtures.js';

const A = '20250601T100000Z-aaaaaa';
const B = '20250601T110000Z-bbbbbb';
const folder = () => join(tempDir('quorum-recorded-'), 'artifacts');

describe('loadRecordedRun', () => {
  it('loads a decided run from its run line and answer lines, among other runs', async () => {
    const out = writeLogs(folder(), {
      runs: [runLine(B, { rounds: 1 }), runLine(A)],
      answers: [...answerLines(B, 1), ...answerLines(A), answerLine(A, 0, { text: 'said again' })],
    });
    const run = await loadRecordedRun(out, A);
    expect(run).toMatchObject({ runId: A, query: runLine(A).query, quorum: 3, rounds: 2, chunk: null, candidates: POOL });
    expect(run.line).toEqual(runLine(A));
    expect(run.answers).toHaveLength(7);
    expect(run.panel.members.map(({ port, model, family }) => ({ port, model, family }))).toEqual(SEATS);
    // The later line of a port answered twice wins; port 3's failure is the run line's.
    expect(run.outcomes.map((o) => (o.ok ? o.text : o.kind))).toEqual(['said again', answerLine(A, 1).text, answerLine(A, 2).text, 'timeout']);
    expect([...run.votes.values()].map((o) => o.ok)).toEqual([true, true, true, false]);
  });

  it('a one-round run has no candidates', async () => {
    const out = writeLogs(folder(), { runs: [runLine(A, { rounds: 1 })], answers: answerLines(A, 1) });
    const run = await loadRecordedRun(out, A);
    expect(run.rounds).toBe(1);
    expect(run.candidates).toBeUndefined();
    expect(run.votes.size).toBe(0);
  });

  it('loads an interrupted run from its events and answers: its panel, query, chunk and failures', async () => {
    const members = SEATS.map((s) => ({ ...s, model: `${s.model}-live` }));
    const out = writeLogs(folder(), {
      answers: answerLines(A, 1),
      events: [
        ...runEvents(A, { members, batchId: 'batch1', chunkId: 'chunk9', ended: false }),
        event('quorum.vote.cast', A, { port: 1, model: members[1]!.model, family: 'family1', round: 2, ok: false, kind: 'malformed', message: 'no votes', latencyMs: 1, attempts: 1, candidates: 2, agree: 0, disagree: 0, unsure: 0, same: 0 }, { port: 1 }),
      ],
    });
    const run = await loadRecordedRun(out, A);
    expect(run.line).toBeUndefined();
    expect(run).toMatchObject({ query: runLine(A).query, quorum: 3, rounds: 1, chunk: { source: 'docs/a.md', id: 'chunk9' } });
    expect(run.panel.members.map((m) => m.model)).toEqual(members.map((m) => m.model));
    expect(run.outcomes[3]).toMatchObject({ ok: false, kind: 'timeout', attempts: 2, message: 'no answer within 5000 ms' });
  });

  it('an unknown id names the decided and the interrupted runs nearby', async () => {
    const out = writeLogs(folder(), { runs: [runLine(A)], answers: answerLines(A), events: runEvents(B, { ended: false }) });
    await expect(loadRecordedRun(out, `${A.slice(0, -1)}x`)).rejects.toThrow(new RegExp(`^Unknown run id ${A.slice(0, -1)}x in .*; nearby: ${A}, ${B}$`));
    await expect(loadRecordedRun(out, '../../etc')).rejects.toThrow(UsageError);
    await expect(loadRecordedRun(join(tempDir(), 'none'), A)).rejects.toThrow(/holds no runs; check --out/);
  });

  it('a 0.1 folder is a usage error naming quorum migrate', async () => {
    await expect(loadRecordedRun(LEGACY_FIXTURE, '20261206T040909Z-705fa7')).rejects.toThrow(/quorum 0\.1 .*quorum migrate --out /);
  });
});
