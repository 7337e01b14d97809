/**
 * Reads a V8 `.cpuprofile` (`node --cpu-prof`) of a `quorum batch` child and splits the main
 * thread's time into named shares. Each sample's time (the gap to the next sample) goes to the
 * FIRST category in {@link CATEGORIES} that matches any frame of its stack, so the shares are
 * disjoint and add up to the profile's length; a category is "this code and everything it
 * called". The sampler records a blocking syscall (an `fsync`) under the JS frame that made it.
 */
import { readFileSync } from 'node:fs';

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
const fn = (name: string, urlPart: string): Match => (f) => f.functionName === name && f.url.includes(urlPart);
const url = (part: string): Match => (f) => f.url.includes(part);
const any = (...ms: Match[]): Match => (f) => ms.some((m) => m(f));
const isSyncDir = fn('syncDirSync', 'sinks/writeJsonAtomic.js');
const has = (stack: CallFrame[], name: string) => stack.some((f) => f.functionName === name);

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
    id: 'atomic',
    label: 'atomic file writes under `runs/` (`writeFileAtomicSync`: responses/port_N.json, consensus.json, consensus.md)',
    match: fn('writeFileAtomicSync', 'sinks/writeJsonAtomic.js'),
    parts: [
      { label: 'fsync of the file', test: (stack) => has(stack, 'fsyncSync') && !stack.some(isSyncDir) },
      { label: 'fsync of the folder (`syncDirSync`)', test: (stack) => stack.some(isSyncDir) },
      { label: '`mkdirSync` (recursive, every file)', test: (stack) => has(stack, 'mkdirSync') },
      { label: '`openSync` of the temp file', test: (stack) => has(stack, 'openSync') && !stack.some(isSyncDir) },
      { label: 'temp file name (`randomBytes`)', test: (stack) => has(stack, 'randomBytes') },
      { label: '`writeSync` + `closeSync`', test: (stack) => (has(stack, 'writeSync') || has(stack, 'closeSync')) && !stack.some(isSyncDir) },
      { label: '`renameSync`', test: (stack) => has(stack, 'renameSync') },
    ],
  },
  {
    id: 'serialise',
    label: 'JSON of those files (`writeJsonAtomicSync` → `serialise`)',
    match: fn('serialise', 'sinks/writeJsonAtomic.js'),
  },
  {
    id: 'spans',
    label: 'span export to traces.jsonl (`SimpleSpanProcessor` → `JsonlSpanExporter`, one sync write per span)',
    match: any(fn('onEnd', 'SimpleSpanProcessor.js'), url('tracing/jsonlSpanExporter.js')),
  },
  {
    id: 'cloudevents',
    label: 'CloudEvent validation (`makeEvent` → `new CloudEvent`, cloudevents SDK)',
    match: url('node_modules/cloudevents/'),
  },
  {
    id: 'jsonl',
    label: 'JSONL appends: cloudevents.jsonl, ledger.jsonl, blackboard.jsonl (`JsonlSink.write`)',
    match: fn('write', 'sinks/jsonlSink.js'),
  },
  {
    id: 'events',
    label: 'building events otherwise (`makeEvent`: id, time, checks)',
    match: fn('makeEvent', 'dist/events.js'),
  },
  {
    id: 'otel',
    label: 'OpenTelemetry span bookkeeping (start, attributes, end)',
    match: url('@opentelemetry/'),
  },
  {
    id: 'claims',
    label: 'claims: extraction, matching, tally (`gatherVotes`, `dist/claims/`)',
    match: any(url('dist/claims/'), url('operators/gatherVotes.js')),
  },
  {
    id: 'http',
    label: 'HTTP client: openai SDK, fetch (undici), SSE parsing',
    match: any(url('node_modules/openai/'), url('deps/undici'), (f) => f.functionName === 'fetch'),
  },
  {
    id: 'chunker',
    label: 'chunker: reading and splitting the input (counting pass included)',
    match: any(url('dist/batch/chunker.js'), url('dist/batch/readTextLines.js'), url('dist/batch/segments.js'), url('dist/batch/blocks.js'), url('dist/batch/estimateTokens.js')),
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

export function summariseProfile(path: string, topN = 8): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // Time per node: sample i lasts until sample i + 1 (timeDeltas[i + 1]).
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + d);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const rest: Category = { id: 'rest', label: 'the rest: RxJS plumbing, recorder and pipeline logic, Node internals', match: () => true };
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
    const name = `${leaf.functionName || '(anonymous)'}${leaf.url ? ` (${shortUrl(leaf.url)}:${leaf.lineNumber + 1})` : ''}`;
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
  return u.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/dist\//, 'dist/');
}
