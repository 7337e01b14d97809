import { describe, expect, it } from 'vitest';
import { chooseAnswer, lastUserMessage, sandboxClaims } from '../../src/sandbox/answers.js';

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
