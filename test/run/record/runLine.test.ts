import { describe, expect, it } from 'vitest';
import type { AskResult } from '../../../src/pipelines/ask.js';
import { consensusDocument, runLineOf, writeRunLine } from '../../../src/run/record/runLine.js';
import type { AnswerLine, RunLine } from '../../../src/runlog/lines.js';
import { InMemorySink } from '../../../src/sinks/inMemorySink.js';
import { panel } from './fixtures.js';

const quorum = { configured: 2, required: 2, responders: 3, panel: 3, minResponders: 2 };
const gathered = {
  result: { status: 'consensus', quorum, claims: [{ text: 'Auroras are caused by the solar wind.', support: 3, ports: [0, 1, 2] }], dissent: [], failures: [], agreement: null, rounds: 2, candidates: 4, leftOut: [], truncated: [] },
} as unknown as AskResult;
const context = {
  runId: 'run-1',
  request: { query: 'What causes auroras?', context: { source: 'notes.md', text: 'x' } },
  panel,
  sandbox: true,
  startedAt: new Date('2026-01-01T00:00:00Z'),
};

describe('the run line (runs.jsonl) of a decided run', () => {
  it('makes the consensus document from the result, in its fixed field order, leaving out empty lists', () => {
    const doc = consensusDocument(context, gathered, new Date('2026-01-01T00:00:05Z'));
    expect(Object.keys(doc)).toEqual(['runId', 'query', 'chunk', 'status', 'quorum', 'claims', 'dissent', 'failures', 'agreement', 'rounds', 'candidates', 'startedAt', 'finishedAt', 'sandbox']);
    // With no chunk, the --context document is what the run worked on.
    expect(doc.chunk).toEqual({ source: 'notes.md', id: 'context' });
    expect([doc.startedAt, doc.finishedAt]).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:05.000Z']);
  });

  it('marks a replay, a superseding run and a chair synthesis, and prefers the chunk to the context', () => {
    const doc = consensusDocument(
      { ...context, chunk: { source: 'a.md', id: 'a.md#1' }, replayOf: 'run-0', supersedes: ['run-a'] },
      { ...gathered, synthesis: { text: 'prose' } } as unknown as AskResult,
      new Date(),
    );
    expect(doc).toMatchObject({ chunk: { source: 'a.md', id: 'a.md#1' }, replayOf: 'run-0', supersedes: ['run-a'], synthesis: { text: 'prose' } });
  });

  it('adds the seats, the batch, the pool and the panel source to the line', () => {
    const doc = consensusDocument(context, gathered, new Date());
    const pool = [{ id: 'c1', text: 'x', ports: [0] }] as unknown as Parameters<typeof runLineOf>[2];
    const line = runLineOf({ ...context, batchId: 'b-1' }, doc, pool);
    expect(line).toEqual({ ...doc, models: panel.members.map(({ port, model, family }) => ({ port, model, family })), batchId: 'b-1', pool, panelSource: 'sandbox' });
    expect(runLineOf(context, doc, undefined)).not.toHaveProperty('pool');
  });

  it('writes the line and asks for the views only when the sinks render them', () => {
    const line = runLineOf(context, consensusDocument(context, gathered, new Date()), undefined);
    const answers: AnswerLine[] = [];
    for (const runFiles of [false, true]) {
      const runs = new InMemorySink<RunLine>();
      const rendered: [RunLine, readonly AnswerLine[]][] = [];
      writeRunLine({ runs, runFiles, renderViews: (run, a) => rendered.push([run, a]) }, line, answers);
      expect(runs.events).toEqual([line]);
      expect(rendered).toEqual(runFiles ? [[line, answers]] : []);
    }
  });
});
