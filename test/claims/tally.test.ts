import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tally, tallyDetailed } from '../../src/claims/tally.js';
import { UsageError } from '../../src/errors.js';
import type { FailureKind, ModelFailure, ModelOutcome, ModelSuccess } from '../../src/types.js';

const answer = (port: number, text: string): ModelSuccess => ({
  ok: true,
  port,
  model: `model-${port}`,
  family: `family-${port}`,
  latencyMs: 1200 + port,
  attempts: 1,
  text,
  usage: { inputTokens: 100, outputTokens: 50 },
});
const claims = (port: number, ...list: string[]) => answer(port, JSON.stringify({ claims: list }));
const failed = (port: number, kind: FailureKind = 'timeout'): ModelFailure => ({
  ok: false,
  port,
  model: `model-${port}`,
  family: `family-${port}`,
  latencyMs: 30_000,
  attempts: 2,
  kind,
  message: kind === 'timeout' ? 'No answer within 30000 ms' : `Provider said ${kind}`,
});

// Distinct facts that no sane matcher confuses, so these tests hold for whichever matcher
// similarity.ts ships.
const CAPITAL = 'Paris is the capital of France.';
const BOILING = 'Water boils at 100 degrees Celsius at sea level.';
const WALL = 'The Great Wall of China is more than 21,000 km long.';
const MOON = 'Neil Armstrong walked on the Moon in July 1969.';

const panelOf = (n: number, make: (port: number) => ModelOutcome) => Array.from({ length: n }, (_, port) => make(port));

describe('tally', () => {
  it('keeps a claim that 6 of 8 ports make', () => {
    const result = tally(
      panelOf(8, (p) => (p < 6 ? claims(p, CAPITAL) : claims(p, BOILING))),
      { panelSize: 8 },
    );
    expect(result.status).toBe('consensus');
    expect(result.quorum).toEqual({ configured: 6, required: 6, responders: 8, panel: 8, minResponders: 5 });
    expect(result.claims.map((c) => [c.text, c.support, c.ports])).toEqual([[CAPITAL, 6, [0, 1, 2, 3, 4, 5]]]);
    expect(result.dissent.map((c) => [c.text, c.support, c.ports])).toEqual([[BOILING, 2, [6, 7]]]);
  });

  it('reports a claim that only 5 of 8 ports make as dissent', () => {
    const result = tally(
      panelOf(8, (p) => (p < 5 ? claims(p, CAPITAL, MOON) : claims(p, MOON))),
      { panelSize: 8 },
    );
    expect(result.claims.map((c) => c.text)).toEqual([MOON]);
    expect(result.dissent.map((c) => [c.text, c.support])).toEqual([[CAPITAL, 5]]);
  });

  it('drops to a degraded quorum of ceil(q·r/N) when a port fails', () => {
    const outcomes = panelOf(8, (p) => (p >= 6 ? failed(p) : p < 5 ? claims(p, CAPITAL) : claims(p, WALL)));
    const result = tally(outcomes, { panelSize: 8 });
    expect(result.status).toBe('degraded');
    expect(result.quorum).toEqual({ configured: 6, required: 5, responders: 6, panel: 8, minResponders: 5 });
    expect(result.claims.map((c) => [c.text, c.support])).toEqual([[CAPITAL, 5]]);
    expect(result.failures).toEqual([
      { port: 6, model: 'model-6', kind: 'timeout', attempts: 2, message: 'No answer within 30000 ms' },
      { port: 7, model: 'model-7', kind: 'timeout', attempts: 2, message: 'No answer within 30000 ms' },
    ]);
  });

  it('loses the quorum below a strict majority and reports every claim as dissent', () => {
    const outcomes = panelOf(8, (p) => (p < 4 ? claims(p, CAPITAL) : failed(p, p % 2 ? 'rate_limited' : 'http')));
    const result = tally(outcomes, { panelSize: 8 });
    expect(result.status).toBe('quorum_lost');
    expect(result.quorum.responders).toBe(4);
    expect(result.claims).toEqual([]);
    expect(result.dissent.map((c) => [c.text, c.support])).toEqual([[CAPITAL, 4]]);
    expect(result.failures.map((f) => [f.port, f.kind])).toEqual([
      [4, 'http'],
      [5, 'rate_limited'],
      [6, 'http'],
      [7, 'rate_limited'],
    ]);
  });

  it('counts an answer with no claim in it as a failed port, not a responder', () => {
    const outcomes = panelOf(8, (p) => (p === 6 ? answer(p, '   \n') : p === 7 ? answer(p, '## Answer\n\nI cannot help with that') : claims(p, CAPITAL)));
    const result = tally(outcomes, { panelSize: 8 });
    expect(result.status).toBe('degraded');
    expect(result.quorum.responders).toBe(6);
    expect(result.failures).toEqual([
      { port: 6, model: 'model-6', kind: 'empty', attempts: 1, message: 'The answer was empty' },
      { port: 7, model: 'model-7', kind: 'malformed', attempts: 1, message: 'No claim could be extracted from the answer' },
    ]);
    expect(result.agreement[6]).toEqual(Array(8).fill(null));
  });

  it('calls an answer of nothing but reasoning empty', () => {
    const result = tally([answer(0, '<think>Let me think about Paris.</think>\n')], { panelSize: 1 });
    expect(result.failures[0]?.kind).toBe('empty');
    expect(result.status).toBe('quorum_lost');
  });

  it('a port repeating one claim ten times still counts one vote', () => {
    const stuffing = answer(0, Array.from({ length: 10 }, () => `- ${BOILING}`).join('\n'));
    const result = tally([stuffing, claims(1, CAPITAL), claims(2, CAPITAL), claims(3, CAPITAL)], { panelSize: 4 });
    expect(result.dissent.find((c) => c.text === BOILING)?.support).toBe(1);
    expect(result.claims.map((c) => [c.text, c.support])).toEqual([[CAPITAL, 3]]);
  });

  it("gives a port's paraphrases of one fact a single vote", () => {
    const same = (a: string, b: string) => a.includes('Paris') === b.includes('Paris');
    const result = tally(
      [claims(0, 'Paris is the capital of France.', 'The French capital is Paris.'), claims(1, 'Paris is France’s capital city.')],
      { panelSize: 2, quorum: 2, same },
    );
    expect(result.claims).toHaveLength(1);
    expect(result.claims[0]?.support).toBe(2);
    expect(result.claims[0]?.ports).toEqual([0, 1]);
    expect(result.claims[0]?.wordings).toHaveLength(3);
  });

  it('honours a configured quorum and minimum of responders', () => {
    const outcomes = panelOf(8, (p) => (p < 4 ? claims(p, CAPITAL) : failed(p)));
    const result = tally(outcomes, { panelSize: 8, quorum: 4, minResponders: 4 });
    expect(result.status).toBe('degraded');
    expect(result.quorum).toMatchObject({ configured: 4, required: 2 });
    expect(result.claims.map((c) => c.text)).toEqual([CAPITAL]);
  });

  it('rejects a quorum larger than the panel with a usage error', () => {
    expect(() => tally([], { panelSize: 8, quorum: 9 })).toThrow(new UsageError('Expected --quorum to be an integer from 1 to 8, got 9'));
  });

  it('rejects an outcome from a port outside the panel', () => {
    expect(() => tally([claims(8, CAPITAL)], { panelSize: 8 })).toThrow(RangeError);
  });

  it('measures pairwise agreement as the Jaccard share of facts, null for ports that did not answer', () => {
    const result = tally([claims(0, CAPITAL, BOILING), claims(1, CAPITAL, WALL), claims(2, MOON), failed(3)], { panelSize: 4, quorum: 1, minResponders: 1 });
    expect(result.agreement).toEqual([
      [1, 0.333, 0, null],
      [0.333, 1, 0, null],
      [0, 0, 1, null],
      [null, null, null, null],
    ]);
  });

  it('sorts claims by support, then text', () => {
    const result = tally(
      [claims(0, WALL, MOON, BOILING), claims(1, WALL, BOILING, MOON), claims(2, CAPITAL, MOON)],
      { panelSize: 3, quorum: 2 },
    );
    expect(result.claims.map((c) => [c.text, c.support])).toEqual([
      [MOON, 3],
      [WALL, 2],
      [BOILING, 2],
    ].sort((a, b) => (b[1] as number) - (a[1] as number) || ((a[0] as string) < (b[0] as string) ? -1 : 1)));
  });

  it('counts one outcome per port, preferring an answer, whatever order duplicates come in', () => {
    const twice = [failed(0), claims(0, CAPITAL), claims(1, CAPITAL)];
    const result = tally(twice, { panelSize: 2 });
    expect(result.claims.map((c) => [c.text, c.support])).toEqual([[CAPITAL, 2]]);
    expect(result.failures).toEqual([]);
    expect(tally([...twice].reverse(), { panelSize: 2 })).toEqual(result);
  });

  it('uses an injected extractor and exposes the claims per port', () => {
    const detail = tallyDetailed([answer(0, `${CAPITAL}|${WALL}`), answer(1, `${WALL}|${MOON}`), failed(2)], {
      panelSize: 3,
      quorum: 2,
      extract: (text) => text.split('|'),
    });
    expect(detail.claimsByPort).toEqual([
      { port: 0, model: 'model-0', claims: [CAPITAL, WALL] },
      { port: 1, model: 'model-1', claims: [WALL, MOON] },
    ]);
    expect(detail.result.claims.map((c) => c.text)).toEqual([WALL]);
    expect(detail.clusters).toHaveLength(3);
  });
});

describe('tally properties', () => {
  const FACTS = [CAPITAL, BOILING, WALL, MOON, 'The Amazon is the largest rainforest on Earth.', 'Mount Everest is 8,849 metres tall.'];
  const failureKind = fc.constantFrom<FailureKind>('timeout', 'rate_limited', 'http', 'network', 'malformed', 'empty', 'auth', 'cancelled');
  /** Per port: a list of facts (possibly with case/punctuation variants), or a failure kind. */
  const ballot = fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.tuple(fc.constantFrom(...FACTS), fc.boolean()), { maxLength: 5 }) },
    { weight: 1, arbitrary: failureKind },
  );
  const run = fc.array(ballot, { minLength: 1, maxLength: 8 }).chain((ballots) =>
    fc.record({
      ballots: fc.constant(ballots),
      quorum: fc.option(fc.integer({ min: 1, max: ballots.length }), { nil: undefined }),
      minResponders: fc.option(fc.integer({ min: 1, max: ballots.length }), { nil: undefined }),
    }),
  );
  const outcomesOf = (ballots: (typeof ballot extends fc.Arbitrary<infer T> ? T : never)[]) =>
    ballots.map((b, port) =>
      typeof b === 'string' ? failed(port, b) : claims(port, ...b.map(([fact, shout]) => (shout ? fact.toUpperCase().replace(/\.$/, '!') : fact))),
    );

  it('gives the same result whatever order the outcomes arrive in', () => {
    fc.assert(
      fc.property(run, fc.infiniteStream(fc.nat()), ({ ballots, quorum, minResponders }, seeds) => {
        const outcomes = outcomesOf(ballots);
        const shuffled = outcomes
          .map((o) => ({ o, seed: seeds.next().value as number }))
          .sort((a, b) => a.seed - b.seed)
          .map((x) => x.o);
        const opts = { panelSize: ballots.length, quorum, minResponders };
        expect(tally(shuffled, opts)).toEqual(tally(outcomes, opts));
      }),
    );
  });

  it('gives the same votes when a port repeats its claims', () => {
    fc.assert(
      fc.property(run, fc.nat(), ({ ballots, quorum, minResponders }, which) => {
        const opts = { panelSize: ballots.length, quorum, minResponders };
        const port = which % ballots.length;
        const repeated = ballots.map((b, p) => (p === port && typeof b !== 'string' ? [...b, ...b, ...b.map(([f]) => [f, true] as [string, boolean])] : b));
        const votes = (o: ModelOutcome[]) => {
          const r = tally(o, opts);
          return { status: r.status, quorum: r.quorum, failures: r.failures, agreement: r.agreement, claims: r.claims.map((c) => c.ports), dissent: r.dissent.map((c) => c.ports) };
        };
        // Word-for-word repeats change nothing at all; case variants may only change which wording represents a fact.
        const exact = ballots.map((b, p) => (p === port && typeof b !== 'string' ? [...b, ...b] : b));
        expect(tally(outcomesOf(exact), opts)).toEqual(tally(outcomesOf(ballots), opts));
        const a = votes(outcomesOf(repeated));
        const b = votes(outcomesOf(ballots));
        expect({ ...a, claims: a.claims.sort(), dissent: a.dissent.sort() }).toEqual({ ...b, claims: b.claims.sort(), dissent: b.dissent.sort() });
      }),
    );
  });

  it('never gives a claim more support than responders, and passes only claims with the required support', () => {
    fc.assert(
      fc.property(run, ({ ballots, quorum, minResponders }) => {
        const r = tally(outcomesOf(ballots), { panelSize: ballots.length, quorum, minResponders });
        for (const c of [...r.claims, ...r.dissent]) {
          expect(c.support).toBe(c.ports.length);
          expect(c.support).toBeLessThanOrEqual(r.quorum.responders);
          expect(c.support).toBeLessThanOrEqual(ballots.length);
          expect(new Set(c.ports).size).toBe(c.ports.length);
        }
        for (const c of r.claims) expect(c.support).toBeGreaterThanOrEqual(r.quorum.required);
        for (const c of r.dissent) if (r.status !== 'quorum_lost') expect(c.support).toBeLessThan(r.quorum.required);
        if (r.status === 'quorum_lost') expect(r.claims).toEqual([]);
        expect(r.quorum.responders + r.failures.length).toBe(ballots.length);
      }),
    );
  });

  it('builds a symmetric agreement matrix in [0, 1] with nulls exactly for non-responders', () => {
    fc.assert(
      fc.property(run, ({ ballots }) => {
        const r = tally(outcomesOf(ballots), { panelSize: ballots.length, quorum: 1, minResponders: 1 });
        const failedPorts = new Set(r.failures.map((f) => f.port));
        r.agreement.forEach((row, i) =>
          row.forEach((v, j) => {
            expect(v).toBe(r.agreement[j]?.[i]);
            if (failedPorts.has(i) || failedPorts.has(j)) expect(v).toBeNull();
            else {
              expect(v).toBeGreaterThanOrEqual(0);
              expect(v).toBeLessThanOrEqual(1);
              if (i === j) expect(v).toBe(1);
            }
          }),
        );
      }),
    );
  });
});
