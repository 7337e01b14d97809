import { describe, expect, it } from 'vitest';
import { escapeMarkdown, renderConsensusMarkdown } from '../../src/render/consensusMarkdown.js';
import type { ConsensusDocument } from '../../src/types.js';

import { models } from './models.js';

function fixture(over: Partial<ConsensusDocument> = {}): ConsensusDocument {
  return {
    runId: 'run-42',
    query: 'What causes the aurora borealis?',
    chunk: null,
    startedAt: '2025-03-01T12:00:00.000Z',
    finishedAt: '2025-03-01T12:00:31.000Z',
    sandbox: false,
    status: 'consensus',
    quorum: { configured: 6, required: 6, responders: 8, panel: 8, minResponders: 5 },
    claims: [
      { text: 'Charged solar-wind particles hit the upper atmosphere.', support: 8, ports: [0, 1, 2, 3, 4, 5, 6, 7] },
      { text: 'Oxygen emits green light at about 557.7 nm.', support: 7, ports: [0, 1, 2, 3, 4, 5, 7] },
    ],
    dissent: [{ text: 'Auroras are visible only in winter.', support: 2, ports: [3, 6] }],
    failures: [],
    agreement: Array.from({ length: 8 }, (_, i) => Array.from({ length: 8 }, (_, j) => (i === j ? 1 : 0.4))),
    ...over,
  };
}

const degraded = (): ConsensusDocument =>
  fixture({
    status: 'degraded',
    quorum: { configured: 6, required: 5, responders: 6, panel: 8, minResponders: 5 },
    claims: [{ text: 'Charged particles cause it.', support: 6, ports: [0, 1, 2, 3, 4, 5] }],
    failures: [
      { port: 6, model: 'nvidia/nemotron:free', kind: 'timeout', attempts: 1 },
      { port: 7, model: 'moonshot/kimi:free', kind: 'rate_limited', attempts: 3, message: 'HTTP 429' },
    ],
    agreement: Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 8 }, (_, j) => (i >= 6 || j >= 6 ? null : i === j ? 1 : 0.5)),
    ),
  });

describe('renderConsensusMarkdown', () => {
  it('opens with the query as title and a consensus banner', () => {
    const md = renderConsensusMarkdown(fixture(), models);
    const lines = md.split('\n');
    expect(lines[0]).toBe('# What causes the aurora borealis?');
    expect(lines[2]).toMatch(/^> \*\*CONSENSUS\*\* · all 8 ports answered · 2 claims reached quorum$/);
    expect(md).toContain('**Quorum:** 6 of 8 required · 8 of 8 answered');
  });

  it('numbers consensus claims [c1].. with their support and ports, and dissent separately', () => {
    const md = renderConsensusMarkdown(fixture(), models);
    expect(md).toContain(
      '1. **[c1]** Charged solar-wind particles hit the upper atmosphere. · support 8/8 (ports 0, 1, 2, 3, 4, 5, 6, 7)',
    );
    expect(md).toContain('2. **[c2]** Oxygen emits green light at about 557.7 nm. · support 7/8 (ports 0, 1, 2, 3, 4, 5, 7)');
    expect(md).toMatch(/## Dissent \(1\)\n\n1\. \*\*\[d1\]\*\* Auroras are visible only in winter\. · support 2\/8 \(ports 3, 6\)/);
    expect(md).toContain('_None: every port answered._');
  });

  it('says which ports stated a claim in other words, and lists the facts left out of the vote', () => {
    const attested = { text: 'Charged particles hit the atmosphere.', support: 3, ports: [0, 2, 5], strength: 2.7, attested: [{ port: 2, text: 'Particles from the Sun strike the air high up.' }, { port: 5, text: 'The solar wind hits the upper atmosphere.' }] };
    const leftOut = Array.from({ length: 23 }, (_, i) => ({ text: `Lone fact ${i}.`, support: 1, ports: [i % 8] }));
    const md = renderConsensusMarkdown(fixture({ rounds: 2, candidates: 40, claims: [attested], leftOut }));
    expect(md).toContain('   - stated in other words by port 2: “Particles from the Sun strike the air high up.”; port 5: “The solar wind hits the upper atmosphere.”');
    expect(md).toContain('## Not put to the vote (23)');
    expect(md).toContain('1. **[n1]** Lone fact 0. · support 1/8 (port 0)');
    expect(md).toContain('… and 3 more in consensus.json (`leftOut`).');
    expect(md).not.toContain('Lone fact 20.');
    expect(renderConsensusMarkdown(fixture())).not.toContain('Not put to the vote');
  });

  it('says DEGRADED with how many answered before anything else, and lists the failures', () => {
    const md = renderConsensusMarkdown(degraded(), models);
    const banner = md.split('\n')[2]!;
    expect(banner).toMatch(/^> \*\*DEGRADED \(6 of 8 answered\)\*\* · 2 ports failed; .*partial/);
    expect(md).toContain('**Quorum:** 5 of 8 required (configured 6, scaled for 6 responders)');
    expect(md).toContain('| 6 | nvidia/nemotron:free | timeout | 1 |  |');
    expect(md).toContain('| 7 | moonshot/kimi:free | rate\\_limited | 3 | HTTP 429 |');
  });

  it('says QUORUM LOST and that no claim is consensus', () => {
    const md = renderConsensusMarkdown(
      fixture({
        status: 'quorum_lost',
        quorum: { configured: 6, required: 6, responders: 3, panel: 8, minResponders: 5 },
        claims: [],
      }),
    );
    expect(md.split('\n')[2]).toBe(
      '> **QUORUM LOST (3 of 8 answered, 5 needed)** · no claim is consensus; everything below is dissent.',
    );
    expect(md).toContain('## Consensus claims (0)\n\n_None: too few ports answered for any claim to count as consensus._');
    expect(md).not.toMatch(/CONSENSUS\*\*/);
  });

  it('renders the agreement matrix as a table with a dash for ports that did not answer', () => {
    const md = renderConsensusMarkdown(degraded(), models);
    const table = md.split('## Agreement')[1]!.split('\n').filter((l) => l.startsWith('|'));
    expect(table[0]).toBe('| port | model | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 |');
    expect(table).toHaveLength(2 + 8);
    expect(table[2]).toBe('| 0 | meta-llama/llama-3.3-70b-instruct:free | 1.00 | 0.50 | 0.50 | 0.50 | 0.50 | 0.50 | — | — |');
    expect(table[9]).toBe('| 7 | moonshot/kimi:free | — | — | — | — | — | — | — | — |');
  });

  it('escapes HTML and Markdown in model text so a claim cannot inject markup or break a table', () => {
    const md = renderConsensusMarkdown(
      fixture({
        query: 'Is <b>this</b> | that?',
        claims: [{ text: '<script>alert(1)</script> *bold* [x](http://e.vil) `code`\n# heading', support: 6, ports: [0] }],
        failures: [{ port: 2, model: 'evil|model', kind: 'malformed', attempts: 1, message: 'bad | <img src=x>' }],
      }),
      new Map([[2, 'evil|model']]),
    );
    expect(md).not.toContain('<script>');
    expect(md).not.toContain('<img');
    expect(md).not.toContain('<b>');
    expect(md.split('\n')[0]).toBe('# Is &lt;b&gt;this&lt;/b&gt; \\| that?');
    expect(md).toContain(
      '**[c1]** &lt;script&gt;alert(1)&lt;/script&gt; \\*bold\\* \\[x\\](http://e.vil) \\`code\\` \\# heading · support 6/8',
    );
    expect(md).toContain('| 2 | evil\\|model | malformed | 1 | bad \\| &lt;img src=x&gt; |');
    // Every table row still has exactly the header's number of cells (unescaped pipes).
    for (const row of md.split('\n').filter((l) => l.startsWith('| 2 |'))) {
      const cells = row.split(/(?<!\\)\|/).length;
      expect([7, 12]).toContain(cells);
    }
  });

  it('says in the footer when the models were simulated', () => {
    const real = renderConsensusMarkdown(fixture());
    const sim = renderConsensusMarkdown(fixture({ sandbox: true }));
    expect(real).not.toMatch(/simulated/i);
    const footer = sim.split('\n---\n')[1]!;
    expect(footer).toMatch(/Models were simulated \(sandbox\)/);
    expect(footer).toContain('run `run-42`');
  });

  it('names the chunk a batch run worked on', () => {
    const md = renderConsensusMarkdown(fixture({ chunk: { source: 'specs/a_b.md', id: 'c-0003' } }));
    expect(md).toContain('chunk specs/a\\_b.md `c-0003`');
  });
});

describe('escapeMarkdown', () => {
  it('leaves ordinary prose readable', () => {
    expect(escapeMarkdown('State-of-the-art (2024): 3.5 + 1 = 4.5!')).toBe('State-of-the-art (2024): 3.5 + 1 = 4.5!');
  });
  it('collapses line breaks so text cannot start a block of its own', () => {
    expect(escapeMarkdown('a\n\n> quote\n- item')).toBe('a &gt; quote - item');
  });
  it('turns ampersands into entities so no entity trick renders as markup', () => {
    expect(escapeMarkdown('&lt;script&gt;')).toBe('&amp;lt;script&amp;gt;');
  });
});

describe('renderConsensusMarkdown: an answer cut at the output limit (issue 11, row 10)', () => {
  it('says which ports were cut and that their last claim was dropped', () => {
    const md = renderConsensusMarkdown(fixture({ truncated: [2, 5] }));
    expect(md).toContain("**Truncated:** the answer of ports 2, 5 was cut at the model's output limit (finish_reason `length`) or at quorum's answer size cap; its last, unfinished claim was dropped.");
    expect(renderConsensusMarkdown(fixture())).not.toContain('Truncated');
  });
});
