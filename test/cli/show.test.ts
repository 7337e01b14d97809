import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderConsensusMarkdown } from '../../src/render/consensusMarkdown.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { answerLines, runEvents, runLine, SEATS, writeLogs } from '../runlog/fixtures.js';

const A = '20250601T100000Z-aaaaaa';
const B = '20250601T110000Z-bbbbbb';
const UNDECIDED = '20250601T120000Z-cccccc';
const IN_BATCH = '20250601T130000Z-dddddd';

/** Two decided runs (B decided last), an interrupted ask with answers and an interrupted batch chunk run. */
function folder(): string {
  return writeLogs(join(tempDir('quorum-show-'), 'artifacts'), {
    runs: [runLine(A), runLine(B, { rounds: 1 })],
    answers: [...answerLines(A), ...answerLines(B, 1), ...answerLines(UNDECIDED, 1)],
    events: [...runEvents(A), ...runEvents(B), ...runEvents(UNDECIDED, { status: 'interrupted' }), ...runEvents(IN_BATCH, { batchId: 'batch1', ended: false })],
  });
}

const show = (args: string[]) => runCli(['show', ...args]);
const docOf = (id: string, rounds?: 1 | 2) => {
  const { models: _m, pool: _p, panelSource: _s, batchId: _b, ...doc } = runLine(id, rounds ? { rounds } : {});
  return doc;
};

describe('quorum show', () => {
  it("prints a run's consensus.md, rendered from its run line", async () => {
    const out = folder();
    const run = await show([A, '--out', out]);
    expect(run).toEqual({ code: 0, stdout: renderConsensusMarkdown(docOf(A), SEATS), stderr: '' });
    expect(existsSync(join(out, 'runs'))).toBe(false);
  });

  it('--json prints consensus.json: the document without what only the log carries', async () => {
    const out = folder();
    const run = await show([A, '--out', out, '--json']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${JSON.stringify(docOf(A), null, 2)}\n`);
  });

  it('--write writes the run files and prints their folder', async () => {
    const out = folder();
    const run = await show([A, '--out', out, '--write']);
    const dir = join(out, 'runs', A);
    expect(run).toEqual({ code: 0, stdout: `${dir}\n`, stderr: '' });
    expect(readFileSync(join(dir, 'consensus.json'), 'utf8')).toBe(`${JSON.stringify(docOf(A), null, 2)}\n`);
    expect(readFileSync(join(dir, 'consensus.md'), 'utf8')).toBe(renderConsensusMarkdown(docOf(A), SEATS));
    for (const f of ['candidates.json', 'responses/port_0.json', 'responses/port_2.json', 'votes/port_1.json']) expect(existsSync(join(dir, f))).toBe(true);
  });

  it('latest is the run decided last; a blackboard pull (runs.jsonl#<id>) names a run too', async () => {
    const out = folder();
    expect((await show(['latest', '--out', out, '--json'])).stdout).toBe(`${JSON.stringify(docOf(B, 1), null, 2)}\n`);
    expect((await show([`runs.jsonl#${A}`, '--out', out, '--json'])).stdout).toBe(`${JSON.stringify(docOf(A), null, 2)}\n`);
    const empty = join(tempDir(), 'artifacts');
    mkdirSync(empty);
    const none = await show(['latest', '--out', empty]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(`Error: No run decided in ${empty} yet (runs.jsonl holds none); check --out\n`);
  });

  it('an unknown id is exit 2 and names the ids nearby', async () => {
    const out = folder();
    const run = await show([`${A.slice(0, -1)}x`, '--out', out]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^Error: Unknown run id ${A.slice(0, -1)}x in .*; nearby: ${A}, `));
    const missing = await show([A, '--out', join(tempDir(), 'none')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/holds no runs; check --out\n$/);
  });

  it('a run that was never decided is exit 1, with one line saying how to redo it', async () => {
    const out = folder();
    const ask = await show([UNDECIDED, '--out', out]);
    expect(ask.code).toBe(1);
    expect(ask.stdout).toBe('');
    expect(ask.stderr).toBe(
      `Error: Run ${UNDECIDED} was never decided: it stopped before its consensus was committed (no line in runs.jsonl); ask again, or gather the 3 answer(s) it got with: quorum replay ${UNDECIDED} --out ${out}\n`,
    );
    const chunk = await show([IN_BATCH, '--out', out]);
    expect(chunk.code).toBe(1);
    expect(chunk.stderr).toMatch(/never decided: .*; resume its batch batch1 \(the same quorum batch command with --resume\) to redo its chunk\n$/);
  });

  it('--json and --write together is a usage error', async () => {
    const run = await show([A, '--out', folder(), '--json', '--write']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Error: Give --json or --write, not both/);
  });
});
