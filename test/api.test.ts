import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/cli.js';
import { writeModuleLogPreload } from './helpers/moduleLog.js';

/**
 * The public API: what `quorum` exports, written down so that every added or dropped name is a
 * deliberate change (each one is a semver promise), and what importing it costs. Imports go
 * through package.json "exports" from a project that has quorum in its node_modules, as a user's
 * would, so a broken subpath or a heavy import on the main entry fails here.
 */

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');

/** The values `import('quorum')` gives. Change this list only on purpose, with the README's Library section. */
const RUNTIME_NAMES = [
  'askPipeline',
  'replayPipeline',
  'batchPipeline',
  'watchPipeline',
  'loadRecordedRun',
  'portCall',
  'scatter',
  'timeoutCall',
  'retryBackoff',
  'toOutcome',
  'cutStragglers',
  'gatherVotes',
  'voteRound',
  'synthesize',
  'pullMerge',
  'rateLimit',
  'extractClaims',
  'claimSimilarity',
  'sameClaim',
  'createMatcher',
  'supportScore',
  'tally',
  'createOpenAICall',
  'defaultPanel',
  'loadPanel',
  'parsePanel',
  'RateLimiter',
  'ModelCallError',
  'UsageError',
];

/** The types `quorum` exports besides the values' own. */
const TYPE_NAMES = [
  'AskOptions',
  'AskObserver',
  'AskResult',
  'RecordedRun',
  'ModelCall',
  'Panel',
  'PanelMember',
  'ModelRequest',
  'ModelOutcome',
  'ConsensusResult',
  'ClaimRecord',
];

/** What each subpath must at least offer (the names the README's Library section uses). */
const SUBPATHS: Record<string, string[]> = {
  'quorum/sql': ['ArtifactsDb', 'listQueries', 'resolveQuery', 'formatResult'],
  'quorum/report': ['generateReport'],
  'quorum/sandbox': ['startSandboxPanel', 'startSandboxServer', 'defaultScenario', 'parseScenario', 'loadScenario'],
  'quorum/cli': ['main'],
};

/** Packages `import('quorum')` must not load: the native DuckDB binding, and Vega (every vega-* package). */
const HEAVY = /\/node_modules\/(@duckdb\/|vega\/|vega-[^/]*\/)/;

let project = '';
let preload = '';

beforeAll(() => {
  if (!existsSync(join(DIST, 'index.js'))) throw new Error(`${DIST}/index.js is missing: run \`npm run build\` first (npm test does)`);
  // A user's project: quorum (and rxjs, which callers of the pipelines use too) in its node_modules.
  project = tempDir('quorum-api-');
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(ROOT, join(project, 'node_modules', 'quorum'), 'dir');
  symlinkSync(join(ROOT, 'node_modules', 'rxjs'), join(project, 'node_modules', 'rxjs'), 'dir');
  preload = writeModuleLogPreload(project);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every module URL the child resolved. */
  urls: string[];
}

let runs = 0;

/** Runs an ES module script in the user's project (cwd), recording every module it resolves. */
function runInProject(script: string): Promise<Run> {
  const log = join(project, `modules-${++runs}.log`);
  writeFileSync(log, '');
  const child = spawn(process.execPath, ['--import', preload, '--input-type=module', '-e', script], {
    cwd: project,
    env: { PATH: process.env.PATH, QUORUM_TEST_MODULE_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((done, reject) => {
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr, urls: [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))] }));
  });
}

/** The names a module exports, as `import(specifier)` in the user's project sees them. */
const exportsOf = (specifier: string) =>
  runInProject(`const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`);

const heavyIn = (urls: string[]) => urls.filter((u) => HEAVY.test(u));

describe('the public API', () => {
  it('dist/index.js exports at most 40 values, exactly the written list', async () => {
    const names = Object.keys(await import(pathToFileURL(join(DIST, 'index.js')).href)).sort();
    expect(names).toEqual([...RUNTIME_NAMES].sort());
    expect(names.length).toBeLessThanOrEqual(40);
  });

  it('dist/index.d.ts exports at most 40 names, values and types together, exactly the written lists', () => {
    // Types are promises too: count every exported name the declarations give a caller.
    const file = join(DIST, 'index.d.ts');
    const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: [] });
    const checker = program.getTypeChecker();
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    const names = checker.getExportsOfModule(symbol).map((s) => s.name).sort();
    expect(names).toEqual([...RUNTIME_NAMES, ...TYPE_NAMES].sort());
    expect(names.length).toBeLessThanOrEqual(40);
  }, 60_000); // the compiler reads every declaration file the API reaches

  it("import('quorum') resolves through package.json to dist/index.js and loads neither DuckDB nor Vega", async () => {
    const run = await exportsOf('quorum');
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([...RUNTIME_NAMES].sort());
    expect(run.urls).toContain(pathToFileURL(join(DIST, 'index.js')).href);
    expect(heavyIn(run.urls)).toEqual([]);
    // The hook sees packages the library does import: it would see DuckDB or Vega too.
    expect(run.urls.some((u) => u.includes('/node_modules/rxjs/'))).toBe(true);
  });

  it('the hook sees DuckDB and Vega where they do load: quorum/sql and quorum/report', async () => {
    const [sql, report] = await Promise.all([exportsOf('quorum/sql'), exportsOf('quorum/report')]);
    expect(sql.code, sql.stderr).toBe(0);
    expect(heavyIn(sql.urls).some((u) => u.includes('/@duckdb/'))).toBe(true);
    expect(report.code, report.stderr).toBe(0);
    expect(heavyIn(report.urls).some((u) => /\/node_modules\/vega(-lite)?\//.test(u))).toBe(true);
  });

  it('every subpath in package.json "exports" loads and offers its names', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const subpaths = Object.keys(pkg.exports)
      .filter((k) => k !== '.' && k !== './package.json')
      .map((k) => `quorum/${k.slice(2)}`);
    // A new subpath needs its line in SUBPATHS (and in the README), a dropped one its removal.
    expect(subpaths.sort()).toEqual(Object.keys(SUBPATHS).sort());
    const runs = await Promise.all(subpaths.map(async (specifier) => ({ specifier, run: await exportsOf(specifier) })));
    for (const { specifier, run } of runs) {
      expect(run.code, `${specifier}: ${run.stderr}`).toBe(0);
      expect(JSON.parse(run.stdout), specifier).toEqual(expect.arrayContaining(SUBPATHS[specifier]!));
    }
  }, 60_000);

  it("the README's library example runs: askPipeline from 'quorum' against quorum/sandbox's panel", async () => {
    // The same code as the README's Library section (docs text), run in a user's project.
    const run = await runInProject(`
import { lastValueFrom } from 'rxjs';
import { askPipeline, createOpenAICall } from 'quorum';
import { startSandboxPanel } from 'quorum/sandbox';

const sandbox = await startSandboxPanel(); // eight simulated models on 127.0.0.1
try {
  const { result } = await lastValueFrom(
    askPipeline({ query: 'What is the sandbox?' }, { panel: sandbox.panel, call: createOpenAICall({ env: sandbox.env }) }),
  );
  console.log(result.status);
  for (const claim of result.claims) console.log(claim.support + '/' + result.quorum.panel, claim.text);
} finally {
  await sandbox.close();
}
`);
    expect(run.code, run.stderr).toBe(0);
    const [status, ...claims] = run.stdout.trim().split('\n');
    expect(status).toBe('consensus');
    expect(claims.length).toBeGreaterThan(0);
    expect(claims.every((line) => /^\d+\/8 \S/.test(line))).toBe(true);
    // A run on the library loads neither DuckDB nor Vega either.
    expect(heavyIn(run.urls)).toEqual([]);
  }, 60_000);
});
