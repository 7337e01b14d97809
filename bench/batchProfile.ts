/**
 * Reads a V8 `.cpuprofile` (`node --cpu-prof`) of a `quorum batch` child and splits the main
 * thread's time into named shares. Each sample's time (the gap to the next sample) goes to the
 * FIRST category in {@link CATEGORIES} that matches any frame of its stack, so the shares are
 * disjoint and add up to the profile's length; a category is "this code and everything it
 * called". The sampler records a blocking syscall (an `fsync`) under the JS frame that made it.
 *
 * The `quorum` binary is an esbuild bundle (dist/bin/*.js), so a frame's URL names a bundle
 * chunk, not the module. esbuild marks where each module's code starts with a comment line
 * (`// src/runlog/logWriter.ts`, `// node_modules/openai/client.mjs`); a bundle frame is given the
 * path of the last marker at or above its line, so the categories match the bundle and the
 * unbundled tsc output (dist/runlog/logWriter.js) alike.
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
  startTime: number;
  endTime: number;
}

type Match = (f: CallFrame) => boolean;
/** A module of quorum's own, by its path under src/ without extension: tsc's output or a bundle marker. */
const own = (path: string) => [`dist/${path}.js`, `src/${path}.ts`];
/** Frames of any module under a folder of quorum's own (`runlog/`). */
const ownDir = (dir: string) => [`dist/${dir}`, `src/${dir}`];
const fn = (name: string, urlParts: string | string[]): Match => (f) => f.functionName === name && [urlParts].flat().some((part) => f.url.includes(part));
const url = (...parts: (string | string[])[]): Match => (f) => parts.flat().some((part) => f.url.includes(part));
const any = (...ms: Match[]): Match => (f) => ms.some((m) => m(f));
const has = (stack: CallFrame[], name: string) => stack.some((f) => f.functionName === name);
const hasUrl = (stack: CallFrame[], parts: string[]) => stack.some((f) => parts.some((part) => f.url.includes(part)));

export interface Category {
  id: string;
  label: string;
  match: Match;
  /** Parts reported inside the category: the share of its time whose stack passes `test`. */
  parts?: { label: string; test: (stack: CallFrame[]) => boolean }[];
}

/** In priority order: a sample belongs to the first category any of its frames matches. */
export const CATEGORIES: Category[] = [
  {
    id: 'views',
    label: 'per-run view files (`renderViews` → `writeRunFiles`: runs/<id>/…, only with `--run-files`)',
    match: url(own('runlog/runFiles'), own('render/consensusMarkdown')),
  },
  {
    id: 'runlog',
    label: 'run-log writer (src/runlog/: `LogWriter.write` → `toJsonLine` for every line, group commits on libuv\'s pool, folder lock)',
    match: any(url(ownDir('runlog/')), fn('toJsonLine', own('sinks/json'))),
    parts: [
      { label: 'lines to JSON (`toJsonLine`, every event, span, answer and run line)', test: (stack) => has(stack, 'toJsonLine') },
      { label: 'commits (`#run`, `#commitLog`: join, `Buffer.from`, append and fdatasync callbacks)', test: (stack) => !has(stack, 'toJsonLine') && !hasUrl(stack, own('runlog/folderLock')) },
      { label: 'folder lock (`FolderLock.acquire`/`release`: link + unlink per commit)', test: (stack) => hasUrl(stack, own('runlog/folderLock')) },
    ],
  },
  {
    id: 'spans',
    label: 'span export (`JsonlSpanProcessor.onEnd` → `spanToLine`; its JSON is in the run-log row)',
    match: url(own('tracing/jsonlSpanExporter')),
  },
  {
    id: 'events',
    label: 'building events (`makeEvent`: id, time, checks)',
    match: fn('makeEvent', own('events')),
  },
  {
    id: 'otel',
    label: 'OpenTelemetry span bookkeeping (start, attributes, end)',
    match: url('@opentelemetry/'),
  },
  {
    id: 'claims',
    label: 'claims: extraction, matching, tally (`gatherVotes`, src/claims/)',
    match: url(ownDir('claims/'), own('operators/gatherVotes')),
  },
  {
    id: 'recorder',
    label: 'recorder\'s own work otherwise (`RunRecorder`: answer and run lines, blackboard signal; src/run/recorder.ts)',
    match: url(own('run/recorder')),
  },
  {
    id: 'http',
    label: 'HTTP client: openai SDK, fetch (undici), SSE parsing',
    match: any(url('node_modules/openai/'), url('deps/undici'), (f) => f.functionName === 'fetch'),
  },
  {
    id: 'chunker',
    label: 'chunker: reading and splitting the input (counting pass included)',
    match: url(own('batch/chunker'), own('batch/readTextLines'), own('batch/segments'), own('batch/blocks'), own('batch/estimateTokens')),
  },
  {
    id: 'modules',
    label: 'module loading (start-up)',
    match: any(url('node:internal/modules/'), (f) => f.functionName === 'compileSourceTextModule'),
  },
  { id: 'gc', label: 'garbage collector', match: (f) => f.functionName === '(garbage collector)' },
  { id: 'idle', label: 'idle (event loop waiting)', match: (f) => f.functionName === '(idle)' },
];

export interface ProfileShare {
  id: string;
  label: string;
  ms: number;
  share: number;
  parts: { label: string; ms: number; share: number }[];
}

export interface ProfileSummary {
  totalMs: number;
  shares: ProfileShare[];
  /** The functions with the most self time. */
  topSelf: { name: string; ms: number; share: number }[];
}

/** `// <path>` lines that esbuild puts where each module's code starts: [line (0-based), path]. */
const MARKER = /^\/\/ ((?:src|node_modules)\/\S+)$/;
function bundleMarkers(file: string): [number, string][] {
  const markers: [number, string][] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const m = MARKER.exec(line);
      if (m) markers.push([i, m[1]!]);
    });
  return markers;
}

/** A frame in a bundle chunk gets `bundle:<module path>` as its URL; other frames are left as they are. */
function unbundler(): (f: CallFrame) => CallFrame {
  const chunks = new Map<string, [number, string][]>();
  return (f) => {
    if (!/\/dist\/bin\/[^/]+\.js$/.test(f.url) || !f.url.startsWith('file:')) return f;
    let markers = chunks.get(f.url);
    if (!markers) {
      try {
        markers = bundleMarkers(fileURLToPath(f.url));
      } catch {
        markers = [];
      }
      chunks.set(f.url, markers);
    }
    let path: string | undefined;
    for (const [line, p] of markers) {
      if (line > f.lineNumber) break;
      path = p;
    }
    return path ? { ...f, url: `bundle:${path}` } : f;
  };
}

export function summariseProfile(path: string, topN = 8): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  const unbundle = unbundler();
  for (const n of p.nodes) {
    byId.set(n.id, { ...n, callFrame: unbundle(n.callFrame) });
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // Time per node: sample i lasts until sample i + 1 (timeDeltas[i + 1]).
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + d);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const rest: Category = { id: 'rest', label: 'the rest: RxJS plumbing, pipeline logic, Node internals', match: () => true };
  const cats = [...CATEGORIES, rest];
  const catUs = new Map<string, number>();
  const partUs = new Map<string, number>();
  const selfByName = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const stack: CallFrame[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur)!.callFrame);
    const cat = cats.find((c) => stack.some((f) => c.match(f)))!;
    catUs.set(cat.id, (catUs.get(cat.id) ?? 0) + us);
    for (const part of cat.parts ?? []) {
      if (part.test(stack)) partUs.set(`${cat.id}\0${part.label}`, (partUs.get(`${cat.id}\0${part.label}`) ?? 0) + us);
    }
    const leaf = stack[0]!;
    // A bundle frame's line is the chunk's, not the module's: only the module is named.
    const where = leaf.url.startsWith('bundle:') ? shortUrl(leaf.url) : `${shortUrl(leaf.url)}:${leaf.lineNumber + 1}`;
    const name = `${leaf.functionName || '(anonymous)'}${leaf.url ? ` (${where})` : ''}`;
    selfByName.set(name, (selfByName.get(name) ?? 0) + us);
  }
  const total = totalUs / 1000;
  return {
    totalMs: total,
    shares: cats.map((c) => {
      const ms = (catUs.get(c.id) ?? 0) / 1000;
      return {
        id: c.id,
        label: c.label,
        ms,
        share: ms / total,
        parts: (c.parts ?? []).map((part) => {
          const pms = (partUs.get(`${c.id}\0${part.label}`) ?? 0) / 1000;
          return { label: part.label, ms: pms, share: pms / total };
        }),
      };
    }),
    topSelf: [...selfByName]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / 1000 / total })),
  };
}

function shortUrl(u: string): string {
  return u
    .replace(/^file:\/\/.*?\/node_modules\//, '')
    .replace(/^file:\/\/.*?\/dist\//, 'dist/')
    .replace(/^bundle:node_modules\//, '')
    .replace(/^bundle:/, '');
}
