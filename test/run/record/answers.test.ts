import { describe, expect, it } from 'vitest';
import { RunAnswers } from '../../../src/run/record/answers.js';
import type { AnswerLine } from '../../../src/runlog/lines.js';
import type { Vote } from '../../../src/claims/ballot.js';
import { InMemorySink } from '../../../src/sinks/inMemorySink.js';
import { failure, success } from './fixtures.js';

describe('RunAnswers: the answers.jsonl lines of one run', () => {
  it('writes a usable round-1 reply raw and nothing for a failed call', () => {
    const sink = new InMemorySink<AnswerLine>();
    const answers = new RunAnswers(sink, 'run-1', false);
    answers.outcome(success(0, { responseId: 'gen-1' }));
    answers.outcome(failure(1));
    expect(sink.events).toEqual([
      { runId: 'run-1', round: 1, port: 0, model: 'model-0', family: 'family-0', latencyMs: 12, attempts: 1, usage: { inputTokens: 10, outputTokens: 20 }, finishReason: null, responseId: 'gen-1', text: 'answer 0' },
    ]);
    // Not kept: no view files will be rendered from them.
    expect(answers.lines).toEqual([]);
  });

  it('writes a vote-round reply with its ballot, a merge vote as same:<id>, and null when it was unreadable', () => {
    const sink = new InMemorySink<AnswerLine>();
    const answers = new RunAnswers(sink, 'run-1', true);
    answers.ballot({ outcome: success(2), ballot: new Map<string, Vote>([['c1', 'agree'], ['c2', { same: 'c1' }]]) });
    answers.ballot({ outcome: success(1), ballot: null });
    answers.ballot({ outcome: failure(0), ballot: null });
    expect(sink.events.map((l) => [l.round, l.port, l.ballot])).toEqual([
      [2, 2, { c1: 'agree', c2: 'same:c1' }],
      [2, 1, null],
    ]);
    expect(answers.lines).toEqual(sink.events);
  });

  it('writes an answer made elsewhere (a replay) as it is', () => {
    const sink = new InMemorySink<AnswerLine>();
    const answers = new RunAnswers(sink, 'run-2', true);
    const line = { runId: 'run-2', round: 1, port: 0, model: 'm', family: 'f', latencyMs: 1, attempts: 1, usage: {}, finishReason: null, responseId: null, text: 'x' } as AnswerLine;
    answers.record(line);
    expect(sink.events).toEqual([line]);
    expect(answers.lines).toEqual([line]);
  });
});
