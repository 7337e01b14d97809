import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAttester, supportClusters } from '../../src/claims/attest.js';
import { clusterClaims } from '../../src/claims/cluster.js';
import { extractClaims } from '../../src/claims/extract.js';
import { tallyDetailed } from '../../src/claims/tally.js';
import type { ModelSuccess } from '../../src/types.js';

const attest = createAttester();
const prose = (text: string) => extractClaims(text);

// Independently written biographies, as real panels write them: the same facts in sentences of
// different shapes, each with details the others leave out.
const BIOS = [
  'John Reynolds (1820–1876) was an English lawyer and author. He was born in London. He became a judge in 1867.',
  'Reynolds was born in London in 1820 and trained as a lawyer. He was made a judge in 1867 and died in 1876.',
  'An English lawyer and writer, John Reynolds lived from 1820 to 1876. London was his birthplace.',
  'John Reynolds, born in London, practised law and wrote books. He was appointed a judge in 1867.',
];
const answer = (port: number, text: string): ModelSuccess => ({
  ok: true, port, model: `m${port}`, family: `f${port}`, latencyMs: 1, attempts: 1, text, usage: { inputTokens: 1, outputTokens: 1 },
});

describe('createAttester', () => {
  it('finds a fact stated in a sentence of another shape', () => {
    const e = attest('He was born in London.', prose(BIOS[1] as string));
    expect(e.attests).toBe(true);
    expect(e.sentence).toBe('Reynolds was born in London in 1820 and trained as a lawyer.');
  });

  it('does not attest a fact whose number the answer never states', () => {
    expect(attest('He became a judge in 1867.', prose(BIOS[2] as string)).attests).toBe(false);
    expect(attest('He became a judge in 1868.', prose(BIOS[1] as string))).toMatchObject({ attests: false, score: 0 });
  });

  it('does not attest the negation, another name in the same slot, or swapped roles', () => {
    expect(attest('He was not born in London.', prose(BIOS[1] as string)).attests).toBe(false);
    expect(attest('He was born in Paris in 1820.', prose(BIOS[1] as string)).attests).toBe(false);
    expect(attest('The Moon orbits the Earth.', ['The Earth orbits the Moon.']).attests).toBe(false);
    expect(attest('He was born in Cambridge and educated in London.', ['He was born in London and educated at Cambridge.']).attests).toBe(false);
    expect(attest('He was educated at Cambridge and born in London.', ['He was born in London and educated at Cambridge.']).attests).toBe(true);
  });

  it('scores nothing for an empty answer or a claim without content', () => {
    expect(attest('He was born in London.', [])).toEqual({ score: 0, attests: false, sentence: '' });
    expect(attest('it is what it is', ['He was born in London.']).attests).toBe(false);
  });

  it('stays within [0, 1] and never throws (fast-check)', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string(), { maxLength: 5 }), (claim, answer) => {
        const e = attest(claim, answer);
        expect(e.score).toBeGreaterThanOrEqual(0);
        expect(e.score).toBeLessThanOrEqual(1);
        if (e.attests) expect(answer).toContain(e.sentence);
      }),
    );
  });
});

describe('round-1 support with attestation', () => {
  const outcomes = BIOS.map((text, port) => answer(port, text));

  it('counts a port whose answer states the fact, and records the sentence that does', () => {
    const { result } = tallyDetailed(outcomes, { panelSize: 4, quorum: 3 });
    const born = [...result.claims, ...result.dissent].find((c) => c.text === 'He was born in London.');
    expect(born).toBeDefined();
    expect(born?.wordings?.map((w) => w.port)).toEqual([0]);
    expect(born?.ports).toEqual([0, 1, 2, 3]);
    expect(born?.support).toBe(4);
    expect(born?.attested?.map((a) => a.port)).toEqual([1, 2, 3]);
    expect(born?.attested?.[0]?.text).toBe('Reynolds was born in London in 1820 and trained as a lawyer.');
    expect(result.claims).toContainEqual(born);
    expect(born?.strength).toBeGreaterThan(3);
    expect(born?.strength).toBeLessThanOrEqual(4);
  });

  it('without attestation the same answers leave every sentence with its own port only', () => {
    const { result } = tallyDetailed(outcomes, { panelSize: 4, quorum: 3, attest: false });
    expect(result.claims).toEqual([]);
    expect(result.dissent.find((c) => c.text === 'He was born in London.')?.ports).toEqual([0]);
    expect(result.dissent[0]?.strength).toBeUndefined();
  });

  it('a catch-all answer lends its one port to each fact it names, and no more', () => {
    const soup = answer(4, 'John Reynolds London 1820 1876 1867 judge lawyer author born English writer books');
    const { result } = tallyDetailed([...outcomes, soup], { panelSize: 5, quorum: 4 });
    for (const c of [...result.claims, ...result.dissent]) {
      expect(new Set(c.ports).size).toBe(c.ports.length);
      expect(c.support).toBe(c.ports.length);
    }
    // Its words cannot make honest answers attest a claim none of them makes.
    const lie = answer(4, 'Reynolds was born in 1867 in London.');
    const lied = tallyDetailed([...outcomes, lie], { panelSize: 5, quorum: 4 }).result;
    expect([...lied.claims, ...lied.dissent].find((c) => c.text === lie.text)?.ports).toEqual([4]);
  });

  it('gives the same support whatever order the answers arrive in', () => {
    const a = tallyDetailed(outcomes, { panelSize: 4, quorum: 3 }).result;
    const b = tallyDetailed([...outcomes].reverse(), { panelSize: 4, quorum: 3 }).result;
    expect(b).toEqual(a);
  });

  it('an injected matcher is never mixed with the default attester', () => {
    const same = (x: string, y: string) => x === y;
    const { result } = tallyDetailed(outcomes, { panelSize: 4, quorum: 3, same });
    expect(result.claims).toEqual([]);
    expect(result.dissent.every((c) => c.attested === undefined)).toBe(true);
  });

  it('ranks facts of equal support by strength', () => {
    const clusters = clusterClaims(BIOS.flatMap((t, port) => prose(t).map((text) => ({ port, text }))));
    const supported = supportClusters(clusters, new Map(BIOS.map((t, port) => [port, prose(t)])), attest);
    for (let i = 1; i < supported.length; i++) {
      const [a, b] = [supported[i - 1]!, supported[i]!];
      expect(a.supporters.length > b.supporters.length || (a.supporters.length === b.supporters.length && a.strength >= b.strength)).toBe(true);
    }
  });
});
