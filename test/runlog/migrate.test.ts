import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { legacyFolderMessage, MIGRATING_MARKER } from '../../src/runlog/legacy.js';
import type { AnswerLine, BatchLine, RunLine } from '../../src/runlog/lines.js';
import { migrateFolder } from '../../src/runlog/migrate.js';
import { tempDir } from '../helpers/cli.js';
import { answerLines, event, runLine, writeLegacyBatch, writeLegacyRun, writeLogs } from './fixtures.js';

const folder = () => join(tempDir('quorum-migrate-'), 'artifacts');
const lines = <T>(path: string): T[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as T)
    : [];
const logs = (out: string) => ({
  runs: lines<RunLine>(join(out, 'runs.jsonl')),
  answers: lines<AnswerLine>(join(out, 'answers.jsonl')),
  batches: lines<BatchLine>(join(out, 'batches.jsonl')),
});
const bytes = (out: string) => ['runs.jsonl', 'answers.jsonl', 'batches.jsonl'].map((f) => (existsSync(join(out, f)) ? readFileSync(join(out, f), 'utf8') : ''));

const A = '20250601T100000Z-aaaaaa';
const B = '20250601T100100Z-bbbbbb';
const C = '20250601T100200Z-cccccc';
const D = '20250601T100300Z-dddddd';
const E = '20250601T100400Z-eeeeee';

/** A two-round ask (A), a finished batch of two one-round runs (B with events, C without), an interrupted run (D), a 0.1 replay of A (E). */
function mixedFolder() {
  const out = folder();
  const expected = {
    a: writeLegacyRun(out, { runId: A }),
    b: writeLegacyRun(out, { runId: B, rounds: 1, batchId: 'batch1' }),
    c: writeLegacyRun(out, { runId: C, rounds: 1, batchId: 'batch1', events: false }),
    d: writeLegacyRun(out, { runId: D, decided: false }),
    e: writeLegacyRun(out, { runId: E, filesRunId: A }),
  };
  writeLegacyBatch(out, 'batch1', [B, C], { completed: true });
  return { out, expected };
}

describe('migrateFolder', () => {
  it('turns every consensus.json into a run line: the document plus models, batchId, pool and panelSource', async () => {
    const { out, expected } = mixedFolder();
    const summary = await migrateFolder(out);
    expect(summary).toEqual({ runs: 4, answers: 6 + 3 + 3 + 6 + 6, batches: 1, undecided: 1, already: 0, damaged: [], interrupted: false });
    const { runs } = logs(out);
    // Runs the events saw end come first, in that order; C, which the events never saw, after.
    expect(runs.map((r) => r.runId)).toEqual([A, B, E, C]);
    expect(runs[0]).toEqual(expected.a);
    expect(runs[1]).toEqual(expected.b);
    expect(runs[2]).toEqual(expected.e);
    // Without events: the seats come from the answers and the failure, the batch from its ledger, no panel source.
    const { panelSource: _s, ...c } = expected.c;
    expect(runs[3]).toEqual(c);
    // The old files stay; the folder is no 0.1 folder any more.
    expect(existsSync(join(out, 'runs', A, 'consensus.json'))).toBe(true);
    expect(existsSync(join(out, MIGRATING_MARKER))).toBe(false);
    expect(legacyFolderMessage(out)).toBeUndefined();
  });

  it('turns every response and vote file into an answer line under its folder’s run id, interrupted runs included', async () => {
    const { out } = mixedFolder();
    await migrateFolder(out);
    const { answers } = logs(out);
    const of = (id: string) => answers.filter((a) => a.runId === id);
    expect(of(A)).toEqual(answerLines(A, 2));
    expect(of(B)).toEqual(answerLines(B, 1));
    expect(of(D)).toEqual(answerLines(D, 2));
    // A 0.1 replay copied A's files, runId and all: its lines are E's.
    expect(of(E)).toEqual(answerLines(E, 2));
    expect(answers.filter((a) => a.round === 2).every((a) => a.ballot !== undefined)).toBe(true);
  });

  it('writes a batch start from batch.json and an end from the ledger', async () => {
    const { out } = mixedFolder();
    await migrateFolder(out);
    const [started, ended, ...rest] = logs(out).batches;
    expect(started).toMatchObject({ type: 'started', batchId: 'batch1', key: 'abcdef0123456789', startedAt: '2025-06-01T09:59:00.000Z', at: '2025-06-01T09:59:00.000Z', resumed: false, chunks: 2 });
    expect(started).toHaveProperty('identity.query', 'What does the spec say?');
    expect(ended).toEqual({ type: 'ended', batchId: 'batch1', outcome: 'completed', chunks: 2, at: '2025-06-01T10:10:00.000Z' });
    expect(rest).toEqual([]);
  });

  it('a batch that never completed gets its start only, or the end its events record', async () => {
    const out = folder();
    writeLegacyRun(out, { runId: A, batchId: 'open' });
    writeLegacyBatch(out, 'open', [A]);
    writeLegacyBatch(out, 'stopped', []);
    writeLogs(out, {
      events: [
        { ...event('quorum.batch.started', 'stopped', { chunks: 7 }, { batchId: 'stopped' }) },
        { ...event('quorum.batch.completed', 'stopped', { outcome: 'stopped', chunks: 7, message: 'quota spent' }, { batchId: 'stopped' }), time: '2025-06-01T11:00:00.000Z' },
      ],
    });
    await migrateFolder(out);
    const batches = logs(out).batches;
    expect(batches.filter((b) => b.batchId === 'open')).toEqual([expect.objectContaining({ type: 'started', chunks: 1 })]);
    expect(batches.filter((b) => b.batchId === 'stopped')).toEqual([
      expect.objectContaining({ type: 'started', chunks: 7 }),
      { type: 'ended', batchId: 'stopped', outcome: 'stopped', chunks: 7, at: '2025-06-01T11:00:00.000Z', message: 'quota spent' },
    ]);
  });

  it('a second migration adds nothing', async () => {
    const { out } = mixedFolder();
    await migrateFolder(out);
    const before = bytes(out);
    expect(await migrateFolder(out)).toEqual({ runs: 0, answers: 0, batches: 0, undecided: 0, already: 4, damaged: [], interrupted: false });
    expect(bytes(out)).toEqual(before);
  });

  it('an interrupted migration leaves whole lines and a marker; running it again finishes it with no line twice', async () => {
    const whole = mixedFolder();
    await migrateFolder(whole.out);
    const { out } = mixedFolder();
    // Stops after the first run: the signal is looked at before each event line, and A's six
    // events (start, three answers, a failure, the end) come first.
    let looks = 0;
    const signal = { get aborted() { return ++looks > 6; } } as AbortSignal;
    const first = await migrateFolder(out, { signal });
    expect(first).toMatchObject({ interrupted: true, runs: 1 });
    expect(legacyFolderMessage(out)).toMatch(/half converted .* finish it with: quorum migrate --out /);
    await migrateFolder(out);
    expect(existsSync(join(out, MIGRATING_MARKER))).toBe(false);
    const sorted = (o: string) => bytes(o).map((text) => text.split('\n').sort());
    expect(sorted(out)).toEqual(sorted(whole.out));
  });

  it('a run whose answers were appended before a crash gets its run line and only its missing answers', async () => {
    const out = folder();
    const expected = writeLegacyRun(out, { runId: A });
    writeLogs(out, { answers: answerLines(A, 2).slice(0, 4) });
    const summary = await migrateFolder(out);
    expect(summary).toMatchObject({ runs: 1, answers: 2 });
    const { runs, answers } = logs(out);
    expect(runs).toEqual([expected]);
    expect(answers.filter((a) => a.runId === A)).toHaveLength(6);
  });

  it('skips and counts damaged files, converting what is readable', async () => {
    const out = folder();
    writeLegacyRun(out, { runId: A });
    writeLegacyRun(out, { runId: B });
    writeLegacyRun(out, { runId: C });
    writeFileSync(join(out, 'runs', A, 'consensus.json'), '{"runId": "20250601T1');
    writeFileSync(join(out, 'runs', B, 'responses', 'port_1.json'), 'not json');
    writeFileSync(join(out, 'runs', C, 'candidates.json'), '"a string"');
    writeLegacyBatch(out, 'nomanifest', [B]);
    rmSync(join(out, 'batches', 'nomanifest', 'batch.json'));
    writeLegacyBatch(out, 'tornmanifest', [C]);
    writeFileSync(join(out, 'batches', 'tornmanifest', 'batch.json'), '{"batchId":');
    const summary = await migrateFolder(out);
    expect(summary.damaged.sort()).toEqual(
      [`runs/${A}/consensus.json`, `runs/${B}/responses/port_1.json`, `runs/${C}/candidates.json`, 'batches/nomanifest/batch.json', 'batches/tornmanifest/batch.json'].sort(),
    );
    expect(summary.batches).toBe(0);
    const { runs, answers } = logs(out);
    expect(runs.map((r) => r.runId).sort()).toEqual([B, C]);
    // A batch without its manifest still names its runs.
    expect(runs.find((r) => r.runId === B)?.batchId).toBe('nomanifest');
    expect(runs.find((r) => r.runId === C)).not.toHaveProperty('pool');
    // A's answers are kept, as an undecided run's: it can still be replayed.
    expect(answers.filter((a) => a.runId === A)).toHaveLength(6);
    expect(answers.filter((a) => a.runId === B && a.round === 1).map((a) => a.port)).toEqual([0, 2]);
    expect(summary.undecided).toBe(1);
  });

  it('a folder in the 0.2 layout has nothing to migrate and is left as it is', async () => {
    const out = folder();
    writeLogs(out, { runs: [runLine(A)], answers: answerLines(A) });
    mkdirSync(join(out, 'runs', A), { recursive: true });
    writeFileSync(join(out, 'runs', A, 'consensus.json'), '{}');
    const before = bytes(out);
    expect(await migrateFolder(out)).toMatchObject({ runs: 0, answers: 0, batches: 0, already: 1, damaged: [] });
    expect(bytes(out)).toEqual(before);
    expect(existsSync(join(out, MIGRATING_MARKER))).toBe(false);
  });

  it('a missing folder, or one that holds no artifacts, is a usage error', async () => {
    await expect(migrateFolder(join(tempDir(), 'missing'))).rejects.toThrow(UsageError);
    await expect(migrateFolder(join(tempDir(), 'missing'))).rejects.toThrow(/does not exist or is no folder; check --out/);
    await expect(migrateFolder(tempDir())).rejects.toThrow(/is not a quorum artifacts folder/);
  });

  it('a 0.1 folder of interrupted runs only still ends up converted', async () => {
    const out = folder();
    writeLegacyRun(out, { runId: D, decided: false });
    writeLegacyBatch(out, 'batch1', [D]);
    expect(legacyFolderMessage(out)).toMatch(/quorum 0\.1/);
    expect(await migrateFolder(out)).toMatchObject({ runs: 0, answers: 6, batches: 1, undecided: 1 });
    expect(readFileSync(join(out, 'runs.jsonl'), 'utf8')).toBe('');
    expect(legacyFolderMessage(out)).toBeUndefined();
  });
});
