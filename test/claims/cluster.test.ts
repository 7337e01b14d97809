import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ClaimItem, type Cluster, clusterClaims } from '../../src/claims/cluster.js';
import { claimKey } from '../../src/claims/extract.js';

/**
 * A matcher with known answers, so these tests pin the clustering rules rather than whatever
 * matcher similarity.ts ships: two claims are the same when they share a fact id.
 */
function tableMatcher(facts: Record<string, string[]>) {
  const byKey = new Map(Object.entries(facts).map(([text, ids]) => [claimKey(text), ids] as const));
  const of = (text: string) => new Set(byKey.get(claimKey(text)) ?? [claimKey(text)]);
  return {
    same: (a: string, b: string) => [...of(a)].some((f) => of(b).has(f)),
    similarity: (a: string, b: string) => {
      const fa = of(a);
      const fb = of(b);
      const both = [...fa].filter((f) => fb.has(f)).length;
      return both / (fa.size + fb.size - both);
    },
  };
}

const CAPITAL = ['Paris is the capital of France.', 'The capital of France is Paris.', 'France’s capital city is Paris.'];
const RIVER = ['The Seine flows through Paris.', 'Paris lies on the river Seine.'];
const TOWER = ['The Eiffel Tower was finished in 1889.', 'Construction of the Eiffel Tower ended in 1889.'];
const CATCH_ALL = 'Paris France capital Seine river Eiffel Tower 1889 finished flows';
const PARIS = tableMatcher({
  ...Object.fromEntries(CAPITAL.map((t) => [t, ['capital']])),
  ...Object.fromEntries(RIVER.map((t) => [t, ['river']])),
  ...Object.fromEntries(TOWER.map((t) => [t, ['tower']])),
  [CATCH_ALL]: ['capital', 'river', 'tower'],
});

const items = (...byPort: string[][]): ClaimItem[] => byPort.flatMap((texts, port) => texts.map((text) => ({ port, text })));
const portSets = (clusters: Cluster[]) => clusters.map((c) => c.ports);

describe('clusterClaims', () => {
  it('groups different wordings of one fact from different ports', () => {
    const clusters = clusterClaims(items([CAPITAL[0] as string], [CAPITAL[1] as string], [CAPITAL[2] as string], [RIVER[0] as string]), PARIS);
    expect(portSets(clusters)).toEqual([[0, 1, 2], [3]]);
    expect(clusters[0]?.wordings).toEqual([
      { port: 0, text: CAPITAL[0] },
      { port: 1, text: CAPITAL[1] },
      { port: 2, text: CAPITAL[2] },
    ]);
  });

  it('a port repeating one claim ten times still counts one vote', () => {
    const stuffed = Array.from({ length: 10 }, (_, i) => (i % 2 ? 'PARIS IS THE CAPITAL OF FRANCE!' : 'Paris is the capital of France.'));
    const clusters = clusterClaims(items(stuffed, ['Paris is the capital of France']), PARIS);
    expect(clusters).toHaveLength(1);
    expect(clusters[0]?.ports).toEqual([0, 1]);
    // Case/punctuation repeats collapse into one wording per port.
    expect(clusters[0]?.wordings.filter((w) => w.port === 0)).toHaveLength(1);
  });

  it("counts a port's two paraphrases of one fact as one vote", () => {
    const clusters = clusterClaims(items([CAPITAL[0] as string, CAPITAL[1] as string], [CAPITAL[2] as string]), PARIS);
    expect(clusters).toHaveLength(1);
    expect(clusters[0]?.ports).toEqual([0, 1]);
    expect(clusters[0]?.wordings).toHaveLength(3);
  });

  it('a catch-all claim made of every keyword does not merge distinct facts', () => {
    const clusters = clusterClaims(
      items([CAPITAL[0] as string], [CAPITAL[1] as string], [RIVER[0] as string], [RIVER[1] as string], [TOWER[0] as string], [TOWER[1] as string], [CATCH_ALL]),
      PARIS,
    );
    const factOf = (text: string) => (CAPITAL.includes(text) ? 'capital' : RIVER.includes(text) ? 'river' : 'tower');
    const honest = clusters.map((c) => new Set(c.wordings.filter((w) => w.text !== CATCH_ALL).map((w) => factOf(w.text))));
    // Three facts stay three clusters; the catch-all is one extra vote for at most one of them.
    expect(honest.filter((facts) => facts.size > 0)).toHaveLength(3);
    for (const facts of honest) expect(facts.size).toBeLessThanOrEqual(1);
    expect(Math.max(...clusters.map((c) => c.ports.length))).toBeLessThanOrEqual(3);
  });

  it('a near-copy of one honest wording cannot pull it away from the others that say the same', () => {
    // Port 7's claim is "the same" as port 0's wording only: greedy merging by similarity would
    // pair them first and leave port 0 out of the fact's cluster.
    const m = tableMatcher({
      'Paris has 2.1 million inhabitants.': ['pop', 'pop-strict', 'decoy'],
      'About 2.1 million people live in Paris.': ['pop', 'pop-strict'],
      'Paris is home to 2.1 million residents.': ['pop', 'pop-strict'],
      'Paris has 2.1 million inhabitants and rising': ['decoy'],
    });
    const clusters = clusterClaims(
      items(
        ['Paris has 2.1 million inhabitants.'],
        ['About 2.1 million people live in Paris.'],
        ['Paris is home to 2.1 million residents.'],
        ['About 2.1 million people live in Paris.'],
        ['Paris is home to 2.1 million residents.'],
        [],
        [],
        ['Paris has 2.1 million inhabitants and rising'],
      ),
      { same: m.same },
    );
    expect(portSets(clusters)).toEqual([[0, 1, 2, 3, 4], [7]]);
  });

  it('never puts the two ends of a paraphrase chain in one cluster', () => {
    const m = tableMatcher({ 'alpha beta gamma': ['ab'], 'beta gamma delta': ['ab', 'bc'], 'gamma delta epsilon': ['bc'] });
    const clusters = clusterClaims(items(['alpha beta gamma'], ['beta gamma delta'], ['gamma delta epsilon']), m);
    for (const c of clusters) {
      const texts = c.wordings.map((w) => w.text);
      expect(texts.includes('alpha beta gamma') && texts.includes('gamma delta epsilon')).toBe(false);
    }
    expect(clusters.reduce((n, c) => n + c.ports.length, 0)).toBe(3);
  });

  it('asks the matcher both ways, so a one-sided match does not merge', () => {
    const broadCoversNarrow = (a: string, b: string) => a === b || (a.includes('everything') && !b.includes('everything'));
    const clusters = clusterClaims(items(['Paris is the capital of France'], ['everything about Paris and France']), { same: broadCoversNarrow });
    expect(clusters).toHaveLength(2);
  });

  it('represents a cluster by the wording most ports used, then the shortest, then the first alphabetically', () => {
    const same = () => true;
    // Case and punctuation variants pool their ports; within them the shortest wording wins.
    expect(clusterClaims(items(['Paris is the capital.'], ['paris is the capital'], ['The capital is Paris, France.']), { same })[0]?.text).toBe(
      'paris is the capital',
    );
    expect(clusterClaims(items(['Paris is the capital.'], ['Paris is the capital.'], ['paris is the capital'], ['Paris, capital']), { same })[0]?.text).toBe(
      'Paris is the capital.',
    );
    expect(clusterClaims(items(['The capital is Paris, France.'], ['Paris is the capital.']), { same })[0]?.text).toBe('Paris is the capital.');
    expect(clusterClaims(items(['Paris is the capital B'], ['Paris is the capital A']), { same })[0]?.text).toBe('Paris is the capital A');
  });

  it('orders clusters by support, then text', () => {
    const clusters = clusterClaims(items(['b fact here'], ['a fact here', 'b fact here'], ['c fact here']), { same: (a, b) => a === b });
    expect(clusters.map((c) => c.text)).toEqual(['b fact here', 'a fact here', 'c fact here']);
  });

  it('ignores blank claims and returns nothing for no claims', () => {
    expect(clusterClaims([])).toEqual([]);
    expect(clusterClaims([{ port: 0, text: '   ' }, { port: 1, text: '...' }])).toEqual([]);
  });

  it('with the default matcher, merges wordings that differ in case and punctuation and keeps unrelated facts apart', () => {
    const clusters = clusterClaims(
      items(
        ['Water boils at 100 degrees Celsius at sea level.'],
        ['water boils at 100 degrees celsius at sea level'],
        ['The Great Wall of China is over 21,000 km long.'],
      ),
    );
    expect(portSets(clusters)).toEqual([[0, 1], [2]]);
  });
});

describe('clusterClaims properties', () => {
  const vocabulary = [...CAPITAL, ...RIVER, ...TOWER, CATCH_ALL, 'paris is the capital of france', 'Totally unrelated claim about tea.'];
  const ballots = fc.array(fc.array(fc.constantFrom(...vocabulary), { maxLength: 5 }), { minLength: 1, maxLength: 8 });

  it('gives the same clusters whatever the order of the ports and their claims', () => {
    fc.assert(
      fc.property(ballots, fc.infiniteStream(fc.nat()), (byPort, seeds) => {
        const input = items(...byPort);
        const order = input.map((item) => ({ item, seed: seeds.next().value as number }));
        const shuffled = order.sort((a, b) => a.seed - b.seed).map((o) => o.item);
        expect(clusterClaims(shuffled, PARIS)).toEqual(clusterClaims(input, PARIS));
      }),
    );
  });

  it('builds clusters in which every wording is the same claim as every other, each port voting once', () => {
    fc.assert(
      fc.property(ballots, (byPort) => {
        const clusters = clusterClaims(items(...byPort), PARIS);
        for (const c of clusters) {
          expect(c.ports).toEqual([...new Set(c.ports)].sort((a, b) => a - b));
          expect(c.ports).toEqual([...new Set(c.wordings.map((w) => w.port))].sort((a, b) => a - b));
          for (const a of c.wordings) for (const b of c.wordings) expect(PARIS.same(a.text, b.text) || claimKey(a.text) === claimKey(b.text)).toBe(true);
        }
        // Every (port, claim) lands in exactly one cluster.
        const placed = clusters.flatMap((c) => c.wordings.map((w) => `${w.port}:${claimKey(w.text)}`));
        expect(new Set(placed).size).toBe(placed.length);
        expect(new Set(placed)).toEqual(new Set(items(...byPort).map((i) => `${i.port}:${claimKey(i.text)}`)));
      }),
    );
  });

  it('does not change when a port repeats its claims', () => {
    fc.assert(
      fc.property(ballots, fc.nat(), (byPort, which) => {
        const port = which % byPort.length;
        const repeated = byPort.map((texts, p) => (p === port ? [...texts, ...texts.map((t) => t.toUpperCase()), ...texts] : texts));
        // Which of a port's case variants represents it may change; the votes may not.
        const votes = (clusters: Cluster[]) => clusters.map((c) => JSON.stringify([c.ports, c.wordings.map((w) => `${w.port}:${claimKey(w.text)}`).sort()])).sort();
        expect(votes(clusterClaims(items(...repeated), PARIS))).toEqual(votes(clusterClaims(items(...byPort), PARIS)));
      }),
    );
  });
});
