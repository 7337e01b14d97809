import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPool, DEFAULT_MAX_CANDIDATES, MAX_POOL, type PoolCluster } from '../../src/claims/candidates.js';

const cluster = (text: string, ports: number[], extra: Partial<PoolCluster> = {}): PoolCluster => ({
  text,
  ports,
  wordings: ports.map((port) => ({ port, text })),
  ...extra,
});

describe('buildPool', () => {
  it('never leaves out a fact more ports stand behind for one fewer stand behind (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ proposers: fc.integer({ min: 1, max: 8 }), attesters: fc.integer({ min: 0, max: 4 }), strength: fc.double({ min: 0, max: 8, noNaN: true }) }), { maxLength: 150 }),
        fc.integer({ min: 1, max: 60 }),
        (specs, max) => {
          const clusters = specs.map((s, i) =>
            cluster(`fact ${i}`, Array.from({ length: s.proposers }, (_, p) => p), {
              supporters: Array.from({ length: Math.min(12, s.proposers + s.attesters) }, (_, p) => p),
              strength: s.strength,
            }),
          );
          const { candidates, leftOut } = buildPool(clusters, max);
          expect(candidates.length + leftOut.length).toBe(clusters.length);
          const support = new Map(clusters.map((c) => [c.text, c.supporters!.length]));
          const weakestIn = Math.min(...candidates.map((c) => support.get(c.text)!));
          for (const c of leftOut) expect(c.supporters!.length).toBeLessThanOrEqual(weakestIn);
          expect(candidates.length).toBe(Math.min(clusters.length, Math.max(max, Math.min(MAX_POOL, clusters.filter((c) => c.supporters!.length >= 2).length))));
          expect(candidates.map((c) => c.id)).toEqual(candidates.map((_, i) => `c${i + 1}`));
        },
      ),
    );
  });

  it('grows past the default cap to hold every fact two ports stand behind, and says what it left out', () => {
    const backed = Array.from({ length: 50 }, (_, i) => cluster(`backed ${i}`, [0], { supporters: [0, 1], strength: 1.5 }));
    const single = Array.from({ length: 30 }, (_, i) => cluster(`single ${i}`, [2], { supporters: [2], strength: 1 + i / 100 }));
    const { candidates, leftOut } = buildPool([...single, ...backed]);
    expect(candidates).toHaveLength(50);
    expect(candidates.every((c) => c.text.startsWith('backed'))).toBe(true);
    expect(leftOut).toHaveLength(30);
    // Among equals the stronger goes first.
    expect(leftOut[0]?.text).toBe('single 29');
    expect(DEFAULT_MAX_CANDIDATES).toBeLessThan(50);
  });

  it('ranks equal support by strength, then by the clusters\' own order', () => {
    const { candidates } = buildPool([cluster('a', [0], { supporters: [0, 1], strength: 1.2 }), cluster('b', [1], { supporters: [0, 1], strength: 1.9 }), cluster('c', [2, 3])]);
    expect(candidates.map((c) => c.text)).toEqual(['b', 'a', 'c']);
    expect(candidates[0]?.proposers).toEqual([1]);
  });

  it('refuses a cap that is not a positive integer', () => {
    expect(() => buildPool([], 0)).toThrow(RangeError);
    expect(() => buildPool([], 1.5)).toThrow(RangeError);
  });
});
