import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';

const repo = resolve(import.meta.dirname, '..', '..');
const checker = join(repo, 'scripts', 'layers.mjs');

/** The real checker as `npm test` and a maintainer run it: a child process, its output and exit code. */
function check(srcDir: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [checker, srcDir], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of today's src/ with `files` added: any failure is then the planted one. */
function srcWith(files: Record<string, string>): string {
  const dir = join(tempDir('quorum-layers-'), 'src');
  cpSync(join(repo, 'src'), dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  return dir;
}

describe('the import-direction rule (scripts/layers.mjs)', () => {
  it('finds no import in src/ that goes from a lower layer to a higher one', () => {
    const r = check(join(repo, 'src'));
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  });

  it('fails on a planted back-edge and names the importer, the imported file and both layers', () => {
    const r = check(srcWith({ 'claims/planted.ts': "import { runAsk } from '../run/runAsk.js';\nexport const x = runAsk;\n" }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('back-edge: src/claims/planted.ts (claims) imports src/run/runAsk.ts (run)\n');
    expect(r.stderr).toMatch(/^Error: 1 import\(s\) against the layer order/);
  });

  it('sees type-only imports, multi-line re-exports and dynamic imports too', () => {
    const r = check(
      srcWith({
        'models/plantedType.ts': "import type { Round } from '../pipelines/ask.js';\nexport type R = Round;\n",
        'sinks/plantedExport.ts': "export {\n  ArtifactsDb,\n} from '../sql/artifactsDb.js';\n",
        'runlog/plantedDynamic.ts': "export const load = () => import('../report/generate.js');\n",
        // The edge issue 13 found: an operator reaching into batch (the rate limiter lived there).
        'operators/plantedBatch.ts': "import type { Chunk } from '../batch/chunker.js';\nexport type C = Chunk;\n",
      }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      'back-edge: src/models/plantedType.ts (models) imports src/pipelines/ask.ts (pipelines)',
      'back-edge: src/operators/plantedBatch.ts (operators) imports src/batch/chunker.ts (batch)',
      'back-edge: src/runlog/plantedDynamic.ts (runlog) imports src/report/generate.ts (report)',
      'back-edge: src/sinks/plantedExport.ts (sinks) imports src/sql/artifactsDb.ts (sql)',
    ]);
  });

  it('allows imports within a layer and downward', () => {
    const r = check(
      srcWith({
        'run/plantedDown.ts': "import { askPipeline } from '../pipelines/ask.js';\nimport type { Panel } from '../types.js';\nexport const x: [typeof askPipeline, Panel?] = [askPipeline];\n",
        'handlers/plantedPeer.ts': "import type { CliContext } from '../commands/context.js';\nexport type C = CliContext;\n",
      }),
    );
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  });

  it('refuses a file in a folder no layer claims, so a new folder gets a place in the order', () => {
    const dir = srcWith({});
    cpSync(join(dir, 'types.ts'), join(dir, 'planted.ts'));
    const r = check(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^unplaced: src\/planted\.ts is in no layer/);
  });
});

describe('ARCHITECTURE.md', () => {
  const text = readFileSync(join(repo, 'ARCHITECTURE.md'), 'utf8');

  it('names only files and folders that exist', () => {
    const named = [...new Set(text.match(/\bsrc\/[\w./-]*[\w/]/g) ?? [])];
    expect(named.length).toBeGreaterThan(30);
    const missing = named.filter((p) => !existsSync(join(repo, p)));
    expect(missing).toEqual([]);
  });

  it('lists the layers in the order the checker enforces', () => {
    const layers = JSON.parse(spawnSync(process.execPath, [checker, '--layers'], { encoding: 'utf8' }).stdout) as { name: string; members: string[] }[];
    // The table's rows: `| 3 | claims | src/claims/ | …`.
    const rows = [...text.matchAll(/^\| (\d+) \| (\w+) \| ([^|]+) \|/gm)].map((m) => ({
      name: m[2],
      members: [...m[3]!.matchAll(/src\/([\w.]+)/g)].map((x) => x[1]),
    }));
    expect(rows).toEqual(layers.map(({ name, members }) => ({ name, members })));
  });
});
