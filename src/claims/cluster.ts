/**
 * Groups the claims of all ports into candidate facts, one vote per port per fact.
 *
 * The panel may hold Byzantine members, so grouping must not let one claim decide for others:
 *
 * - Every cluster is a clique under the matcher: each wording is the same claim as every other
 *   wording in it (complete linkage). A broad catch-all claim ("Paris, capital, France, Seine,
 *   population…") that a lenient matcher finds "the same" as several distinct facts can
 *   therefore never chain them into one cluster, as single linkage would.
 * - Wordings whose matcher neighbourhood is itself a clique ("core" wordings) are grouped first;
 *   for them sameness is transitive, so their groups are simply connected components and need
 *   no merge order. Only then do the ambiguous wordings (bridges, catch-alls, paraphrase chains)
 *   join, each the best-supported cluster it fully agrees with. So a near-copy of one honest
 *   wording cannot pull it away from the cluster of all the others that say the same thing.
 * - A port counts once per cluster however often, or in however many wordings, it repeats.
 * - The result depends only on the set of (port, text) items, not on their order: ties are
 *   broken by text, never by position.
 *
 * Cost: one matcher call per pair of distinct claims (a second one when the first says "same"),
 * so about 51k calls for 8 ports × 40 claims; the matcher, not this code, dominates.
 */
import { claimKey } from './extract.js';
import { claimSimilarity, sameClaim } from './similarity.js';

export interface ClaimItem {
  port: number;
  text: string;
}

export interface Cluster {
  /** Representative wording: the one most ports used; tie → shortest → first in code-unit order. */
  text: string;
  /** Distinct supporting ports, ascending. */
  ports: number[];
  /** One entry per distinct wording per port (case/punctuation repeats collapsed), by port then text. */
  wordings: ClaimItem[];
}

export interface ClusterOptions {
  /** Do two claims state the same fact? Default: `sameClaim` from similarity.ts. */
  same?: (a: string, b: string) => boolean;
  /**
   * How alike two claims are, 0–1; only ranks clusters an ambiguous claim could join.
   * Default: `claimSimilarity`, or 1/0 from `same` when only `same` is given, so an injected
   * matcher is never mixed with the default one.
   */
  similarity?: (a: string, b: string) => number;
}

/**
 * Clusters every port's claims into candidate facts.
 *
 * @param items every claim of every port; repeats are fine and change nothing.
 */
export function clusterClaims(items: readonly ClaimItem[], opts: ClusterOptions = {}): Cluster[] {
  const same = opts.same ?? sameClaim;
  const similarity = opts.similarity ?? (opts.same ? (a: string, b: string) => (same(a, b) ? 1 : 0) : claimSimilarity);

  const groups = groupByKey(items);
  const k = groups.length;
  // Sameness is asked both ways: a one-sided "a covers b" is how a broad claim would sneak in.
  const compatible: Set<number>[] = groups.map(() => new Set());
  for (let a = 0; a < k; a++) {
    const ta = (groups[a] as KeyGroup).text;
    for (let b = a + 1; b < k; b++) {
      const tb = (groups[b] as KeyGroup).text;
      if (same(ta, tb) && same(tb, ta)) {
        (compatible[a] as Set<number>).add(b);
        (compatible[b] as Set<number>).add(a);
      }
    }
  }
  const areSame = (a: number, b: number) => (compatible[a] as Set<number>).has(b);

  const isCore = groups.map((_, v) => {
    const nbrs = [...(compatible[v] as Set<number>)];
    for (let i = 0; i < nbrs.length; i++) for (let j = i + 1; j < nbrs.length; j++) if (!areSame(nbrs[i] as number, nbrs[j] as number)) return false;
    return true;
  });

  // Core wordings: connected components, each a clique because a core wording's neighbours are
  // all the same as one another.
  const members: number[][] = [];
  const clusterOf = new Array<number>(k).fill(-1);
  for (let v = 0; v < k; v++) {
    if (!isCore[v] || clusterOf[v] !== -1) continue;
    const id = members.length;
    const component: number[] = [];
    const stack = [v];
    clusterOf[v] = id;
    while (stack.length > 0) {
      const u = stack.pop() as number;
      component.push(u);
      for (const w of compatible[u] as Set<number>) {
        if (isCore[w] && clusterOf[w] === -1) {
          clusterOf[w] = id;
          stack.push(w);
        }
      }
    }
    members.push(component.sort((x, y) => x - y));
  }

  // Ambiguous wordings, least ambiguous first so catch-alls come last, when clusters are settled.
  const ambiguous = groups
    .map((_, v) => v)
    .filter((v) => !isCore[v])
    .sort((x, y) => (compatible[x] as Set<number>).size - (compatible[y] as Set<number>).size || x - y);
  const portsOf = (cluster: number[]) => new Set(cluster.flatMap((g) => [...(groups[g] as KeyGroup).byPort.keys()])).size;
  const linkage = (v: number, cluster: number[]) => {
    const tv = (groups[v] as KeyGroup).text;
    let min = Infinity;
    for (const g of cluster) {
      const tg = (groups[g] as KeyGroup).text;
      min = Math.min(min, finite(similarity(tv, tg)), finite(similarity(tg, tv)));
    }
    return min;
  };
  for (const v of ambiguous) {
    let best = -1;
    let bestPorts = -1;
    let bestLink = -Infinity;
    for (let c = 0; c < members.length; c++) {
      const cluster = members[c] as number[];
      if (!cluster.every((g) => areSame(v, g))) continue;
      const ports = portsOf(cluster);
      const link = ports >= bestPorts ? linkage(v, cluster) : -Infinity;
      if (ports > bestPorts || (ports === bestPorts && link > bestLink)) {
        best = c;
        bestPorts = ports;
        bestLink = link;
      }
    }
    if (best < 0) members.push([v]);
    else (members[best] as number[]).push(v);
  }

  return members.map((cluster) => toCluster(cluster.map((g) => groups[g] as KeyGroup))).sort(byStrength);
}

/** A set of wordings that differ only in case and punctuation: always the same claim. */
interface KeyGroup {
  key: string;
  /** The text the matcher sees: the wording most ports used (tie → shortest → first), so one
   * port shouting its copy in capitals cannot change how the matcher sees everyone's claim. */
  text: string;
  /** port → that port's wording (the first in code-unit order if it repeated). */
  byPort: Map<number, string>;
}

/** Collapses case/punctuation repeats, per port and across ports, into groups in key order. */
function groupByKey(items: readonly ClaimItem[]): KeyGroup[] {
  const byKey = new Map<string, KeyGroup>();
  for (const { port, text } of items) {
    if (typeof text !== 'string') continue;
    const trimmed = text.trim();
    const key = claimKey(trimmed);
    if (key.length === 0) continue;
    let group = byKey.get(key);
    if (group === undefined) {
      group = { key, text: trimmed, byPort: new Map() };
      byKey.set(key, group);
    }
    const previous = group.byPort.get(port);
    if (previous === undefined || trimmed < previous) group.byPort.set(port, trimmed);
  }
  for (const group of byKey.values()) group.text = mostUsed([...group.byPort.values()]);
  return [...byKey.values()].sort((a, b) => compareText(a.key, b.key));
}

/** The text that occurs most often in `texts` (one entry per port); tie → shortest → first. */
function mostUsed(texts: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  let best = '';
  let bestCount = 0;
  for (const [text, count] of counts) {
    if (count > bestCount || (count === bestCount && (text.length < best.length || (text.length === best.length && text < best)))) {
      best = text;
      bestCount = count;
    }
  }
  return best;
}

function toCluster(groups: KeyGroup[]): Cluster {
  const wordings = groups
    .flatMap((g) => [...g.byPort].map(([port, text]) => ({ port, text })))
    .sort((a, b) => a.port - b.port || compareText(a.text, b.text));
  const ports = [...new Set(wordings.map((w) => w.port))].sort((a, b) => a - b);

  // Ports per wording counted by key, so "Paris is…" and "paris is…" pool their votes.
  const portsByKey = new Map(groups.map((g) => [g.key, g.byPort.size] as const));
  const portsByText = new Map<string, number>();
  for (const w of wordings) portsByText.set(w.text, (portsByText.get(w.text) ?? 0) + 1);
  const candidates = [...portsByText.keys()].map((text) => ({ text, keyPorts: portsByKey.get(claimKey(text)) ?? 0, textPorts: portsByText.get(text) ?? 0 }));
  candidates.sort((a, b) => b.keyPorts - a.keyPorts || b.textPorts - a.textPorts || a.text.length - b.text.length || compareText(a.text, b.text));
  return { text: candidates[0]?.text ?? '', ports, wordings };
}

function byStrength(a: Cluster, b: Cluster): number {
  return b.ports.length - a.ports.length || compareText(a.text, b.text);
}

/** Code-unit order: unlike localeCompare, the same on every machine. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}
