// Bundles the CLI into dist/bin/ (run by `npm run build`, after tsc). Start-up is dominated by
// loading hundreds of small module files (rxjs alone is 235, and CommonJS); one file per command
// loads several times faster. The library (dist/index.js) stays unbundled for importers.
// Native or rarely used packages stay external: DuckDB (native), Vega (only `report`), chokidar
// (only `watch`) and the OTLP exporter (only when an endpoint is set) load from node_modules.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: without a clean folder, old chunks would pile up.
rmSync('dist/bin', { recursive: true, force: true });

await build({
  entryPoints: { cli: 'src/cli.ts' },
  outdir: 'dist/bin',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  external: ['@duckdb/node-api', 'vega', 'vega-lite', 'chokidar', '@opentelemetry/exporter-trace-otlp-http'],
  // Bundled CommonJS packages (rxjs, OpenTelemetry) call require() for Node built-ins.
  banner: { js: "import { createRequire as __quorumCreateRequire } from 'node:module';\nconst require = __quorumCreateRequire(import.meta.url);" },
  // src/sql/catalog.ts and src/report/generate.ts find queries/ and package.json from
  // import.meta.url two folders up, which holds for dist/sql/catalog.js and for every file in
  // dist/bin/ alike, so chunks sit beside the entry, not in a folder of their own.
  logLevel: 'warning',
  legalComments: 'none',
});
