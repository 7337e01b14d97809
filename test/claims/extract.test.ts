import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimKey, extractClaims, stripReasoning } from '../../src/claims/extract.js';
import { splitSentences } from '../../src/claims/sentences.js';

describe('extractClaims: JSON answers', () => {
  it('reads {"claims": [...]} inside a ```json fence with prose around it', () => {
    const answer = [
      'Sure! Based on the document, here is what I can say with confidence:',
      '',
      '```json',
      '{',
      '  "claims": [',
      '    "The Treaty of Westphalia was signed in 1648.",',
      '    "It ended the Thirty Years\' War in the Holy Roman Empire."',
      '  ]',
      '}',
      '```',
      '',
      'Let me know if you would like sources for any of these.',
    ].join('\n');
    expect(extractClaims(answer)).toEqual([
      'The Treaty of Westphalia was signed in 1648.',
      "It ended the Thirty Years' War in the Holy Roman Empire.",
    ]);
  });

  it('reads a bare JSON array of claims', () => {
    expect(extractClaims('["Water boils at 100 °C at sea level.", "Ice is less dense than liquid water."]')).toEqual([
      'Water boils at 100 °C at sea level.',
      'Ice is less dense than liquid water.',
    ]);
  });

  it('reads claim objects keyed text, claim or statement and ignores their other fields', () => {
    const answer = JSON.stringify({
      claims: [
        { text: 'Mount Everest is 8,849 m tall.', confidence: 0.92 },
        { claim: 'Everest lies on the Nepal–China border.', source: 'general knowledge' },
        { statement: 'Tenzing Norgay and Edmund Hillary first summited it in 1953.' },
        { confidence: 0.1 },
      ],
    });
    expect(extractClaims(answer)).toEqual([
      'Mount Everest is 8,849 m tall.',
      'Everest lies on the Nepal–China border.',
      'Tenzing Norgay and Edmund Hillary first summited it in 1953.',
    ]);
  });

  it('tolerates trailing commas, comments and smart quotes', () => {
    const answer = '{\n  “claims”: [\n    “TypeScript 5.0 introduced decorators.”, // stage 3\n    “Node.js 20 ships with a test runner.”,\n  ],\n}';
    expect(extractClaims(answer)).toEqual(['TypeScript 5.0 introduced decorators.', 'Node.js 20 ships with a test runner.']);
  });

  it('tolerates single-quoted strings and unquoted keys', () => {
    expect(extractClaims("{claims: ['It\\'s the largest desert on Earth', 'Antarctica is a polar desert']}")).toEqual([
      "It's the largest desert on Earth",
      'Antarctica is a polar desert',
    ]);
  });

  it('keeps the complete claims of JSON cut off by max_tokens', () => {
    const answer = '```json\n{"claims": ["The Danube flows into the Black Sea.", "It passes through four capital cities.", "Its length is about 2,8';
    expect(extractClaims(answer)).toEqual(['The Danube flows into the Black Sea.', 'It passes through four capital cities.']);
  });

  it('finds a JSON object embedded in prose without a fence', () => {
    const answer = 'My answer: {"claims": ["Rust 1.0 was released in May 2015.", "Cargo is Rust\'s package manager."]} Hope that is useful.';
    expect(extractClaims(answer)).toEqual(['Rust 1.0 was released in May 2015.', "Cargo is Rust's package manager."]);
  });

  it('reads the prose when JSON in it holds no claim', () => {
    expect(extractClaims('The committee weighed the options ["red", "green"] for a week. It chose green for the new flag.')).toEqual([
      'The committee weighed the options ["red", "green"] for a week.',
      'It chose green for the new flag.',
    ]);
  });

  it('takes an explicit empty claims list at its word', () => {
    expect(extractClaims('The document says nothing relevant.\n```json\n{"claims": []}\n```')).toEqual([]);
  });

  it('reads a prose answer put in an "answer" field', () => {
    expect(extractClaims('{"answer": "Oxygen has atomic number 8. It is the third most abundant element in the universe."}')).toEqual([
      'Oxygen has atomic number 8.',
      'It is the third most abundant element in the universe.',
    ]);
  });

  it('falls back to the text when a bracket in prose is not a claim list', () => {
    expect(extractClaims('As noted in [1], the Amazon is the largest rainforest. See [2, 3] for details on its area.')).toEqual([
      'As noted in, the Amazon is the largest rainforest.',
      'See for details on its area.',
    ]);
  });
});

describe('extractClaims: markdown and prose answers', () => {
  it('reads numbered lists in every common style', () => {
    const answer = [
      'Here are the key facts:',
      '',
      '1. The Eiffel Tower was completed in 1889.',
      '2) It was built for the Exposition Universelle.',
      '(3) Gustave Eiffel\'s company designed and built it.',
    ].join('\n');
    expect(extractClaims(answer)).toEqual([
      'The Eiffel Tower was completed in 1889.',
      'It was built for the Exposition Universelle.',
      "Gustave Eiffel's company designed and built it.",
    ]);
  });

  it('reads bullet lists, ignores headings and strips bold and italic markers', () => {
    const answer = [
      '## Summary',
      '',
      '**Key findings:**',
      '',
      '- **Paris** is the *capital* of France.',
      '* The Seine flows through the city.',
      '• The Louvre is the world’s most visited museum.',
      '+ Paris hosted the Summer Olympics in __2024__.',
      '',
      '### Caveats',
      '- [x] Population figures vary by source.',
    ].join('\n');
    expect(extractClaims(answer)).toEqual([
      'Paris is the capital of France.',
      'The Seine flows through the city.',
      'The Louvre is the world’s most visited museum.',
      'Paris hosted the Summer Olympics in 2024.',
      'Population figures vary by source.',
    ]);
  });

  it('joins a list item with its indented continuation line', () => {
    const answer = '- The Great Barrier Reef is the largest coral reef system,\n  stretching over 2,300 km.\n- It is visible from space.';
    expect(extractClaims(answer)).toEqual([
      'The Great Barrier Reef is the largest coral reef system, stretching over 2,300 km.',
      'It is visible from space.',
    ]);
  });

  it('splits prose into sentences without splitting abbreviations, decimals or versions', () => {
    const answer =
      'The U.S. Census Bureau reported 331.4 million residents in 2020. Dr. Smith et al. estimate growth of 0.5% a year, ' +
      'e.g. driven by immigration. Node.js v20.11.1 is an LTS release. J. R. R. Tolkien published The Hobbit in 1937!';
    expect(extractClaims(answer)).toEqual([
      'The U.S. Census Bureau reported 331.4 million residents in 2020.',
      'Dr. Smith et al. estimate growth of 0.5% a year, e.g. driven by immigration.',
      'Node.js v20.11.1 is an LTS release.',
      'J. R. R. Tolkien published The Hobbit in 1937!',
    ]);
  });

  it('drops lead-ins, questions, filler and fragments too short to be a claim', () => {
    const answer = [
      'Great question! Here are the main points:',
      '',
      'Is Pluto a planet? Pluto was reclassified as a dwarf planet in 2006.',
      '- Pluto',
      '- Dwarf planet.',
      '- :',
      '-',
      'I’m happy to expand on any of these.',
      'I hope this helps!',
    ].join('\n');
    expect(extractClaims(answer)).toEqual(['Pluto was reclassified as a dwarf planet in 2006.']);
  });

  it('starts a new claim at each line of an unpunctuated one-claim-per-line answer', () => {
    expect(extractClaims('Paris is the capital of France\nLyon is the third-largest city in France')).toEqual([
      'Paris is the capital of France',
      'Lyon is the third-largest city in France',
    ]);
  });

  it('ignores code blocks that are not prose', () => {
    const answer = 'Python lists are dynamic arrays.\n```python\nxs = [1, 2, 3]\nprint("appending is amortised O(1)")\n```\nAppending to a list is amortised constant time.';
    expect(extractClaims(answer)).toEqual(['Python lists are dynamic arrays.', 'Appending to a list is amortised constant time.']);
  });

  it('keeps the link text and drops citation markers', () => {
    expect(extractClaims('- The [WHO](https://who.int) declared COVID-19 a pandemic in March 2020.[1]')).toEqual([
      'The WHO declared COVID-19 a pandemic in March 2020.',
    ]);
  });
});

describe('extractClaims: reasoning, limits and deduplication', () => {
  it('drops <think> reasoning before the answer', () => {
    const answer = '<think>\nThe user asks about the capital. Maybe Lyon is the capital? No, it is Paris.\n</think>\n\nParis is the capital of France.';
    expect(extractClaims(answer)).toEqual(['Paris is the capital of France.']);
  });

  it('drops reasoning when the provider left only the closing tag', () => {
    expect(extractClaims('Lyon might be the capital of France.\n</think>\nParis is the capital of France.')).toEqual([
      'Paris is the capital of France.',
    ]);
  });

  it('drops an unclosed reasoning block: nothing after it was asserted', () => {
    expect(extractClaims('Canberra is the capital of Australia.\n<thinking>Sydney is the capital of Australia')).toEqual([
      'Canberra is the capital of Australia.',
    ]);
  });

  it('returns no claims for an empty or whitespace-only answer', () => {
    expect(extractClaims('')).toEqual([]);
    expect(extractClaims('  \n\t \n')).toEqual([]);
    expect(extractClaims('<think>only reasoning here</think>')).toEqual([]);
  });

  it('dedupes repeats that differ only in case or punctuation, keeping the first wording', () => {
    const answer = '- Paris is the capital of France.\n- paris is the capital of france\n- PARIS IS THE CAPITAL OF FRANCE!\n- The Seine flows through Paris.';
    expect(extractClaims(answer)).toEqual(['Paris is the capital of France.', 'The Seine flows through Paris.']);
  });

  it('keeps claims that differ only in a number or its sign', () => {
    const answer = '- The record low was -5 °C in January.\n- The record low was 5 °C in January.\n- Pi is about 3.14 today.\n- Pi is about 314 today.';
    expect(extractClaims(answer)).toHaveLength(4);
  });

  it('caps the number of claims and their length', () => {
    const many = JSON.stringify({ claims: Array.from({ length: 100 }, (_, i) => `Claim number ${i} is a distinct statement.`) });
    expect(extractClaims(many)).toHaveLength(40);
    expect(extractClaims(many, { maxClaims: 3 })).toEqual([
      'Claim number 0 is a distinct statement.',
      'Claim number 1 is a distinct statement.',
      'Claim number 2 is a distinct statement.',
    ]);
    const long = `The report ${'describes a very long chain of events '.repeat(30)}in detail.`;
    const [cut] = extractClaims(long, { maxLength: 80 });
    expect(cut).toBeDefined();
    expect((cut ?? '').length).toBeLessThanOrEqual(80);
    expect(cut).toMatch(/^The report describes a very long chain of events/);
    expect(cut).not.toMatch(/\s$/);
  });

  it('rejects options that cannot be honoured', () => {
    expect(() => extractClaims('x', { maxLength: 0 })).toThrow(RangeError);
    expect(() => extractClaims('x', { maxClaims: 1.5 })).toThrow(RangeError);
  });
});

describe('extractClaims: any string from any model', () => {
  const invariants = (claims: string[], maxClaims: number, maxLength: number) => {
    expect(claims.length).toBeLessThanOrEqual(maxClaims);
    for (const c of claims) {
      expect(typeof c).toBe('string');
      expect(c.trim().length).toBeGreaterThan(0);
      expect(c.length).toBeLessThanOrEqual(maxLength);
    }
    expect(new Set(claims.map(claimKey)).size).toBe(claims.length);
  };

  it('never throws and returns at most maxClaims non-empty claims of at most maxLength', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.string({ unit: 'grapheme', maxLength: 400 }), fc.string({ maxLength: 400 })),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 120 }),
        (text, maxClaims, maxLength) => invariants(extractClaims(text, { maxClaims, maxLength }), maxClaims, maxLength),
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on strings stitched from the syntax models actually use', () => {
    const piece = fc.constantFrom(
      '```json\n', '```\n', '~~~', '{', '}', '[', ']', '"claims"', ':', ',', '"', "'", '“', '”', '\\', '<think>', '</think>', '<thinking ',
      '\n', '\n\n', '  ', '- ', '* ', '• ', '1. ', '2) ', '(3) ', '# ', '## ', '**', '_', '`', '|', '---', '> ', 'e.g. ', 'U.S. ', '3.14',
      'v1.2', 'Dr. ', '. ', '? ', '! ', 'Paris is the capital of France', 'the Seine flows through it', 'Claim 1: ', '{"text": ',
      '"statement": ', '[1]', '[link](http://x.y)', '//', '/*', '*/', '\u2028', '\uD800', '\uFEFF', '。', 'Ünïcödé wörds hére',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 60 }), (pieces, maxClaims, maxLength) =>
        invariants(extractClaims(pieces.join(''), { maxClaims, maxLength }), maxClaims, maxLength),
      ),
      { numRuns: 1000 },
    );
  });

  it('returns every claim of a JSON claim list once, in order', () => {
    const claim = fc
      .array(fc.constantFrom('Paris', 'river', 'capital', 'France', 'is', 'the', 'of', 'flows', '1889', 'tower'), { minLength: 3, maxLength: 8 })
      .map((words) => `${words.join(' ')}.`);
    fc.assert(
      fc.property(fc.array(claim, { maxLength: 12 }), (claims) => {
        const unique = claims.filter((c, i) => claims.findIndex((d) => claimKey(d) === claimKey(c)) === i);
        expect(extractClaims(JSON.stringify({ claims }))).toEqual(unique);
      }),
    );
  });

  // No timing assertion here (speed belongs in benchmarks): a quadratic regex on these inputs
  // took minutes, so the test's own timeout is the guard, and the output must stay sane.
  it('copes with adversarial answers', { timeout: 20_000 }, () => {
    const hostile = [
      '['.repeat(50_000),
      '[1](x) '.repeat(10_000),
      `${' '.repeat(50_000)}x`,
      `${'_'.repeat(50_000)}a`,
      `${'.'.repeat(50_000)}x`,
      '{"a":'.repeat(10_000),
      '<think>'.repeat(10_000),
      `"${'\\'.repeat(50_000)}`,
      `|${'--|'.repeat(20_000)}x`,
      'a\n'.repeat(25_000),
      `{"claims": [${'"A claim that repeats itself here", '.repeat(2_000)}]}`,
    ];
    for (const text of hostile) {
      const claims = extractClaims(text);
      expect(claims.length).toBeLessThanOrEqual(40);
      for (const c of claims) expect(c.length).toBeLessThanOrEqual(500);
    }
  });
});

describe('splitSentences and stripReasoning', () => {
  it('splits at full stops followed by a capital, not before lower case or inside numbers', () => {
    expect(splitSentences('Version 3.14 shipped. It was fast. See No. 5 on the list. The answer was no. Approx. ten users agreed.')).toEqual([
      'Version 3.14 shipped.',
      'It was fast.',
      'See No. 5 on the list.',
      'The answer was no.',
      'Approx. ten users agreed.',
    ]);
  });

  it('survives circa, Jr., St., U.S., initials and decimals', () => {
    expect(splitSentences('Robert Holgate (c. 1481 – 15 November 1555) was an English clergyman. He was Archbishop of York.')).toEqual([
      'Robert Holgate (c. 1481 – 15 November 1555) was an English clergyman.',
      'He was Archbishop of York.',
    ]);
    expect(splitSentences('Carter Henry Harrison Jr. He was mayor of Chicago. Martin Luther King Jr. Day is in January.')).toEqual([
      'Carter Henry Harrison Jr.',
      'He was mayor of Chicago.',
      'Martin Luther King Jr. Day is in January.',
    ]);
    expect(splitSentences('He lived in St. Louis and the U.S. Army hired J. R. R. Tolkien at 3.5 times the pay. Then he left.')).toEqual([
      'He lived in St. Louis and the U.S. Army hired J. R. R. Tolkien at 3.5 times the pay.',
      'Then he left.',
    ]);
    expect(splitSentences('Acme Inc. The company was founded by C. Smith. It grew.')).toEqual(['Acme Inc.', 'The company was founded by C. Smith.', 'It grew.']);
  });

  it('drops a prose answer\'s last sentence when it was cut off mid-sentence', () => {
    expect(extractClaims('He was born in 1900 in Leeds. He studied law in York. He was a')).toEqual(['He was born in 1900 in Leeds.', 'He studied law in York.']);
    // A list item without a full stop is a finished claim, and so is a one-sentence answer.
    expect(extractClaims('- The API uses TLS 1.3\n- Keys rotate every 90 days')).toEqual(['The API uses TLS 1.3', 'Keys rotate every 90 days']);
    expect(extractClaims('The API uses TLS 1.3 everywhere')).toEqual(['The API uses TLS 1.3 everywhere']);
  });

  it('keeps the text around a reasoning block', () => {
    expect(stripReasoning('Before. <reasoning type="hidden">hmm</reasoning> After.')).toBe('Before.  After.');
  });
});
