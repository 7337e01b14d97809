import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderConsensusMarkdown } from '../../src/render/consensusMarkdown.js';
import { consensusDocumentOf, writeRunFiles } from '../../src/runlog/runFiles.js';
import { tempDir } from '../helpers/cli.js';
import { answerLine, answerLines, POOL, runLine, SEATS } from './fixtures.js';

const read = (path: string) => readFileSync(path, 'utf8');
const json = (path: string) => JSON.parse(read(path)) as Record<string, unknown>;
/** Every file under `dir`, relative to it, hidden temporary ones included. */
const files = (dir: string): string[] => (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile()).sort();

describe('writeRunFiles', () => {
  it("renders a two-round run's views in 0.1's shapes and returns its folder", async () => {
    const out = tempDir();
    const run = runLine('20250601T100000Z-aaaaaa', { batchId: 'batch1' });
    const dir = await writeRunFiles(out, run, answerLines(run.runId));
    expect(dir).toBe(join(out, 'runs', run.runId));
    expect(files(dir)).toEqual([
      'candidates.json',
      'consensus.json',
      'consensus.md',
      ...[0, 1, 2].map((p) => `responses/port_${p}.json`),
      ...[0, 1, 2].map((p) => `votes/port_${p}.json`),
    ]);
    const { models: _m, batchId: _b, pool: _p, panelSource: _s, ...doc } = run;
    // Pretty-printed with a final newline, keys in the document's order, as 0.1 wrote consensus.json.
    expect(read(join(dir, 'consensus.json'))).toBe(`${JSON.stringify(doc, null, 2)}\n`);
    expect(read(join(dir, 'consensus.md'))).toBe(renderConsensusMarkdown(doc, SEATS));
    expect(read(join(dir, 'consensus.md'))).toContain(SEATS[3]!.model);
    expect(json(join(dir, 'candidates.json'))).toEqual(POOL);
  });

  it('writes each answer without its round, ballots only in votes/', async () => {
    const out = tempDir();
    const run = runLine('20250601T100000Z-aaaaaa');
    const dir = await writeRunFiles(out, run, answerLines(run.runId));
    const response = json(join(dir, 'responses', 'port_2.json'));
    expect(Object.keys(response)).toEqual(['runId', 'port', 'model', 'family', 'latencyMs', 'attempts', 'usage', 'finishReason', 'responseId', 'text']);
    const { round: _r, ...expected } = answerLine(run.runId, 2);
    expect(response).toEqual(expected);
    const vote = json(join(dir, 'votes', 'port_2.json'));
    expect(Object.keys(vote).at(-1)).toBe('ballot');
    expect(vote.ballot).toEqual({ c1: 'agree', c2: 'agree' });
  });

  it('an unreadable ballot is null, missing finish reason and response id are null', async () => {
    const out = tempDir();
    const run = runLine('20250601T100000Z-aaaaaa');
    const { finishReason: _f, responseId: _i, ...bare } = answerLine(run.runId, 0, { round: 2, ballot: null });
    const dir = await writeRunFiles(out, run, [bare as never]);
    expect(json(join(dir, 'votes', 'port_0.json'))).toMatchObject({ ballot: null, finishReason: null, responseId: null });
  });

  it('a one-round run has no candidates.json and no votes/', async () => {
    const out = tempDir();
    const run = runLine('20250601T100000Z-aaaaaa', { rounds: 1 });
    const dir = await writeRunFiles(out, run, answerLines(run.runId, 1));
    expect(existsSync(join(dir, 'candidates.json'))).toBe(false);
    expect(existsSync(join(dir, 'votes'))).toBe(false);
    expect(consensusDocumentOf(run)).not.toHaveProperty('models');
  });

  it('a run with no answers still gets its consensus files', async () => {
    const out = tempDir();
    const dir = await writeRunFiles(out, runLine('20250601T100000Z-aaaaaa', { rounds: 1 }), []);
    expect(files(dir)).toEqual(['consensus.json', 'consensus.md']);
  });

  it('renders again over an earlier rendering, leaving no temporary file; a port committed twice shows its later answer', async () => {
    const out = tempDir();
    const run = runLine('20250601T100000Z-aaaaaa');
    await writeRunFiles(out, run, answerLines(run.runId));
    const dir = await writeRunFiles(out, run, [...answerLines(run.runId), answerLine(run.runId, 1, { text: 'later' })]);
    expect(files(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(json(join(dir, 'responses', 'port_1.json')).text).toBe('later');
  });

  it('refuses a run id that is not a plain file name', async () => {
    const out = tempDir();
    await expect(writeRunFiles(out, runLine('../escape'), [])).rejects.toThrow(/not a plain file name/);
    await expect(writeRunFiles(out, runLine('.hidden'), [])).rejects.toThrow(/not a plain file name/);
    expect(existsSync(join(out, 'runs'))).toBe(false);
  });
});
