// The import-direction rule (ARCHITECTURE.md "Layers"): every file under src/ belongs to one
// layer, and a file may import only from its own layer or a lower one. A back-edge (a lower layer
// importing a higher one) is how a tidy tree turns into a ball: the next change to the higher
// module ripples down into code that should not know it exists. Run by test/architecture/
// layers.test.ts (so by `npm test`) and by hand:
//
//   node scripts/layers.mjs [srcDir]      exit 0: no back-edge; 1: back-edges or unplaced files, one per line
//   node scripts/layers.mjs --layers      the order below as JSON, for the test that matches ARCHITECTURE.md
//
// Specifiers come from TypeScript's own pre-processor (static imports, `import type`, `export … from`
// and dynamic `import()`), so a multi-line import or one inside a comment-free template is still seen.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Lowest first. A member is a folder under src/ (`claims` holds `claims/matcher/…` too) or one
 * root file (`types.ts`). Keep this list and ARCHITECTURE.md's table in the same order: the test
 * compares them.
 */
export const LAYERS = [
  { name: 'base', members: ['types.ts', 'events.ts', 'errors.ts'] },
  { name: 'models', members: ['models'] },
  { name: 'claims', members: ['claims'] },
  { name: 'sinks', members: ['sinks'] },
  { name: 'render', members: ['render'] },
  { name: 'tracing', members: ['tracing'] },
  { name: 'runlog', members: ['runlog'] },
  { name: 'ratelimit', members: ['ratelimit'] },
  { name: 'operators', members: ['operators'] },
  // Above the operators (an operator works on any stream, not on batch inputs), below the
  // pipelines (the batch and watch pipelines consume chunks and folder events).
  { name: 'batch', members: ['batch'] },
  { name: 'watch', members: ['watch'] },
  // NATS JetStream: the task and result codecs, streams, the event bus and the shared pacer;
  // below run/, which wires workers and the queued batch from them.
  { name: 'queue', members: ['queue'] },
  { name: 'pipelines', members: ['pipelines'] },
  { name: 'panel', members: ['panel'] },
  { name: 'sandbox', members: ['sandbox'] },
  { name: 'sql', members: ['sql'] },
  { name: 'report', members: ['report'] },
  { name: 'terminal', members: ['terminal'] },
  { name: 'run', members: ['run'] },
  // A command module declares its flags and lazily loads its handler; the handler reads the
  // command's argument type. Two halves of one thing, so one layer.
  { name: 'commands', members: ['commands', 'handlers'] },
  // Entry points: the CLI and the package's export subpaths.
  { name: 'entry', members: ['cli.ts', 'index.ts', 'sql.ts', 'report.ts', 'sandbox.ts'] },
];

/** The layer index of a path relative to src/ (posix separators), or -1 if none claims it. */
export function layerOf(rel) {
  const top = rel.split('/')[0];
  return LAYERS.findIndex((l) => l.members.includes(top));
}

function tsFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.isFile() && e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const posix = (p) => p.split(sep).join('/');

/**
 * Every problem under `srcDir`, as lines: `back-edge: src/a/x.ts (a) imports src/b/y.ts (b)`, or a
 * file that no layer claims. Sorted, so the output is stable.
 */
export function checkLayers(srcDir) {
  const root = resolve(srcDir);
  const problems = [];
  for (const file of tsFiles(root)) {
    const rel = posix(relative(root, file));
    const from = layerOf(rel);
    if (from < 0) {
      problems.push(`unplaced: src/${rel} is in no layer; add its folder to LAYERS in scripts/layers.mjs and to ARCHITECTURE.md`);
      continue;
    }
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue; // a package, not ours
      const target = posix(relative(root, resolve(dirname(file), fileName))).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) continue; // outside src/ (e.g. package.json)
      const to = layerOf(target);
      if (to > from) {
        problems.push(`back-edge: src/${rel} (${LAYERS[from].name}) imports src/${target} (${LAYERS[to].name})`);
      }
    }
  }
  return [...new Set(problems)].sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = process.argv[2];
  if (arg === '--layers') {
    process.stdout.write(`${JSON.stringify(LAYERS)}\n`);
  } else {
    const srcDir = arg ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
    const problems = checkLayers(srcDir);
    for (const p of problems) process.stdout.write(`${p}\n`);
    if (problems.length > 0) {
      process.stderr.write(`Error: ${problems.length} import(s) against the layer order (ARCHITECTURE.md "Layers"); move the shared code down a layer or the importer up\n`);
      process.exitCode = 1;
    }
  }
}
