import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Ballot, Vote } from '../../src/claims/ballot.js';
import type { Candidate } from '../../src/claims/candidates.js';
import { buildPool } from '../../src/claims/candidates.js';
import { tallyVotes, type VoteTallyInput } from '../../src/claims/tallyVotes.js';

const cand = (id: string, text: string, proposers: number[]): Candidate => ({ id, text, proposers, wordings: proposers.map((port) => ({ port, text })) });
const ballot = (votes: Record<string, Vote>): Ballot => new Map(Object.entries(votes));
const all = (ids: string[], vote: Vote) => ballot(Object.fromEntries(ids.map((id) => [id, vote])));
const ports8 = [0, 1, 2, 3, 4, 5, 6, 7];
// Distinct texts, so the matcher never merges candidates on its own in these tests.
const noMatcher = { similarity: () => 0 };

function input(candidates: Candidate[], ballots: Map<number, Ballot | null>, extra: Partial<VoteTallyInput> = {}): VoteTallyInput {
  return { candidates, responders: ports8, ballots, panelSize: 8, quorum: 6, minResponders: 5, failures: [], ...noMatcher, ...extra };
}

describe('tallyVotes', () => {
  it('keeps a candidate that 6 of 8 voters agree with and records every verdict', () => {
    const c = [cand('c1', 'A fact everyone knows', [0]), cand('c2', 'A contested claim', [1])];
    const ballots = new Map<number, Ballot | null>(ports8.map((p) => [p, ballot({ c1: p < 6 ? 'agree' : 'disagree', c2: p === 1 ? 'agree' : 'unsure' })]));
    const result = tallyVotes(input(c, ballots));
    expect(result.status).toBe('consensus');
    expect(result.claims).toEqual([
      expect.objectContaining({ text: 'A fact everyone knows', support: 6, ports: [0, 1, 2, 3, 4, 5], ids: ['c1'], proposers: [0], votes: { agree: [0, 1, 2, 3, 4, 5], disagree: [6, 7], unsure: [], abstained: [] } }),
    ]);
    expect(result.dissent[0]).toMatchObject({ text: 'A contested claim', support: 1, votes: { agree: [1], unsure: [0, 2, 3, 4, 5, 6, 7] } });
    expect(result.rounds).toBe(2);
  });

  it('a proposer that votes against its own claim does not support it', () => {
    const c = [cand('c1', 'Claim', [0, 1, 2, 3, 4, 5])];
    const ballots = new Map<number, Ballot | null>(ports8.map((p) => [p, ballot({ c1: p === 0 ? 'disagree' : 'unsure' })]));
    expect(tallyVotes(input(c, ballots)).dissent[0]).toMatchObject({ support: 5, ports: [1, 2, 3, 4, 5] });
  });

  it('a proposer that fails round 2 abstains but keeps its proposal, and the result names the abstention', () => {
    const c = [cand('c1', 'Claim', [0, 1, 2, 3, 4, 5])];
    const ballots = new Map<number, Ballot | null>(ports8.map((p) => [p, p === 0 ? null : ballot({ c1: 'agree' })]));
    const failures = [{ port: 0, model: 'm0', kind: 'timeout' as const, attempts: 1, round: 2 as const }];
    const result = tallyVotes(input(c, ballots, { failures }));
    expect(result.claims[0]).toMatchObject({ support: 8, votes: { agree: ports8, abstained: [] } });
    expect(result.abstentions).toEqual([0]);
    expect(result.failures).toEqual(failures);
  });

  it('counts same:cK as agreement with cK and merges candidates a quorum of voters calls the same', () => {
    const c = [cand('c1', 'Paris is the capital of France', [0, 1, 2]), cand('c2', "France's capital city is Paris", [3, 4, 5])];
    const ballots = new Map<number, Ballot | null>(ports8.map((p) => [p, ballot({ c1: 'agree', c2: { same: 'c1' } })]));
    const result = tallyVotes(input(c, ballots));
    expect(result.claims).toHaveLength(1);
    expect(result.claims[0]).toMatchObject({ text: 'Paris is the capital of France', ids: ['c1', 'c2'], support: 8, proposers: [0, 1, 2, 3, 4, 5] });
    expect(result.claims[0]!.wordings).toHaveLength(6);
  });

  it('does not merge on the marks of fewer voters than the quorum', () => {
    const c = [cand('c1', 'Fact one', [0, 1, 2, 3, 4, 5]), cand('c2', 'Fact two', [6])];
    const ballots = new Map<number, Ballot | null>(ports8.map((p) => [p, ballot(p >= 6 ? { c1: 'agree', c2: { same: 'c1' } } : { c1: 'agree' })]));
    const result = tallyVotes(input(c, ballots));
    expect(result.claims.map((x) => x.ids)).toEqual([['c1']]);
    expect(result.dissent.map((x) => x.ids)).toEqual([['c2']]);
  });

  it('a merge-stuffing voter marking everything same:c1 merges nothing and moves no support', () => {
    const c = [cand('c1', 'Fact one', [0, 1, 2, 3, 4, 5, 6]), cand('c2', 'Fact two', [0, 1]), cand('c3', 'Fact three', [2])];
    const honest = (p: number) => ballot({ c1: 'agree', ...(p < 2 ? { c2: 'agree' } : {}), ...(p === 2 ? { c3: 'agree' } : {}) });
    const ballots = new Map<number, Ballot | null>(ports8.map((p) => [p, p === 7 ? ballot({ c2: { same: 'c1' }, c3: { same: 'c1' } }) : honest(p)]));
    const result = tallyVotes(input(c, ballots));
    expect(result.claims.map((x) => [x.ids, x.support])).toEqual([[['c1'], 8]]);
    expect(result.dissent.map((x) => [x.ids, x.support])).toEqual([[['c2'], 2], [['c3'], 1]]);
  });

  it('an agree-to-everything voter changes no verdict', () => {
    const c = [cand('c1', 'Fact one', [0, 1, 2, 3, 4, 5]), cand('c2', 'Lone claim', [3]), cand('c3', 'Wrong claim', [6, 7])];
    const honest = new Map<number, Ballot | null>(ports8.map((p) => [p, ballot({ c1: p < 6 ? 'agree' : 'unsure', c2: p === 3 ? 'agree' : 'disagree', c3: p >= 6 ? 'agree' : 'disagree' })]));
    const stuffed = new Map(honest).set(7, all(['c1', 'c2', 'c3'], 'agree'));
    const verdict = (m: Map<number, Ballot | null>) => tallyVotes(input(c, m)).claims.map((x) => x.ids);
    expect(verdict(stuffed)).toEqual(verdict(honest));
  });

  it('never merges distinct facts through one broad candidate (no transitive chains)', () => {
    const c = [cand('c1', 'Fact A', [0]), cand('c2', 'Fact B', [1]), cand('c3', 'Fact A and Fact B and everything else', [2])];
    // A quorum says c3 ~ c1 and c3 ~ c2, but nobody says c1 ~ c2.
    const ballots = new Map<number, Ballot | null>(ports8.map((p) => [p, ballot({ c1: 'agree', c2: 'agree', c3: p % 2 ? { same: 'c1' } : { same: 'c2' } })]));
    const marksBoth = new Map<number, Ballot | null>(ports8.map((p) => [p, ballot({ c1: 'agree', c2: 'agree', c3: { same: 'c1' } })]));
    const r1 = tallyVotes(input(c, ballots));
    expect([...r1.claims, ...r1.dissent].some((x) => x.ids!.includes('c1') && x.ids!.includes('c2'))).toBe(false);
    const r2 = tallyVotes(input(c, marksBoth));
    expect([...r2.claims, ...r2.dissent].some((x) => x.ids!.includes('c1') && x.ids!.includes('c2'))).toBe(false);
  });

  it('loses quorum when fewer than a majority answered round 1', () => {
    const c = [cand('c1', 'Fact', [0, 1, 2, 3])];
    const ballots = new Map<number, Ballot | null>([0, 1, 2, 3].map((p) => [p, ballot({ c1: 'agree' })]));
    const result = tallyVotes(input(c, ballots, { responders: [0, 1, 2, 3] }));
    expect(result.status).toBe('quorum_lost');
    expect(result.claims).toEqual([]);
    expect(result.dissent).toHaveLength(1);
  });

  const arbitraryRound = fc
    .record({
      nCands: fc.integer({ min: 1, max: 6 }),
      votes: fc.array(fc.array(fc.constantFrom<Vote | null>('agree', 'disagree', 'unsure', null, { same: 'c1' }, { same: 'c2' }), { minLength: 6, maxLength: 6 }), { minLength: 8, maxLength: 8 }),
      proposers: fc.array(fc.subarray(ports8), { minLength: 6, maxLength: 6 }),
      abstain: fc.subarray(ports8),
    })
    .map(({ nCands, votes, proposers, abstain }) => {
      const candidates = Array.from({ length: nCands }, (_, i) => cand(`c${i + 1}`, `Distinct fact number ${i + 1}`, proposers[i]!));
      const ballots = new Map<number, Ballot | null>(
        ports8.map((p) => [p, abstain.includes(p) ? null : new Map(candidates.flatMap((c, i) => (votes[p]![i] ? [[c.id, votes[p]![i]!] as [string, Vote]] : [])))]),
      );
      return { candidates, ballots };
    });

  it('support never exceeds the voters, and every claim meets the required votes (property)', () => {
    fc.assert(
      fc.property(arbitraryRound, ({ candidates, ballots }) => {
        const r = tallyVotes(input(candidates, ballots));
        for (const x of [...r.claims, ...r.dissent]) {
          expect(x.support).toBe(new Set(x.ports).size);
          expect(x.support).toBeLessThanOrEqual(8);
          const v = x.votes!;
          expect([...v.agree, ...v.disagree, ...v.unsure, ...v.abstained].sort()).toEqual([...ports8].sort());
        }
        for (const x of r.claims) expect(x.support).toBeGreaterThanOrEqual(r.quorum.required);
      }),
    );
  });

  it('the order in which ballots arrive never changes the result (property)', () => {
    fc.assert(
      fc.property(arbitraryRound, fc.func(fc.integer()), ({ candidates, ballots }, key) => {
        const shuffled = new Map([...ballots].sort((a, b) => key(a[0]) - key(b[0])));
        expect(tallyVotes(input(candidates, shuffled))).toEqual(tallyVotes(input(candidates, ballots)));
      }),
    );
  });
});

describe('buildPool', () => {
  it('orders by round-1 support, caps the pool and numbers it c1…', () => {
    const clusters = [
      { text: 'weak', ports: [1], wordings: [{ port: 1, text: 'weak' }] },
      { text: 'strong\nclaim', ports: [0, 1, 2], wordings: [{ port: 0, text: 'strong claim' }] },
      { text: 'middle', ports: [3, 4], wordings: [{ port: 3, text: 'middle' }] },
    ];
    expect(buildPool(clusters, 2).candidates.map((c) => [c.id, c.text, c.proposers])).toEqual([
      ['c1', 'strong claim', [0, 1, 2]],
      ['c2', 'middle', [3, 4]],
    ]);
  });
});
