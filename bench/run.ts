/**
 * `npm run bench` (after `npm run build`): runs every benchmark module listed below, prints its
 * table, and rewrites that module's own marked section of BENCHMARKS.md, keeping every other
 * section (the claim matcher's has its own script, `npm run eval:matcher`, and is not run here).
 *
 *   npm run bench                       # all modules, update BENCHMARKS.md
 *   npm run bench -- --only ask         # one module (by id)
 *   npm run bench -- --no-write         # print only
 *
 * To add a benchmark: write `bench/<name>.ts` exporting `run(ctx): Promise<BenchReport>`
 * (see `bench/harness.ts`) and add one line to MODULES.
 */
import { type BenchModule, machineInfo, repoRoot, writeSection } from './harness.js';

/** Benchmark modules, run in this order. Not `evalMatcher` (it has its own script and data). */
const MODULES: { id: string; load: () => Promise<BenchModule> }[] = [
  { id: 'ask', load: () => import('./ask.js') },
  { id: 'batch', load: () => import('./batch.js') },
  { id: 'sql', load: () => import('./sql.js') },
  { id: 'chunker', load: () => import('./chunker.js') },
  { id: 'queue', load: () => import('./queue.js') },
];

async function main(argv: string[]): Promise<number> {
  const write = !argv.includes('--no-write');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1]?.split(',') : undefined;
  const unknown = only?.filter((id) => !MODULES.some((m) => m.id === id)) ?? [];
  if (unknown.length) {
    process.stderr.write(`Unknown benchmark(s): ${unknown.join(', ')}; known: ${MODULES.map((m) => m.id).join(', ')}\n`);
    return 2;
  }
  const m0 = machineInfo();
  console.log(`quorum benchmarks — Node ${m0.node}, ${m0.nproc} CPU(s), ${m0.cpuModel}, load ${m0.load1.toFixed(2)}, ${m0.date}`);
  let failed = 0;
  for (const entry of MODULES) {
    if (only && !only.includes(entry.id)) continue;
    console.log(`\n== ${entry.id} ==`);
    const t0 = Date.now();
    try {
      const mod = await entry.load();
      const report = await mod.run({ repoRoot, log: (line) => console.log(line) });
      console.log(`\n${report.table}`);
      if (write) {
        writeSection(report);
        console.log(`\nBENCHMARKS.md: section "${report.id}" rewritten.`);
      }
    } catch (error) {
      failed++;
      console.error(`benchmark ${entry.id} failed: ${(error as Error).stack ?? String(error)}`);
    }
    console.log(`(${entry.id}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
