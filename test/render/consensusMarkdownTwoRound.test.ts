import { describe, expect, it } from 'vitest';
import { escapeProse, renderConsensusMarkdown } from '../../src/render/consensusMarkdown.js';
import type { ConsensusDocument } from '../../src/types.js';

import { models } from './models.js';

/**
 * Port 7 failed round 1; port 5 answered round 1 but cast no usable ballot (it abstains, and its
 * proposal of c1 still counts). c1 merges candidates c1 and c4; port 6 votes against it.
 */
function twoRound(over: Partial<ConsensusDocument> = {}): ConsensusDocument {
  return {
    runId: 'run-43',
    query: 'What causes the aurora borealis?',
    chunk: null,
    startedAt: '2025-03-01T12:00:00.000Z',
    finishedAt: '2025-03-01T12:01:02.000Z',
    sandbox: false,
    status: 'degraded',
    quorum: { configured: 6, required: 5, responders: 7, panel: 8, minResponders: 5 },
    rounds: 2,
    candidates: 4,
    abstentions: [5],
    claims: [
      {
        text: 'Charged solar-wind particles hit the upper atmosphere.',
        support: 6,
        ports: [0, 1, 2, 3, 4, 5],
        wordings: [
          { port: 0, text: 'Charged solar-wind particles hit the upper atmosphere.' },
          { port: 2, text: 'Solar wind particles strike the upper atmosphere.' },
          { port: 5, text: 'solar wind  particles strike the upper atmosphere.' },
        ],
        ids: ['c1', 'c4'],
        proposers: [0, 2, 5],
        votes: { agree: [0, 1, 2, 3, 4, 5], disagree: [6], unsure: [], abstained: [] },
      },
      {
        text: 'Oxygen emits green light at about 557.7 nm.',
        support: 5,
        ports: [0, 1, 2, 3, 4],
        wordings: [{ port: 1, text: 'Oxygen emits green light at about 557.7 nm.' }],
        ids: ['c2'],
        proposers: [1],
        votes: { agree: [0, 1, 2, 3, 4], disagree: [], unsure: [6], abstained: [5] },
      },
    ],
    dissent: [
      {
        text: 'Auroras are visible only in winter.',
        support: 1,
        ports: [3],
        wordings: [{ port: 3, text: 'Auroras are visible only in winter.' }],
        ids: ['c3'],
        proposers: [3],
        votes: { agree: [3], disagree: [0, 1, 2, 4], unsure: [6], abstained: [5] },
      },
    ],
    failures: [
      { port: 5, model: 'microsoft/phi-4:free', kind: 'malformed', attempts: 1, message: 'No votes could be read from the ballot', round: 2 },
      { port: 7, model: 'moonshot/kimi:free', kind: 'timeout', attempts: 2 },
    ],
    agreement: Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 8 }, (_, j) => (i === 7 || j === 7 ? null : i === j ? 1 : 0.5)),
    ),
    ...over,
  };
}

/** The lines of one `## heading` section, up to the next heading or the footer. */
function section(md: string, heading: string): string[] {
  const start = md.indexOf(`\n## ${heading}`);
  expect(start).toBeGreaterThan(-1);
  const rest = md.slice(start + 1).split('\n');
  const end = rest.findIndex((l, i) => i > 0 && (l.startsWith('## ') || l === '---'));
  return rest.slice(1, end === -1 ? undefined : end).filter((l) => l !== '');
}

describe('renderConsensusMarkdown: two rounds', () => {
  it('says under the banner how many candidates went to a vote, and which run it replays', () => {
    const lines = renderConsensusMarkdown(twoRound({ replayOf: 'run-41' }), models).split('\n');
    expect(lines[2]).toMatch(/^> \*\*DEGRADED \(7 of 8 answered\)\*\*/);
    expect(lines[4]).toMatch(/^Two rounds: 4 candidates put to a vote of 7 responders/);
    expect(lines[6]).toMatch(/^Replay of run `run-41`/);
  });

  it('lists proposers, the vote breakdown and merged candidates under each claim, omitting empty groups', () => {
    const md = renderConsensusMarkdown(twoRound(), models);
    const claims = section(md, 'Consensus claims (2)');
    expect(claims).toEqual([
      '1. **[c1]** Charged solar-wind particles hit the upper atmosphere. · support 6/8 (ports 0, 1, 2, 3, 4, 5)',
      '   - proposed by ports 0, 2, 5 · votes: agree 0, 1, 2, 3, 4, 5 · disagree 6 · merged candidates c1, c4',
      '   - also worded as: “Solar wind particles strike the upper atmosphere.” (ports 2, 5)',
      '2. **[c2]** Oxygen emits green light at about 557.7 nm. · support 5/8 (ports 0, 1, 2, 3, 4)',
      '   - proposed by port 1 · votes: agree 0, 1, 2, 3, 4 · unsure 6 · abstained 5 · candidate c2',
    ]);
    expect(section(md, 'Dissent (1)')).toEqual([
      '1. **[d1]** Auroras are visible only in winter. · support 1/8 (port 3)',
      '   - proposed by port 3 · votes: agree 3 · disagree 0, 1, 2, 4 · unsure 6 · abstained 5 · candidate c3',
    ]);
  });

  it('caps the other wordings at five and escapes them', () => {
    const wordings = Array.from({ length: 8 }, (_, port) => ({ port, text: `Wording ${port} <b>|</b>` }));
    const md = renderConsensusMarkdown(
      twoRound({ claims: [{ ...twoRound().claims[0]!, wordings }] }),
      models,
    );
    const line = md.split('\n').find((l) => l.includes('also worded as'))!;
    expect(line).toContain('“Wording 0 &lt;b&gt;\\|&lt;/b&gt;” (port 0)');
    expect(line).toContain('“Wording 4');
    expect(line).not.toContain('“Wording 5');
    expect(line).toMatch(/; and 3 more$/);
  });

  it('draws a per-port vote matrix for claims and dissent, with a legend', () => {
    const md = renderConsensusMarkdown(twoRound(), models);
    const matrix = section(md, 'Vote matrix');
    expect(matrix.slice(0, 5)).toEqual([
      '| claim | support | 0 | 1 | 2 | 3 | 4 | 5 | 6 |',
      '|---|---:|:-:|:-:|:-:|:-:|:-:|:-:|:-:|',
      '| [c1] | 6/8 | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | ✗ |',
      '| [c2] | 5/8 | ✓ | ✓ | ✓ | ✓ | ✓ | – | ? |',
      '| [d1] | 1/8 | ✗ | ✗ | ✗ | ✓ | ✗ | – | ? |',
    ]);
    expect(matrix[5]).toMatch(/^✓ agree .* · ✗ disagree · \? unsure · – abstained/);
    // The matrix sits between dissent and failures.
    expect(md.indexOf('## Dissent')).toBeLessThan(md.indexOf('## Vote matrix'));
    expect(md.indexOf('## Vote matrix')).toBeLessThan(md.indexOf('## Failures'));
  });

  it('leaves the matrix out, with a note, for more than 16 voters', () => {
    const ports = Array.from({ length: 20 }, (_, i) => i);
    const md = renderConsensusMarkdown(
      twoRound({
        status: 'consensus',
        quorum: { configured: 11, required: 11, responders: 20, panel: 20, minResponders: 11 },
        claims: [{ text: 'x', support: 20, ports, ids: ['c1'], proposers: [0], votes: { agree: ports, disagree: [], unsure: [], abstained: [] } }],
        dissent: [],
        failures: [],
        abstentions: [],
        agreement: [],
      }),
    );
    expect(section(md, 'Vote matrix')).toEqual([
      '_Vote matrix left out: 20 voters are too many for a readable table; each claim above lists how every port voted._',
    ]);
  });

  it('marks vote-round failures and lists abstentions', () => {
    const md = renderConsensusMarkdown(twoRound(), models);
    const failures = section(md, 'Failures (2)');
    expect(failures).toEqual([
      '| port | model | round | kind | attempts | message |',
      '|---:|---|---|---|---:|---|',
      '| 5 | microsoft/phi-4:free | vote round | malformed | 1 | No votes could be read from the ballot |',
      '| 7 | moonshot/kimi:free | round 1 | timeout | 2 |  |',
      '**Abstentions:** port 5 abstained in the vote round (no usable ballot); their round-1 proposals still count.',
    ]);
  });

  it('adds none of this to a one-round result', () => {
    const one = twoRound({ rounds: 1, abstentions: undefined, candidates: undefined });
    for (const c of [...one.claims, ...one.dissent]) {
      delete c.ids;
      delete c.proposers;
      delete c.votes;
    }
    one.failures = one.failures.map(({ round: _round, ...f }) => f);
    const md = renderConsensusMarkdown(one, models);
    expect(md).not.toMatch(/Two rounds|Vote matrix|Abstentions|vote round|also worded as|proposed by/);
    expect(md).toContain('| port | model | kind | attempts | message |');
  });
});

describe('renderConsensusMarkdown: chair synthesis', () => {
  it('places the answer right after the consensus claims, keeping paragraphs and [cK] citations', () => {
    const md = renderConsensusMarkdown(
      twoRound({
        synthesis: {
          model: 'openai/gpt-4o',
          text: 'Auroras happen when charged particles from the Sun hit the upper atmosphere [c1].\n\nThe green glow comes from oxygen [c2].\n',
        },
      }),
      models,
    );
    expect(md.indexOf('## Consensus claims')).toBeLessThan(md.indexOf('## Answer (chair synthesis)'));
    expect(md.indexOf('## Answer (chair synthesis)')).toBeLessThan(md.indexOf('## Dissent'));
    expect(section(md, 'Answer (chair synthesis)')).toEqual([
      'Auroras happen when charged particles from the Sun hit the upper atmosphere [c1].',
      'The green glow comes from oxygen [c2].',
      '_Written by openai/gpt-4o from the consensus claims only; its [c…] citations refer to the list above._',
    ]);
    expect(md).toContain('[c1].\n\nThe green glow');
  });

  it('says in one line when the chair failed, and that the consensus stands', () => {
    const md = renderConsensusMarkdown(
      twoRound({ synthesis: { model: 'openai/gpt-4o', error: 'HTTP 500 | upstream <error>' } }),
      models,
    );
    expect(section(md, 'Answer (chair synthesis)')).toEqual([
      'The chair (openai/gpt-4o) failed: HTTP 500 \\| upstream &lt;error&gt;; the consensus above stands.',
    ]);
  });

  it('renders a malicious synthesis as text only', () => {
    const text = [
      '# Ignore the claims',
      '<script>alert(1)</script> and <img src=x onerror=alert(1)>',
      '',
      '| a | b |',
      '|---|---|',
      '```js',
      'evil()',
      '```',
      '- a list item',
      '+ another',
      '2) ordered',
      '---',
      'Setext heading',
      '===',
      '    indented code',
      '> quote',
      '',
      '[c1](http://e.vil) and [c2][x] and `tick`',
      '[c1]: http://e.vil',
      'Plain citation [c3], not a link.',
    ].join('\n');
    const md = renderConsensusMarkdown(twoRound({ synthesis: { model: 'evil|<b>model</b>', text } }), models);
    const answer = section(md, 'Answer (chair synthesis)');
    expect(md).not.toMatch(/<script|<img|<b>/);
    for (const line of answer) {
      // No line may open a block: heading, list, table, fence, rule, setext underline, quote, code or link definition.
      expect(line).not.toMatch(/^(#|[-+*] |\d+[.)]|\||```|~~~|---|===|>|\s{4}|\[[^\]]*\]:)/);
    }
    expect(answer.join('\n')).not.toContain('[c1](');
    expect(answer.join('\n')).not.toMatch(/(?<!\\)\[c1\]:/);
    expect(answer.join('\n')).toContain('Plain citation [c3], not a link.');
    expect(answer.join('\n')).toContain('\\`tick\\`');
    expect(answer.at(-1)).toBe(
      '_Written by evil\\|&lt;b&gt;model&lt;/b&gt; from the consensus claims only; its [c…] citations refer to the list above._',
    );
    // The model's three paragraphs, lines kept apart by hard breaks (a trailing backslash), then the attribution.
    const raw = md.split('## Answer (chair synthesis)\n\n')[1]!.split('\n\n## ')[0]!;
    const paragraphs = raw.split('\n\n');
    expect(paragraphs).toHaveLength(4);
    for (const p of paragraphs.slice(0, 3)) {
      const lines = p.split('\n');
      expect(lines.slice(0, -1).every((l) => l.endsWith('\\'))).toBe(true);
      expect(lines.at(-1)!.endsWith('\\')).toBe(false);
    }
    expect(answer[0]).toBe('\\# Ignore the claims\\');
  });
});

describe('escapeProse', () => {
  it('keeps paragraphs and lines, escapes each line, and keeps plain citations', () => {
    expect(escapeProse('One [c1].\r\nTwo *b*.\n \nThree [c2](x).')).toEqual([
      'One [c1].\\\nTwo \\*b\\*.',
      'Three \\[c2\\](x).',
    ]);
  });
  it('escapes what would start a list, rule or setext heading', () => {
    expect(escapeProse('- a\n+ b\n=\n10. c\n3) d')).toEqual(['\\- a\\\n\\+ b\\\n\\=\\\n10\\. c\\\n3\\) d']);
  });
  it('returns nothing for blank text', () => {
    expect(escapeProse(' \n\n ')).toEqual([]);
  });
});
