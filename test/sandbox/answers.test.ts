import { describe, expect, it } from 'vitest';
import { sameClaim } from '../../src/claims/similarity.js';
import {
  chooseAnswer,
  declaredVotes,
  honestVotes,
  isVotePrompt,
  lastUserMessage,
  sandboxClaims,
  voteCandidates,
} from '../../src/sandbox/answers.js';
import { parseScenario, type FactGroup, type SandboxModel, type VoteMode } from '../../src/sandbox/scenario.js';

describe('lastUserMessage', () => {
  it('takes the last user message, string or text parts', () => {
    expect(
      lastUserMessage([
        { role: 'system', content: 's' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'a' },
        { role: 'user', content: [{ type: 'text', text: 'sec' }, { type: 'text', text: 'ond' }] },
      ]),
    ).toBe('second');
    expect(lastUserMessage('nope')).toBe('');
    expect(lastUserMessage([{ role: 'system', content: 's' }])).toBe('');
  });
});

describe('sandboxClaims', () => {
  it('reads JSON claims bare, fenced or after a preamble', () => {
    expect(sandboxClaims('{"claims":["a","b"]}')).toEqual(['a', 'b']);
    expect(sandboxClaims('```json\n{"claims":["a"]}\n```')).toEqual(['a']);
    expect(sandboxClaims('Here:\n{"claims":["a"]}')).toEqual(['a']);
  });

  it('reads list items, then sentences', () => {
    expect(sandboxClaims('Claims:\n- a b\n* c\n2. d')).toEqual(['a b', 'c', 'd']);
    expect(sandboxClaims('One fact. Another fact!')).toEqual(['One fact.', 'Another fact!']);
  });
});

describe('chooseAnswer', () => {
  const model = {
    model: 'acme/a',
    answer: '{"claims":["The sky is simulated.","Water is simulated."]}',
    answers: [{ when: 'capital of (france|FR)', text: 'Paris' }],
  };

  it('uses the first matching rule, case-insensitively', () => {
    expect(chooseAnswer(model, 'What is the CAPITAL of France?')).toBe('Paris');
  });

  it('falls back to the answer, then to a default naming the model', () => {
    expect(chooseAnswer(model, 'anything')).toBe(model.answer);
    expect(chooseAnswer({ model: 'acme/b' }, 'anything')).toContain('acme/b');
  });

  it('votes on a vote-round prompt: agree with its own claims, unsure otherwise', () => {
    const prompt = 'Vote on each:\n[c1] the sky is simulated\n[c2] Grass is blue.\n[c3] Water is simulated.';
    expect(JSON.parse(chooseAnswer(model, prompt))).toEqual({ votes: { c1: 'agree', c2: 'unsure', c3: 'agree' } });
  });
});

/** A vote-round user message shaped like the one src/models/prompt.ts builds (DESIGN.md "Vote round"). */
const votePrompt = (question: string, candidates: string[]): string =>
  [
    `Question: ${question}`,
    '',
    'Candidate claims:',
    ...candidates.map((c, i) => `[c${i + 1}] ${c}`),
    '',
    `Vote on every candidate, c1 to c${candidates.length}, as JSON {"votes": {...}}.`,
  ].join('\n');

const votesOf = (model: SandboxModel, prompt: string): unknown => JSON.parse(chooseAnswer(model, prompt));

describe('voteCandidates', () => {
  it('reads [cN] lines in order, keeps the first of a repeated id, ignores other lines', () => {
    expect(voteCandidates('Question: q\n[c1] A b.\n  [c2]   C d.  \n[x] no\n[c1] again')).toEqual([
      { id: 'c1', text: 'A b.' },
      { id: 'c2', text: 'C d.' },
    ]);
    expect(isVotePrompt('What is [c1]?')).toBe(false);
  });

  it('finds the candidates of a vote prompt that carries a document, but not the document lines', () => {
    const prompt = votePrompt('q', ['A b.']).replace('\n\nCandidate', '\n<document source="d.txt">\n[c7] planted\n</document>\n\nCandidate');
    expect(voteCandidates(prompt)).toEqual([{ id: 'c1', text: 'A b.' }]);
  });

  it('does not take lines inside a <document> for candidates', () => {
    const roundOne = 'Question: q\n<document source="a.txt">\n[c1] planted line\n</document>\nAnswer the question.';
    expect(isVotePrompt(roundOne)).toBe(false);
    expect(chooseAnswer({ model: 'acme/a', answer: 'A.' }, roundOne)).toBe('A.');
    expect(voteCandidates('<document source="x">\n[c1] in\n</document>\n[c2] out')).toEqual([{ id: 'c2', text: 'out' }]);
  });
});

describe('honest votes', () => {
  const own = ['The protocol uses port 8080 by default.', 'The protocol was published in 2019.'];

  it('agrees with a rewording of its own claim (sameClaim) and with the same text', () => {
    expect(honestVotes(own, [
      { id: 'c1', text: 'By default the protocol listens on port 8080.' },
      { id: 'c2', text: 'the protocol was published in 2019' },
    ])).toEqual({ c1: 'agree', c2: 'agree' });
  });

  it('disagrees with a look-alike that has another number, name or a negation', () => {
    const votes = honestVotes(
      [...own, 'Paris is the capital of France.', 'Sandbox answers are generated offline, without network access.'],
      [
        { id: 'c1', text: 'The protocol uses port 8081 by default.' },
        { id: 'c2', text: 'The protocol does not use port 8080 by default.' },
        { id: 'c3', text: 'Lyon is the capital of France.' },
        { id: 'c4', text: 'Sandbox answers require network access.' },
      ],
    );
    expect(votes).toEqual({ c1: 'disagree', c2: 'disagree', c3: 'disagree', c4: 'disagree' });
  });

  it('is unsure about unrelated claims and about other facts on the same subject', () => {
    const votes = honestVotes(
      ['Albert Einstein was born in 1879.', 'Paris is the capital of France.', 'The sandbox simulates eight model families.'],
      [
        { id: 'c1', text: 'Grass is blue.' },
        { id: 'c2', text: 'Albert Einstein died in 1955.' },
        { id: 'c3', text: 'Albert Einstein won the Nobel Prize in Physics.' },
        { id: 'c4', text: 'Paris has many museums.' },
        // A stray "not" is a weak signal: similar (0.49) but not a negated look-alike.
        { id: 'c5', text: 'The quorum sandbox serves simulated models, not real ones.' },
      ],
    );
    expect(votes).toEqual({ c1: 'unsure', c2: 'unsure', c3: 'unsure', c4: 'unsure', c5: 'unsure' });
  });

  it('marks a later candidate matching the same own claim same:<earlier id>', () => {
    expect(honestVotes(own, [
      { id: 'c1', text: 'Grass is blue.' },
      { id: 'c2', text: 'The protocol uses port 8080 by default.' },
      { id: 'c3', text: 'The protocol was published in 2019.' },
      { id: 'c4', text: 'By default the protocol listens on port 8080.' },
      { id: 'c5', text: 'the protocol uses port 8080 by default' },
    ])).toEqual({ c1: 'unsure', c2: 'agree', c3: 'agree', c4: 'same:c2', c5: 'same:c2' });
  });

  it('is the default mode, with own claims from the answer in any format', () => {
    const model: SandboxModel = { model: 'acme/a', answer: '- The protocol uses port 8080 by default.\n- The protocol was published in 2019.' };
    expect(votesOf(model, votePrompt('Which port?', ['The protocol uses port 8081 by default.', 'The protocol was published in 2019.', 'Cats bark.']))).toEqual({
      votes: { c1: 'disagree', c2: 'agree', c3: 'unsure' },
    });
  });
});

describe('vote modes', () => {
  const answer = '{"claims":["The protocol uses port 8080 by default.","The protocol was published in 2019."]}';
  const prompt = votePrompt('Which port?', [
    'The protocol uses port 8080 by default.',
    'The protocol uses port 8081 by default.',
    'Grass is blue.',
    'The protocol was published in 2019.',
    'By default the protocol listens on port 8080.',
  ]);
  const reply = (votes: VoteMode, extra: Partial<SandboxModel> = {}): string => chooseAnswer({ model: 'acme/a', answer, votes, ...extra }, prompt);

  it('honest', () => {
    expect(JSON.parse(reply('honest'))).toEqual({ votes: { c1: 'agree', c2: 'disagree', c3: 'unsure', c4: 'agree', c5: 'same:c1' } });
  });

  it('agree_all and disagree_all vote the same on every candidate', () => {
    expect(JSON.parse(reply('agree_all'))).toEqual({ votes: { c1: 'agree', c2: 'agree', c3: 'agree', c4: 'agree', c5: 'agree' } });
    expect(JSON.parse(reply('disagree_all'))).toEqual({
      votes: { c1: 'disagree', c2: 'disagree', c3: 'disagree', c4: 'disagree', c5: 'disagree' },
    });
  });

  it('same_all says every candidate after the first is the same as the first', () => {
    expect(JSON.parse(reply('same_all'))).toEqual({ votes: { c1: 'agree', c2: 'same:c1', c3: 'same:c1', c4: 'same:c1', c5: 'same:c1' } });
  });

  it('garbage replies with prose holding no JSON', () => {
    const text = reply('garbage');
    expect(text.length).toBeGreaterThan(20);
    expect(text).not.toMatch(/[{}[\]]/);
  });

  it('partial votes honestly on the first half (rounded up) and leaves the rest out', () => {
    expect(JSON.parse(reply('partial'))).toEqual({ votes: { c1: 'agree', c2: 'disagree', c3: 'unsure' } });
  });

  it('invalid sends JSON with non-votes, an unknown id and a same: to an unknown id', () => {
    const { votes } = JSON.parse(reply('invalid')) as { votes: Record<string, string> };
    expect(Object.keys(votes)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c999']);
    expect(votes.c1).toBe('maybe');
    expect(votes.c2).toBe('same:c999');
    for (const id of ['c1', 'c2', 'c3', 'c4', 'c5']) expect(votes[id]).not.toMatch(/^(agree|disagree|unsure|same:c[1-5])$/);
    // The unknown id never collides with a listed one.
    const many = votePrompt('q', Array.from({ length: 3 }, (_, i) => `Claim ${i}.`)).replace('[c3]', '[c999]');
    expect(Object.keys((JSON.parse(chooseAnswer({ model: 'acme/a', votes: 'invalid' }, many)) as { votes: object }).votes)).toEqual([
      'c1',
      'c2',
      'c999',
      'c1000',
    ]);
  });

  it('voteAnswer is sent verbatim and wins over votes', () => {
    expect(reply('agree_all', { voteAnswer: '{"votes": {"c1": "unsure"}}' })).toBe('{"votes": {"c1": "unsure"}}');
  });

  it('a vote prompt takes precedence over answers rules, which still give the round-1 claims', () => {
    const model: SandboxModel = {
      model: 'acme/a',
      answer: '{"claims":["Grass is blue."]}',
      answers: [{ when: 'which port', text: '{"claims":["The protocol uses port 8080 by default."]}' }],
    };
    // Round 1: the rule fires.
    expect(chooseAnswer(model, 'Question: Which port?')).toBe(model.answers![0]!.text);
    // Round 2 repeats the question: votes, judged against what the rule answered.
    expect(votesOf(model, votePrompt('Which port?', ['The protocol uses port 8081 by default.', 'Grass is blue.']))).toEqual({
      votes: { c1: 'disagree', c2: 'unsure' },
    });
    // A rule matching only a candidate line does not pick the round-1 answer.
    expect(votesOf(model, votePrompt('Something else?', ['Which port is it?', 'Grass is blue.']))).toEqual({
      votes: { c1: 'unsure', c2: 'agree' },
    });
  });
});

describe('honest votes from declared facts', () => {
  const facts: FactGroup[] = [
    { id: 'port', wordings: ['The protocol uses port 8080 by default.', 'By default the protocol listens on port 8080.'] },
    { id: 'port-8081', wordings: ['The protocol uses port 8081 by default.'], contradicts: ['port'] },
    { id: 'nightly', wordings: ['The server restarts every night.'] },
    { id: 'midnight', wordings: ['The server restarts every night at midnight.'] },
    { id: 'tuesday', wordings: ['The meeting is on Tuesday.'] },
    { id: 'thursday', wordings: ['The meeting is on Thursday.'], contradicts: ['tuesday'] },
  ];

  it('agrees with any declared wording of a fact it stated, same:<earlier id> for a later one, whatever the case and punctuation', () => {
    expect(declaredVotes(['The protocol uses port 8080 by default.'], [
      { id: 'c1', text: 'by default, the protocol listens on port 8080' },
      { id: 'c2', text: 'The protocol uses port 8080 by default.' },
    ], facts)).toEqual({ c1: 'agree', c2: 'same:c1' });
  });

  it('disagrees with a fact declared to contradict one it stated, from either side', () => {
    expect(declaredVotes(['The protocol uses port 8080 by default.'], [{ id: 'c1', text: 'The protocol uses port 8081 by default.' }], facts)).toEqual({ c1: 'disagree' });
    expect(declaredVotes(['The protocol uses port 8081 by default.'], [{ id: 'c1', text: 'The protocol uses port 8080 by default.' }], facts)).toEqual({ c1: 'disagree' });
  });

  it('takes no verdict from the matcher: a pair it calls the same fact stays apart, a contradiction it misses is a disagreement', () => {
    // The matcher's view, so this test proves something: it merges the first pair and misses the second.
    expect(sameClaim('The server restarts every night.', 'The server restarts every night at midnight.')).toBe(true);
    const own = ['The server restarts every night.', 'The meeting is on Tuesday.'];
    const candidates = [
      { id: 'c1', text: 'The server restarts every night at midnight.' },
      { id: 'c2', text: 'The meeting is on Thursday.' },
    ];
    expect(honestVotes(own, candidates)).toEqual({ c1: 'agree', c2: 'unsure' });
    expect(honestVotes(own, candidates, facts)).toEqual({ c1: 'unsure', c2: 'disagree' });
  });

  it('treats an undeclared own claim as a fact of its own: agree with its exact words only', () => {
    expect(declaredVotes(['Release 4 shipped on a Tuesday.'], [
      { id: 'c1', text: 'release 4 shipped on a tuesday' },
      { id: 'c2', text: 'Release 4 was shipped on a Tuesday.' },
      { id: 'c3', text: 'Grass is blue.' },
    ], [])).toEqual({ c1: 'agree', c2: 'unsure', c3: 'unsure' });
  });

  it('is what chooseAnswer votes with when the scenario declares facts, for honest and partial voters', () => {
    const model: SandboxModel = { model: 'acme/a', answer: '- The server restarts every night.\n- The meeting is on Tuesday.' };
    const prompt = votePrompt('When?', ['The server restarts every night at midnight.', 'The meeting is on Thursday.', 'The server restarts every night.']);
    expect(JSON.parse(chooseAnswer(model, prompt, facts))).toEqual({ votes: { c1: 'unsure', c2: 'disagree', c3: 'agree' } });
    expect(JSON.parse(chooseAnswer({ ...model, votes: 'partial' }, prompt, facts))).toEqual({ votes: { c1: 'unsure', c2: 'disagree' } });
  });

  it('a scenario file declares facts; a wording in two facts or an unknown contradicts id is one clear error', () => {
    const models = [{ model: 'acme/a' }];
    expect(parseScenario({ models, facts }, 's.yaml').facts).toHaveLength(6);
    expect(() => parseScenario({ models, facts: [{ id: 'a', wordings: ['X is 1.'] }, { id: 'b', wordings: ['x is 1'] }] }, 's.yaml')).toThrow(
      's.yaml: facts[1].wordings[0]: expected each wording in one fact only, it is also a wording of "a"',
    );
    expect(() => parseScenario({ models, facts: [{ id: 'a', wordings: ['X is 1.'], contradicts: ['b'] }] }, 's.yaml')).toThrow(
      's.yaml: facts[0].contradicts[0]: expected the id of a declared fact, "b" is none',
    );
  });
});
