import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startSandboxServer } from '../../src/sandbox/server.js';
import type { AnswerLine, BatchLine, RunLine } from '../../src/runlog/lines.js';
import { writeRunFiles } from '../../src/runlog/runFiles.js';
import type { ConsensusDocument } from '../../src/types.js';
import { panelScenario, runCli, tempDir, writePanel } from '../helpers/cli.js';
import { LEGACY_FIXTURE, legacyFixtureCopy } from '../runlog/fixtures.js';

/**
 * Against test/fixtures/legacy-0.1, a folder quorum 0.1 itself wrote: a two-round ask with a
 * failed port, a failed voter and an unreadable ballot; a 0.1 replay of it; a completed batch
 * of two one-round chunks; and an ask interrupted by Ctrl-C after seven of eight answers.
 */
const ASK = '20261206T040909Z-705fa7';
const REPLAY = '20261206T040912Z-7e4183';
const CHUNKS = ['20261206T040913Z-181d8f', '20261206T040913Z-af88fe'];
const INTERRUPTED = '20261206T041032Z-6c13f2';
const BATCH = '20261206T040913Z-ad48e2';
const DECIDED = [ASK, REPLAY, ...CHUNKS];

const ENV = { OPENROUTER_API_KEY: 'sk-test' };
const lines = <T>(path: string): T[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
const fixture = (out: string, ...path: string[]) => readFileSync(join(out, ...path), 'utf8');
const portFiles = (out: string, runId: string, sub: string) => (existsSync(join(out, 'runs', runId, sub)) ? readdirSync(join(out, 'runs', runId, sub)) : []);

async function migrated(): Promise<string> {
  const out = legacyFixtureCopy();
  const run = await runCli(['migrate', '--out', out]);
  expect(run.code).toBe(0);
  return out;
}

describe('quorum migrate', () => {
  it('before migrating, every reader stops with one line naming quorum migrate (exit 2)', async () => {
    const out = legacyFixtureCopy();
    const message = `Error: ${out} was written by quorum 0.1 (per-run files, no runs.jsonl); convert it once with: quorum migrate --out ${out}\n`;
    for (const args of [['show', ASK], ['show', 'latest'], ['replay', ASK], ['sql', 'consensus_rate'], ['report', ASK]]) {
      const run = await runCli([...args, '--out', out], ENV);
      expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 2, stderr: message });
    }
    expect(existsSync(join(out, 'runs.jsonl'))).toBe(false);
    expect(existsSync(join(out, 'reports'))).toBe(false);
  });

  it("converts a real 0.1 folder: one run line per consensus.json, one answer line per response and vote file, the batch's start and end", async () => {
    const out = legacyFixtureCopy();
    const run = await runCli(['migrate', '--out', out]);
    expect(run).toEqual({
      code: 0,
      stdout: `Migrated ${out}: 4 run(s) to runs.jsonl, 47 answer(s) to answers.jsonl, 1 batch(es) to batches.jsonl (1 undecided run(s) kept as answers only); the 0.1 files are kept\n`,
      stderr: '',
    });
    const runs = lines<RunLine>(join(out, 'runs.jsonl'));
    expect(runs.map((r) => r.runId).sort()).toEqual([...DECIDED].sort());
    for (const line of runs) {
      const { models, batchId, pool, panelSource, ...doc } = line;
      expect(doc).toEqual(JSON.parse(fixture(LEGACY_FIXTURE, 'runs', line.runId, 'consensus.json')) as ConsensusDocument);
      expect(models.map((m) => m.port)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(models[6]).toEqual({ port: 6, model: 'z-ai/glm-4.5-air:free', family: 'z-ai' });
      expect(batchId).toBe(CHUNKS.includes(line.runId) ? BATCH : undefined);
      expect(pool).toEqual(line.rounds === 2 ? JSON.parse(fixture(LEGACY_FIXTURE, 'runs', line.runId, 'candidates.json')) : undefined);
      expect(panelSource).toBe(line.runId === REPLAY ? `replay of ${ASK}` : 'panel.json');
    }
    const answers = lines<AnswerLine>(join(out, 'answers.jsonl'));
    for (const runId of [...DECIDED, INTERRUPTED]) {
      const of = answers.filter((a) => a.runId === runId);
      expect(of.filter((a) => a.round === 1)).toHaveLength(portFiles(LEGACY_FIXTURE, runId, 'responses').length);
      expect(of.filter((a) => a.round === 2)).toHaveLength(portFiles(LEGACY_FIXTURE, runId, 'votes').length);
    }
    const unreadable = answers.find((a) => a.runId === ASK && a.round === 2 && a.port === 5)!;
    expect(unreadable.ballot).toBeNull();
    expect(answers.find((a) => a.runId === ASK && a.round === 2 && a.port === 0)!.ballot).toMatchObject({ c1: 'agree' });
    expect(lines<BatchLine>(join(out, 'batches.jsonl')).map((b) => [b.type, b.batchId, b.chunks])).toEqual([
      ['started', BATCH, 2],
      ['ended', BATCH, 2],
    ]);
    // The 0.1 files stay as they were.
    for (const id of DECIDED) expect(fixture(out, 'runs', id, 'consensus.json')).toBe(fixture(LEGACY_FIXTURE, 'runs', id, 'consensus.json'));
  });

  it('a second migrate adds nothing and says so (exit 0)', async () => {
    const out = await migrated();
    const before = ['runs.jsonl', 'answers.jsonl', 'batches.jsonl'].map((f) => fixture(out, f));
    const again = await runCli(['migrate', '--out', out]);
    expect(again).toEqual({ code: 0, stdout: `Nothing to migrate: ${out} holds no 0.1 run or batch that the run log lacks (4 run(s) already in runs.jsonl)\n`, stderr: '' });
    expect(['runs.jsonl', 'answers.jsonl', 'batches.jsonl'].map((f) => fixture(out, f))).toEqual(before);
  });

  it('after migrating, show prints what 0.1 wrote, byte for byte', async () => {
    const out = await migrated();
    for (const id of DECIDED) {
      expect((await runCli(['show', id, '--out', out])).stdout).toBe(fixture(LEGACY_FIXTURE, 'runs', id, 'consensus.md'));
      expect((await runCli(['show', id, '--out', out, '--json'])).stdout).toBe(fixture(LEGACY_FIXTURE, 'runs', id, 'consensus.json'));
    }
    const interrupted = await runCli(['show', INTERRUPTED, '--out', out]);
    expect(interrupted.code).toBe(1);
    expect(interrupted.stderr).toMatch(/was never decided: .* gather the 7 answer\(s\) it got with: quorum replay /);
  });

  it('after migrating, replay re-gathers a migrated run, a 0.1 replay and the interrupted run', async () => {
    const out = await migrated();
    const original = JSON.parse(fixture(LEGACY_FIXTURE, 'runs', ASK, 'consensus.json')) as ConsensusDocument;
    const strip = (d: ConsensusDocument) => ({ status: d.status, quorum: d.quorum, claims: d.claims, dissent: d.dissent, failures: d.failures, rounds: d.rounds, abstentions: d.abstentions });
    const replay = await runCli(['replay', ASK, '--out', out, '--json'], ENV);
    expect(replay.code).toBe(0);
    const doc = JSON.parse(replay.stdout) as ConsensusDocument;
    expect(doc.replayOf).toBe(ASK);
    expect(strip(doc)).toEqual(strip(original));
    // The 0.1 replay was made at quorum 4; replayed at its own quorum it comes out the same.
    const replayOfReplay = await runCli(['replay', REPLAY, '--out', out, '--json'], ENV);
    expect(strip(JSON.parse(replayOfReplay.stdout) as ConsensusDocument)).toEqual(strip(JSON.parse(fixture(LEGACY_FIXTURE, 'runs', REPLAY, 'consensus.json')) as ConsensusDocument));
    const fromInterrupted = await runCli(['replay', INTERRUPTED, '--out', out, '--json'], ENV);
    expect(fromInterrupted.code).toBe(0);
    expect((JSON.parse(fromInterrupted.stdout) as ConsensusDocument).quorum).toMatchObject({ responders: 7, panel: 8 });
  });

  it('names damaged files on stderr, counts them in the summary, and converts the rest (exit 0)', async () => {
    const out = legacyFixtureCopy();
    writeFileSync(join(out, 'runs', ASK, 'consensus.json'), '{"runId":');
    const run = await runCli(['migrate', '--out', out]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(`Skipped runs/${ASK}/consensus.json: not readable as quorum 0.1 wrote it\n`);
    expect(run.stdout).toMatch(/^Migrated .*: 3 run\(s\) to runs\.jsonl, .*; skipped 1 damaged file\(s\); the 0\.1 files are kept\n$/);
  });

  it('an interrupted 0.1 batch, once migrated, is resumed by the same batch command: only its undecided chunk is redone', async () => {
    const dir = tempDir('quorum-migrate-batch-');
    const inputs = join(dir, 'notes');
    mkdirSync(inputs);
    for (const name of ['a', 'b', 'c']) writeFileSync(join(inputs, `${name}.md`), `# Notes ${name}\n\nThe sandbox serves simulated models (${name}).\n`);
    const scenario = panelScenario();
    const server = await startSandboxServer({ scenario });
    onTestFinished(() => server.close());
    const panel = writePanel(dir, server.baseURL, scenario);
    const batch = (out: string, ...extra: string[]) => runCli(['batch', inputs, '--query', 'What do these notes say?', '--panel', panel, '--rounds', '1', '--out', out, '--json', ...extra], ENV);
    // A finished batch supplies what 0.1 would have written for the same command.
    const full = join(dir, 'full');
    expect((await batch(full)).code).toBe(0);
    const started = lines<BatchLine>(join(full, 'batches.jsonl')).find((b) => b.type === 'started')!;
    const decided = lines<RunLine>(join(full, 'runs.jsonl')).slice(0, 2);
    const answers = lines<AnswerLine>(join(full, 'answers.jsonl'));
    // The 0.1 folder: two chunks decided, the third started when the batch was stopped.
    const old = join(dir, 'old');
    const jsonl = (values: object[]) => values.map((v) => `${JSON.stringify(v)}\n`).join('');
    mkdirSync(join(old, 'batches', started.batchId), { recursive: true });
    writeFileSync(join(old, 'batches', started.batchId, 'batch.json'), `${JSON.stringify({ batchId: started.batchId, key: started.key, identity: started.identity, startedAt: started.startedAt }, null, 2)}\n`);
    writeFileSync(
      join(old, 'batches', started.batchId, 'ledger.jsonl'),
      jsonl([
        ...decided.map((r, index) => ({ type: 'started', chunkId: r.chunk!.id, runId: r.runId, source: r.chunk!.source, index })),
        ...decided.map((r) => ({ type: 'done', chunkId: r.chunk!.id, runId: r.runId, status: r.status })),
      ]),
    );
    for (const r of decided) await writeRunFiles(old, r, answers.filter((a) => a.runId === r.runId));
    writeFileSync(join(old, 'cloudevents.jsonl'), '');
    expect((await runCli(['migrate', '--out', old])).stdout).toMatch(/: 2 run\(s\) to runs\.jsonl, .* 1 batch\(es\) /);
    const resumed = await batch(old, '--resume');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ batchId: started.batchId, chunks: 3, alreadyDone: 2, outcome: 'completed' });
    const runs = lines<RunLine>(join(old, 'runs.jsonl'));
    expect(runs).toHaveLength(3);
    expect(new Set(runs.map((r) => r.chunk!.id)).size).toBe(3);
    expect(runs.every((r) => r.batchId === started.batchId)).toBe(true);
  });

  it('a folder that does not exist is exit 2', async () => {
    const missing = join(tempDir(), 'nope');
    const run = await runCli(['migrate', '--out', missing]);
    expect(run).toEqual({ code: 2, stdout: '', stderr: `Error: ${missing} does not exist or is no folder; check --out\n` });
  });
});
