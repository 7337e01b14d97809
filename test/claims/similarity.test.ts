import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  claimSimilarity,
  createMatcher,
  defaultMatcher,
  idfFromCorpus,
  sameClaim,
} from '../../src/claims/similarity.js';

const expectSame = (a: string, b: string): void => {
  expect(sameClaim(a, b), `${a} ~ ${b}`).toBe(true);
  expect(sameClaim(b, a), `${b} ~ ${a}`).toBe(true);
};
const expectApart = (a: string, b: string): void => {
  expect(sameClaim(a, b), `${a} ≁ ${b}`).toBe(false);
  expect(sameClaim(b, a), `${b} ≁ ${a}`).toBe(false);
};

describe('paraphrases match', () => {
  it('matches a reordered, possessive paraphrase', () => {
    expectSame('Paris is the capital of France', "France's capital city is Paris");
    expect(claimSimilarity('Paris is the capital of France', "France's capital city is Paris")).toBeGreaterThan(0.6);
  });

  it('matches active/passive and inflected forms', () => {
    expectSame('Python was created by Guido van Rossum', 'Guido van Rossum created Python');
    expectSame('The Eiffel Tower was completed in 1889', 'Construction of the Eiffel Tower finished in 1889');
  });

  it('matches number words with digits and % with percent', () => {
    expectSame('The panel has three members', 'The panel has 3 members');
    expectSame('Humans use only 10 percent of their brains', 'People only use 10% of their brain');
  });

  it('matches the same numbers written with separators', () => {
    expectSame('The city has 1,200,000 residents', 'The city has 1200000 residents');
  });
});

describe('look-alike claims with different facts stay apart', () => {
  it('keeps different numbers apart', () => {
    expectApart('The limit is 20 requests per minute', 'The limit is 50 requests per minute');
    expectApart('The server listens on port 8080 by default', 'The server listens on port 3000 by default');
  });

  it('keeps different dates apart', () => {
    expectApart('Marie Curie was born in Warsaw in 1867', 'Marie Curie was born in Warsaw in 1868');
    expectApart('Version 2 was released on 3 March 2020', 'Version 2 was released on 5 March 2020');
  });

  it('keeps different names apart', () => {
    expectApart('Paris is the capital of France', 'Lyon is the capital of France');
    expectApart('Marie Curie was born in Warsaw in 1867', 'Marie Curie was born in Paris in 1867');
    expectApart('Python was created by Guido van Rossum', 'Java was created by James Gosling');
  });

  it('keeps the same names in other roles apart', () => {
    expectApart('The Moon orbits the Earth', 'The Earth orbits the Sun');
    expectApart('The Moon orbits the Earth', 'The Earth orbits the Moon');
    expectApart('He was born in Cambridge and educated in London', 'He was born in London and educated at Cambridge');
    // The same roles in clauses of another order are still the same fact.
    expectSame('He was born in London and educated at Cambridge', 'He was educated at Cambridge and born in London');
  });

  it('judges swapped roles the same way whichever claim comes first', () => {
    // fast-check found this pair: a number on both sides of a word in one claim, on one side in the other.
    const [a, b] = ["20 % 20 France's", "France's % 20"];
    expect(defaultMatcher.compare(a, b).roleSwap).toBe(defaultMatcher.compare(b, a).roleSwap);
    expect(claimSimilarity(a, b)).toBe(claimSimilarity(b, a));
  });

  it("keeps names with an apostrophe whole (O'Neill is not O'Brien)", () => {
    expectApart("Tip O'Neill was Speaker of the House in 1980", "Tip O'Brien was Speaker of the House in 1980");
    expectSame("O'Neill's term as Speaker ended in 1987", "O'Neill's term as Speaker of the House ended in 1987");
  });

  it('keeps a claim and its negation apart', () => {
    expectApart('X supports streaming', 'X does not support streaming');
    expectApart('X supports streaming', "X doesn't support streaming");
    expectApart('Bats are blind', 'Bats are never blind');
  });

  it('scores a different number lower than the paraphrase of the same number', () => {
    const base = 'The limit is 20 requests per minute';
    expect(claimSimilarity(base, 'The limit is 50 requests per minute')).toBeLessThan(
      claimSimilarity(base, 'The limit is 20 requests each minute'),
    );
  });
});

describe('numbers conflict only when both claims count the same thing', () => {
  it('does not treat an extra number on one side as a different fact', () => {
    expectSame('The Eiffel Tower is 330 metres tall', 'The Eiffel Tower, completed in 1889, is 330 metres tall');
  });

  it('matches a number written with a scale word, a currency sign or rounded', () => {
    expectSame('The company earned $1.2 billion last year', 'The company earned 1.2 billion dollars last year');
    expectSame('The city has a population of 2.1 million', 'The city has 2,100,000 residents');
    expectSame('Inflation rose about 1.5 percent in March', 'Inflation rose 1.46 percent in March');
  });

  it('still keeps different counts of the same thing apart', () => {
    expectApart('Inflation rose 1.5 percent in March', 'Inflation rose 2 percent in March');
    expectApart('South Africa train crash kills at least 19', 'South Africa train crash kills 26');
    expectApart('The Eiffel Tower is 330 metres tall', 'The Eiffel Tower, completed in 1889, is 324 metres tall');
    expectApart('Four girls walk down a sidewalk', 'Three girls walk down a sidewalk');
  });

  it('keeps any changed number apart in claims that are otherwise the same (fast-check)', () => {
    const templates = [
      'The limit is {} requests per minute',
      'The bridge is {} metres long',
      'Marie Curie was born in Warsaw in {}',
      'The company sold {} million phones in 2020',
      'About {} people attended the opening',
      'The server listens on port {} by default',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...templates), fc.integer({ min: 2, max: 5000 }), fc.integer({ min: 2, max: 5000 }), (t, x, y) => {
        fc.pre(x !== y);
        expectApart(t.replace('{}', String(x)), t.replace('{}', String(y)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('negation counts where it applies', () => {
  it('ignores a "not" that both claims share, wherever it stands', () => {
    expectSame(
      'The company said it would not cut jobs and that profits rose 5 percent',
      'Profits rose 5 percent, the company said, adding it would not cut jobs',
    );
  });

  it('keeps a negated statement apart from the affirmed one', () => {
    expectApart('Profits rose 5 percent, the company said', 'Profits did not rise 5 percent, the company said');
    expectApart('The drug is not approved for children', 'The drug is approved for children');
    expectApart('Nobody supports the plan', 'Everybody supports the plan');
  });

  it('reads "do-not-call" as a name, not a negation', () => {
    expectSame('The do-not-call registry blocks telemarketing calls', 'The registry blocks telemarketing calls');
  });
});

describe('the sameClaim decision', () => {
  it('asks more similarity of short claims than of long ones', () => {
    const d = (similarity: number, contentTerms: number) => ({
      similarity, contentTerms, coverageA: similarity, coverageB: similarity,
      numberConflict: false, negationMismatch: false, nameSwap: false, roleSwap: false,
    });
    expect(defaultMatcher.decisionScore(d(0.5, 6))).toBeLessThan(defaultMatcher.decisionScore(d(0.5, 24)));
    expect(defaultMatcher.decisionScore(d(0.4, 10))).toBeLessThan(defaultMatcher.decisionScore(d(0.6, 10)));
  });
});

describe('a catch-all keyword soup does not match a specific claim', () => {
  it('rejects a claim built from every keyword of the topic', () => {
    const soup =
      'Paris France capital city population Eiffel tower Seine river Louvre museum 1889 million tourists';
    expectApart('Paris is the capital of France', soup);
    expect(claimSimilarity('Paris is the capital of France', soup)).toBeLessThan(0.45);
  });

  it('rejects a soup that contains the specific claim verbatim', () => {
    const claim = 'The API rate limit is 20 requests per minute';
    const soup = `${claim}; API rate limit requests minute streaming tokens authentication keys pricing tiers endpoints 50 100`;
    expectApart(claim, soup);
  });

  it('reports the asymmetric coverage that rules it out', () => {
    const d = defaultMatcher.compare('Paris is the capital of France', 'Paris France capital Seine Louvre Eiffel tower museum river');
    expect(d.coverageA).toBeGreaterThan(0.9);
    expect(d.coverageB).toBeLessThan(0.4);
  });
});

describe('basic properties', () => {
  it('gives 1 for identical text, and for text differing only in case and punctuation', () => {
    expect(claimSimilarity('The limit is 20 requests per minute', 'The limit is 20 requests per minute')).toBe(1);
    expect(claimSimilarity('The limit is 20 requests per minute.', 'the limit is 20 requests per minute')).toBe(1);
    expect(sameClaim('Bats are blind', 'Bats are blind')).toBe(true);
  });

  it('gives 0 for empty or wordless input without throwing', () => {
    expect(claimSimilarity('', '')).toBe(0);
    expect(claimSimilarity('', 'Paris is the capital of France')).toBe(0);
    expect(claimSimilarity('Paris is the capital of France', '')).toBe(0);
    expect(claimSimilarity('   ', '?!')).toBe(0);
    expect(sameClaim('', '')).toBe(false);
    expect(sameClaim('', 'Paris')).toBe(false);
  });

  it('compares claims made only of stop words on those words', () => {
    expect(claimSimilarity('it is what it is', 'It is what it is!')).toBe(1);
  });

  it('is not confused by words that are Object.prototype member names', () => {
    expect(() => claimSimilarity('constructor toString valueOf', '__proto__ hasOwnProperty')).not.toThrow();
    expect(claimSimilarity('the constructor is called', 'the constructor is called')).toBe(1);
  });

  it('is symmetric on examples', () => {
    const pairs: [string, string][] = [
      ['Paris is the capital of France', "France's capital city is Paris"],
      ['The limit is 20 requests per minute', 'The limit is 50 requests per minute'],
      ['X supports streaming', 'X does not support streaming'],
      ['A man is playing a guitar.', 'A guy plays the guitar on stage in London.'],
    ];
    for (const [a, b] of pairs) expect(claimSimilarity(a, b)).toBe(claimSimilarity(b, a));
  });
});

// Text that exercises real matches: words from a small vocabulary with names, numbers, negations.
const VOCAB = [
  'the', 'a', 'is', 'not', "doesn't", 'never', 'Paris', 'France', 'capital', 'city', 'limit', 'requests',
  'per', 'minute', '20', '50', '1,000', 'three', 'born', 'in', 'Warsaw', 'Curie', 'supports', 'streaming',
  'U.S.', 'US', 'it', "France's", 'running', 'runs', 'ran', '%', '$', '3.50', 'Sept.', 'constructor',
];
const claimArb = fc.oneof(
  fc.array(fc.constantFrom(...VOCAB), { maxLength: 25 }).map((ws) => ws.join(' ')),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

describe('properties (fast-check)', () => {
  it('is symmetric', () => {
    fc.assert(
      fc.property(claimArb, claimArb, (a, b) => {
        expect(claimSimilarity(a, b)).toBe(claimSimilarity(b, a));
        expect(sameClaim(a, b)).toBe(sameClaim(b, a));
      }),
      { numRuns: 500 },
    );
  });

  it('stays within [0, 1] and never throws', () => {
    fc.assert(
      fc.property(claimArb, claimArb, (a, b) => {
        const s = claimSimilarity(a, b);
        expect(Number.isFinite(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });

  it('gives 1 for a claim compared with itself whenever it has a word', () => {
    fc.assert(
      fc.property(claimArb, (a) => {
        const s = claimSimilarity(a, a);
        expect(s === 1 || s === 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: a fresh matcher gives the same answers', () => {
    const fresh = createMatcher();
    fc.assert(
      fc.property(claimArb, claimArb, (a, b) => {
        expect(fresh.claimSimilarity(a, b)).toBe(claimSimilarity(a, b));
      }),
      { numRuns: 200 },
    );
  });
});

describe('createMatcher', () => {
  it('accepts IDF weights from the caller\'s own corpus', () => {
    const corpus = [
      'Acme widgets are blue',
      'Acme widgets ship worldwide',
      'Acme widgets cost 5 dollars',
      'Acme widgets are made in Ohio',
    ];
    const m = createMatcher({ idf: idfFromCorpus(corpus) });
    // "acme widgets" is in every document of this corpus, so it says little on its own.
    expect(m.claimSimilarity('Acme widgets are blue', 'Acme widgets ship worldwide')).toBeLessThan(
      claimSimilarity('Acme widgets are blue', 'Acme widgets ship worldwide'),
    );
    expect(m.sameClaim('Acme widgets are blue', 'The widgets from Acme are blue')).toBe(true);
  });

  it('keeps working with a tiny analysis cache', () => {
    const m = createMatcher({ cacheSize: 2 });
    for (let i = 0; i < 50; i++) expect(m.claimSimilarity(`claim ${i} about caching`, `claim ${i} about caching`)).toBe(1);
  });
});

const dataDir = process.env.QUORUM_DATA_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data');
const stsDev = join(dataDir, 'paraphrase/stsb/sts-dev.csv');
const haveData = existsSync(stsDev);
if (!haveData) console.log(`similarity.test: shared data not found at ${dataDir}; skipping the data smoke test`);

describe.skipIf(!haveData)('on shared data (STS-B dev, when present)', () => {
  it('ranks the first 300 dev pairs in the order of their human scores (Spearman > 0.6)', async () => {
    const { loadSts, spearman } = await import('../../bench/evalMatcher.js');
    const pairs = loadSts(stsDev).slice(0, 300);
    const rho = spearman(
      pairs.map((p) => claimSimilarity(p.a, p.b)),
      pairs.map((p) => p.score),
    );
    expect(rho).toBeGreaterThan(0.6);
  });
});

describe('text helpers', () => {
  it('stems like the reference Porter stemmer', async () => {
    const { porterStem } = await import('../../src/claims/text.js');
    const cases: Record<string, string> = {
      caresses: 'caress', ponies: 'poni', agreed: 'agre', hopping: 'hop', filing: 'file', happy: 'happi',
      relational: 'relat', generalization: 'gener', hopefulness: 'hope', adjustment: 'adjust', controll: 'control',
    };
    for (const [word, stem] of Object.entries(cases)) expect(porterStem(word), word).toBe(stem);
  });

  it('joins a number and its scale word, exactly', async () => {
    const { tokenize, scaleNumber } = await import('../../src/claims/text.js');
    const nums = (s: string): string[] => tokenize(s).filter((t) => t.kind === 'num').map((t) => t.stem);
    expect(nums('$1.2 billion and two hundred thousand and 0.05 million')).toEqual(['1200000000', '200000', '50000']);
    expect(nums('three 1,000-token prompts')).toEqual(['3', '1000']);
    expect(scaleNumber('1.25', 6)).toBe('1250000');
    expect(scaleNumber('0.0001', 3)).toBe('0.1');
    expect(scaleNumber('3rd', 3)).toBeUndefined();
  });

  it('splits passages into sentences, not at abbreviations and initials', async () => {
    const { splitSentences } = await import('../../src/claims/sentences.js');
    expect(
      splitSentences('John R. Smith (born 1950) was a U.S. politician. He met Dr. Jones in St. Louis! "Wow." Then\n\nNew part. It cost 3.5 million.'),
    ).toEqual(['John R. Smith (born 1950) was a U.S. politician.', 'He met Dr. Jones in St. Louis!', '"Wow."', 'Then', 'New part.', 'It cost 3.5 million.']);
    expect(splitSentences('')).toEqual([]);
  });

  it('normalises contractions, number words and numerals', async () => {
    const { tokenize } = await import('../../src/claims/text.js');
    const stems = (s: string): string[] => tokenize(s).map((t) => t.stem);
    expect(stems("It doesn't support three 1,000-token prompts")).toEqual(['it', 'does', 'not', 'support', '3', '1000', 'token', 'prompt']);
    expect(stems('Sept. 11 and September 11')).toEqual(['september', '11', 'and', 'september', '11']);
  });
});
