import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSupportScorer, supportScore } from '../../src/claims/supportScore.js';

// Independently written passages about one person, as SelfCheckGPT samples them.
const passages = [
  'John Reynolds (1820–1876) was an English lawyer and judge. He was born in London and educated at Eton College. He was knighted in 1871.',
  'Sir John Reynolds was a British judge born in London in 1820. He studied at Eton College and Trinity College, Cambridge, and was called to the bar in 1845.',
  'John Reynolds, born 1820 in London, was an English barrister and judge who was knighted in 1871. He died in 1876.',
  'Reynolds was born in London in 1820, the son of a barrister. After Eton College he became a lawyer; he was appointed a judge in 1867.',
];

describe('supportScore', () => {
  it('scores a claim the passages state higher than one they contradict', () => {
    const stated = supportScore('He was born in London in 1820.', passages);
    const contradicted = supportScore('He was born in Paris in 1835.', passages);
    expect(stated).toBeGreaterThan(0.7);
    expect(contradicted).toBeLessThan(0.3);
    expect(stated).toBeGreaterThan(contradicted);
  });

  it('scores a claim the passages never mention low', () => {
    const absent = supportScore('He won the Nobel Prize in Physics for his work on radioactivity.', passages);
    expect(absent).toBeLessThan(0.2);
    expect(supportScore('He was educated at Eton College.', passages)).toBeGreaterThan(absent);
  });

  it('grows with the number of passages that state the claim', () => {
    const claim = 'He was knighted in 1871.';
    // Stated in passages 0 and 2 only.
    const half = supportScore(claim, passages);
    const all = supportScore(claim, [passages[0]!, passages[2]!]);
    const none = supportScore(claim, [passages[1]!, passages[3]!]);
    expect(all).toBeGreaterThan(half);
    expect(half).toBeGreaterThan(none);
    expect(half).toBeGreaterThan(0.4);
    expect(half).toBeLessThan(0.6);
  });

  it('gives a hallucinated detail away even when the rest of the claim is supported', () => {
    const real = supportScore('He was appointed a judge in 1867.', passages);
    const invented = supportScore('He was appointed a judge of the Supreme Court of Canada in 1867.', passages);
    expect(invented).toBeLessThan(real);
  });

  it('counts words stated together in one sentence above the same words scattered over a passage', () => {
    const claim = 'He was appointed a judge in 1867.';
    const together = supportScore(claim, ['He studied law. He was appointed a judge in 1867. He retired later.']);
    const scattered = supportScore(claim, ['He was appointed to a committee. He became a judge. He wrote a book in 1867.']);
    expect(together).toBeGreaterThan(scattered);
    // The sentence view is a share of the passage's coverage, tunable away.
    const wholeOnly = createSupportScorer(undefined, { sentenceShare: 0 });
    expect(wholeOnly(claim, ['He was appointed to a committee. He became a judge. He wrote a book in 1867.'])).toBeGreaterThan(scattered);
  });

  it('gives 0 for no passages, an empty claim or a claim without words', () => {
    expect(supportScore('He was born in London.', [])).toBe(0);
    expect(supportScore('', passages)).toBe(0);
    expect(supportScore('?!', passages)).toBe(0);
    expect(supportScore('He was born in London.', ['', ''])).toBe(0);
  });

  it('gives 1 (or just under, for its tie-breaker) when every passage repeats the claim', () => {
    const claim = 'The limit is 20 requests per minute.';
    expect(supportScore(claim, [claim, claim, claim])).toBeCloseTo(1, 6);
  });

  it('is tunable through createSupportScorer', () => {
    const lenient = createSupportScorer(undefined, { coverLow: 0, coverHigh: 1 });
    const claim = 'He was born in Paris in 1820.';
    expect(lenient(claim, passages)).toBeGreaterThan(supportScore(claim, passages));
  });

  it('stays within [0, 1] and never throws (fast-check)', () => {
    const text = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }));
    fc.assert(
      fc.property(text, fc.array(text, { maxLength: 5 }), (claim, ps) => {
        const s = supportScore(claim, ps);
        expect(Number.isFinite(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});
