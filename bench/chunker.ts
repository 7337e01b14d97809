/**
 * Batch input side: how fast files are checked and chunked, how much memory that holds, and how
 * long resolving a folder of 10,000 files takes. Everything runs in-process on generated files
 * in a temporary folder (removed afterwards):
 *
 * 1. 100 MB of Markdown (sections, 5-line paragraphs, a code fence every fifth section) through
 *    `chunkFile` with the default budget (1500), with overlap 150, and through `checkTextFile`
 *    alone (the validation pass `chunkFile` makes first).
 * 2. Shapes that stress the packer: 1M one-word paragraphs, and a 1M-line paragraph with no
 *    blank line or sentence end (50 MB), chunked from memory-free generators.
 * 3. `resolveInputs` over 10,000 files in 100 folders: the folder, and a `**` glob.
 *
 * Memory is the live heap (after a forced GC, sampled every 500 chunks) above the level before
 * the run, so garbage awaiting collection is not counted.
 *
 * Run by `npm run bench` once listed in bench/run.ts; `npx tsx bench/chunker.ts` runs it alone
 * without writing.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Chunk, chunkFile, chunkLines } from '../src/batch/chunker.js';
import { resolveInputs } from '../src/batch/inputs.js';
import { checkTextFile } from '../src/batch/readTextLines.js';
import { type BenchContext, type BenchReport, machineInfo, machineLine, mdTable, spread, textTable } from './harness.js';

const REPS = Number(process.env.QUORUM_BENCH_REPS ?? 3);
const MB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Measure {
  ms: number;
  chunks: number;
  maxTokens: number;
  /** Peak live heap above the start, MB. */
  heapMb: number;
}

async function measure(chunks: () => AsyncIterable<Chunk>): Promise<Measure> {
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  let count = 0;
  let maxTokens = 0;
  const t0 = performance.now();
  for await (const chunk of chunks()) {
    count++;
    maxTokens = Math.max(maxTokens, chunk.tokens);
    if (count % 500 === 0) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    }
  }
  return { ms: performance.now() - t0, chunks: count, maxTokens, heapMb: peak / MB };
}

/** ~1 MB of Markdown written `times` over; returns the bytes written. */
function writeMarkdown(path: string, megabytes: number): number {
  const code = ['```ts', ...Array.from({ length: 8 }, (_, l) => `const value${l} = compute(${l}, "code");`), '```', ''];
  const out: string[] = [];
  for (let section = 1; section <= 1800; section++) {
    out.push(`## Section ${section}`, '');
    for (let p = 0; p < 6; p++) {
      for (let l = 0; l < 5; l++) out.push(`Line ${l} of paragraph ${p} in section ${section} says something about the batch input.`);
      out.push('');
    }
    if (section % 5 === 0) out.push(...code);
  }
  const piece = Buffer.from(`${out.join('\n')}\n`);
  const fd = openSync(path, 'w');
  let bytes = 0;
  for (; bytes < megabytes * MB; bytes += piece.length) writeSync(fd, piece);
  closeSync(fd);
  return bytes;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const start = machineInfo();
  const dir = mkdtempSync(join(tmpdir(), 'quorum-bench-chunker-'));
  try {
    const big = join(dir, 'big.md');
    const bytes = writeMarkdown(big, 100);
    const mb = bytes / MB;
    const rows: string[][] = [];
    const row = (what: string, runs: Measure[], sizeMb?: number) => {
      const last = runs[runs.length - 1]!;
      rows.push([
        what,
        spread(runs.map((r) => r.ms / 1000), 2),
        sizeMb === undefined ? '–' : spread(runs.map((r) => sizeMb / (r.ms / 1000)), 0),
        String(last.chunks),
        String(last.maxTokens),
        spread(runs.map((r) => r.heapMb), 1),
      ]);
      ctx.log(`${what}: ${rows[rows.length - 1]!.slice(1).join(' | ')}`);
    };

    const reps = async (f: () => Promise<Measure>) => {
      const out: Measure[] = [];
      for (let i = 0; i < REPS; i++) out.push(await f());
      return out;
    };
    row(`chunkFile, ${mb.toFixed(0)} MB Markdown, budget 1500`, await reps(() => measure(() => chunkFile(big))), mb);
    row(`chunkFile, same, overlap 150`, await reps(() => measure(() => chunkFile(big, { overlapTokens: 150 }))), mb);
    const checks: Measure[] = [];
    for (let i = 0; i < REPS; i++) {
      const t0 = performance.now();
      await checkTextFile(big);
      checks.push({ ms: performance.now() - t0, chunks: 0, maxTokens: 0, heapMb: 0 });
    }
    row(`checkTextFile alone (NUL, UTF-8, empty)`, checks, mb);
    function* words(n: number) {
      for (let i = 0; i < n; i++) yield* [`w${i % 10}`, ''];
    }
    function* longParagraph(n: number) {
      for (let i = 0; i < n; i++) yield `line ${i} of one very long paragraph with no blank line`;
    }
    row('chunkLines, 1M one-word paragraphs', await reps(() => measure(() => chunkLines(words(1_000_000), { source: 'w.md' }))));
    row('chunkLines, one 1M-line paragraph (50 MB)', await reps(() => measure(() => chunkLines(longParagraph(1_000_000), { source: 'p.md', overlapTokens: 150 }))), 50);

    // 10,000 files in 100 folders, half of them Markdown.
    const tree = join(dir, 'tree');
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(tree, `part-${d}`, 'nested'), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(tree, `part-${d}`, f % 2 ? `doc-${f}.md` : join('nested', `n-${f}.txt`)), 'x');
    }
    const resolveRows: string[][] = [];
    for (const pattern of ['tree', 'tree/**/*.md']) {
      const times: number[] = [];
      let files = 0;
      for (let i = 0; i < REPS; i++) {
        const t0 = performance.now();
        files = (await resolveInputs([pattern], { cwd: dir })).files.length;
        times.push(performance.now() - t0);
      }
      resolveRows.push([`resolveInputs "${pattern}"`, `${files} files`, `${spread(times, 0)} ms`]);
      ctx.log(resolveRows[resolveRows.length - 1]!.join(' | '));
    }

    const header = ['what', 'seconds', 'MB/s', 'chunks', 'max tokens', 'live heap MB'];
    const mline = machineLine(start, loadavg()[0] ?? 0);
    const notes = [
      `Median (min–max) of ${REPS} runs. Live heap: peak above the start after a forced GC, sampled every 500 chunks.`,
      '`chunkFile` reads each file twice: the check pass, then the chunking stream.',
    ];
    const markdown = [mdTable(header, rows), '', mdTable(['inputs', 'found', 'time'], resolveRows), '', ...notes.map((n) => `- ${n}`), '', mline].join('\n');
    const table = [textTable(header, rows), '', textTable(['inputs', 'found', 'time'], resolveRows), '', ...notes, mline].join('\n');
    return { id: 'chunker', heading: 'batch inputs: chunking speed and memory', markdown, table };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Alone: `npx tsx bench/chunker.ts` prints the tables without touching BENCHMARKS.md.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run({ repoRoot: process.cwd(), log: (l) => console.log(l) }).then((r) => console.log(`\n${r.table}`));
}
