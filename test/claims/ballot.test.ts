import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseBallot } from '../../src/claims/ballot.js';

const ids = new Set(['c1', 'c2', 'c3', 'c4']);

describe('parseBallot', () => {
  it('reads the wire format of DESIGN.md', () => {
    const ballot = parseBallot('{"votes": {"c1": "agree", "c2": "disagree", "c3": "unsure", "c4": "same:c1"}}', ids);
    expect([...ballot!]).toEqual([['c1', 'agree'], ['c2', 'disagree'], ['c3', 'unsure'], ['c4', { same: 'c1' }]]);
  });

  it('finds the JSON inside a code fence with prose around it', () => {
    const text = 'Sure! Here are my votes:\n```json\n{"votes": {"c1": "Agree", "c2": "DISAGREE",}}\n```\nHope this helps.';
    expect([...parseBallot(text, ids)!]).toEqual([['c1', 'agree'], ['c2', 'disagree']]);
  });

  it('accepts a bare votes object, loose spellings and same-as forms', () => {
    const ballot = parseBallot('{"[c1]": "yes", "C2": false, "c3": "same as c1", "c4": {"vote": "no"}}', ids)!;
    expect([...ballot]).toEqual([['c1', 'agree'], ['c2', 'disagree'], ['c3', { same: 'c1' }], ['c4', 'disagree']]);
  });

  it('ignores ids not on the ballot, invalid verdicts, and same-marks on itself or unknown ids', () => {
    const ballot = parseBallot('{"votes": {"c999": "agree", "c1": "maybe", "c2": "same:c2", "c3": "same:c77", "c4": "agree"}}', ids)!;
    expect([...ballot]).toEqual([['c4', 'agree']]);
  });

  it('returns null when no votes object can be found', () => {
    expect(parseBallot('I think they are all mostly right.', ids)).toBeNull();
    expect(parseBallot('{"claims": ["x"]}', ids)).toBeNull();
    expect(parseBallot('', ids)).toBeNull();
  });

  it('never throws and only returns ids from the ballot', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const ballot = parseBallot(text, ids);
        if (ballot) for (const id of ballot.keys()) expect(ids.has(id)).toBe(true);
      }),
    );
  });
});
