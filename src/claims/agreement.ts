/**
 * agreement[i][j] = |facts both i and j support| / |facts i or j supports| (Jaccard), to three
 * decimals; 1 on the diagonal of a responder; null in any row or column of a non-responder.
 */
export function agreementMatrix(facts: readonly { ports: readonly number[] }[], responders: ReadonlySet<number>, n: number): (number | null)[][] {
  const factsOf = Array.from({ length: n }, () => new Set<number>());
  facts.forEach((f, idx) => {
    for (const p of f.ports) factsOf[p]?.add(idx);
  });
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      if (!responders.has(i) || !responders.has(j)) return null;
      if (i === j) return 1;
      const a = factsOf[i]!;
      const b = factsOf[j]!;
      let both = 0;
      for (const f of a) if (b.has(f)) both++;
      const either = a.size + b.size - both;
      return either === 0 ? 0 : Math.round((both / either) * 1000) / 1000;
    }),
  );
}
