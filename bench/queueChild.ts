/**
 * For bench/queue.ts: where a `quorum worker`'s (or a local batch's) main thread spends its time,
 * from a V8 `.cpuprofile` (`node --cpu-prof`), grouped by module.
 *
 * bench/batchProfile.ts splits a batch's time into categories made for the batch (run-log writer,
 * span export, …); a worker's own costs (the NATS client, encoding results, the event bus) would
 * all land in its "rest". Here each sample's time goes to the module of the innermost frame on its
 * stack that is quorum's own code or a package (so `JSON.stringify` called by
 * src/queue/messages.ts counts for that module); a stack with neither goes to its leaf's kind
 * (a Node internal, a native function, GC, idle). Module loading (start-up) is a group of its own.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ModuleShares {
  /** Length of the profile, ms. */
  totalMs: number;
  /** Time per group, largest first, ms. */
  groups: { group: string; ms: number }[];
}

/** `// <path>` lines esbuild puts where each module's code starts (as bench/batchProfile.ts reads them). */
const MARKER = /^\/\/ ((?:src|node_modules)\/\S+)$/;

/** A bundle frame's module path (`src/queue/messages.ts`, `node_modules/@nats-io/…`), or undefined for other frames. */
function bundleModule(): (f: CallFrame) => string | undefined {
  const chunks = new Map<string, [number, string][]>();
  return (f) => {
    if (!f.url.startsWith('file:') || !/\/dist\/bin\/[^/]+\.js$/.test(f.url)) return undefined;
    let markers = chunks.get(f.url);
    if (!markers) {
      markers = [];
      try {
        readFileSync(fileURLToPath(f.url), 'utf8')
          .split('\n')
          .forEach((line, i) => {
            const m = MARKER.exec(line);
            if (m) markers!.push([i, m[1]!]);
          });
      } catch {
        // Unreadable chunk: its frames stay unnamed.
      }
      chunks.set(f.url, markers);
    }
    let path: string | undefined;
    for (const [line, p] of markers) {
      if (line > f.lineNumber) break;
      path = p;
    }
    return path;
  };
}

/** A package by its name (`@nats-io/jetstream`, `openai`), quorum's code by its file under src/. */
function groupOfPath(path: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  return path.replace(/\.(ts|js)$/, '');
}

/** The group of samples taken while modules load and run their top-level code. */
export const START_UP = '(start-up: loading modules)';

export function moduleShares(profilePath: string): ModuleShares {
  const p = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const moduleOf = bundleModule();
  const groupCache = new Map<number, string>();
  const groupFor = (id: number): string => {
    const cached = groupCache.get(id);
    if (cached) return cached;
    const leaf = byId.get(id)!.callFrame;
    let group: string | undefined;
    // Start-up first: a module's top-level code runs under the loader, and belongs to neither the module nor the calls.
    for (let cur: number | undefined = id; cur !== undefined && !group; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.url.startsWith('node:internal/modules/') || f.functionName === 'compileSourceTextModule') group = START_UP;
    }
    for (let cur: number | undefined = id; cur !== undefined && !group; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const path = moduleOf(f) ?? (f.url.includes('/node_modules/') ? f.url : undefined);
      if (path) group = groupOfPath(path);
    }
    if (!group) {
      if (/^\(.*\)$/.test(leaf.functionName)) group = leaf.functionName;
      else if (leaf.url.startsWith('node:')) group = leaf.url.replace(/^(node:(?:internal\/)?(?:deps\/)?[^/]+).*$/, '$1');
      else group = `(native) ${leaf.functionName || 'anonymous'}`;
    }
    groupCache.set(id, group);
    return group;
  };
  const us = new Map<string, number>();
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // Sample i lasts until sample i + 1.
    const d = p.timeDeltas[i + 1] ?? 0;
    totalUs += d;
    const g = groupFor(p.samples[i]!);
    us.set(g, (us.get(g) ?? 0) + d);
  }
  return {
    totalMs: totalUs / 1000,
    groups: [...us]
      .map(([group, t]) => ({ group, ms: t / 1000 }))
      .sort((a, b) => b.ms - a.ms),
  };
}
