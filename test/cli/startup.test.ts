import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/cli.js';
import { writeModuleLogPreload } from '../helpers/moduleLog.js';

/**
 * Start-up cost: what the built binary loads. A preload registers a module resolve hook that
 * appends every resolved URL to a file, so each test sees exactly which modules a process
 * imported (ESM `import`/`import()`, which is how quorum reaches every package). No timing.
 */

const DIST = resolve(import.meta.dirname, '../../dist');

/** Packages that must not load before a command that needs them runs. */
const HEAVY = ['openai', '@opentelemetry', 'zod', 'yaml', '@duckdb', 'vega', 'rxjs', 'chokidar'] as const;

const packageOf = (url: string): string | undefined => {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return m?.[1];
};
const heavyIn = (urls: string[], heavy: readonly string[] = HEAVY): string[] => {
  const hits = new Set<string>();
  for (const url of urls) {
    const pkg = packageOf(url);
    // `vega` stands for vega, vega-lite and every vega-* package; `@opentelemetry` for its scope.
    const name = heavy.find((h) => pkg !== undefined && (pkg === h || pkg.startsWith(`${h}/`) || pkg.startsWith(`${h}-`)));
    if (name) hits.add(name);
  }
  return [...hits].sort();
};
/** Our own modules the process loaded, relative to dist/ (e.g. `commands/ask.js`). */
const ownIn = (urls: string[]): string[] =>
  urls.filter((u) => u.startsWith(pathToFileURL(DIST).href + '/')).map((u) => u.slice(pathToFileURL(DIST).href.length + 1));

/** The command implementations (src/handlers/*) the process loaded. */
const handlersIn = (urls: string[]): string[] => ownIn(urls).filter((f) => f.startsWith('handlers/'));

let preload = '';
let dir = '';

beforeAll(() => {
  if (!existsSync(CLI) || !existsSync(resolve(DIST, 'cli.js'))) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  dir = tempDir('quorum-startup-');
  preload = writeModuleLogPreload(dir);
});

let runs = 0;

interface Traced {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every module URL the process resolved, first resolution order, no repeats. */
  urls: string[];
}

/** Runs node with the recording preload; resolves to what it printed and every module it resolved. */
function traced(nodeArgs: string[]): Promise<Traced> {
  const log = join(dir, `modules-${++runs}.log`);
  writeFileSync(log, '');
  const child = spawn(process.execPath, ['--import', preload, ...nodeArgs], {
    cwd: dir,
    env: { PATH: process.env.PATH, QUORUM_TEST_MODULE_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr, urls: [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))] }));
  });
}

/**
 * The unbundled build (dist/cli.js, what a library importer gets): its module graph shows which
 * command loads what. The binary on PATH is the bundle (dist/bin/cli.js), checked on its own below.
 */
const UNBUNDLED = resolve(DIST, 'cli.js');
const cli = (...args: string[]) => traced([UNBUNDLED, ...args]);
const importOf = (file: string) => traced(['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(join(DIST, file)).href)});`]);

describe('start-up: what the binary loads', () => {
  it('records what a process loads (the checks below would see a heavy import)', async () => {
    const [sql, report] = await Promise.all([importOf('sql.js'), importOf('report.js')]);
    expect(sql.code, sql.stderr).toBe(0);
    expect(heavyIn(sql.urls)).toContain('@duckdb');
    expect(report.code, report.stderr).toBe(0);
    expect(heavyIn(report.urls)).toEqual(expect.arrayContaining(['@duckdb', 'vega']));
  });

  it('--version loads no SDK, OpenTelemetry, zod, yaml, DuckDB, Vega, rxjs and no command implementation', async () => {
    const run = await cli('--version');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(heavyIn(run.urls)).toEqual([]);
    expect(ownIn(run.urls)).toContain('commands/ask.js');
    expect(handlersIn(run.urls)).toEqual([]);
  });

  it("--help, and every command's --help, load none of them either", async () => {
    const help = await cli('--help');
    expect(help.code, help.stderr).toBe(0);
    expect(heavyIn(help.urls)).toEqual([]);
    expect(handlersIn(help.urls)).toEqual([]);
    // Help names the program as it was run (`node …/cli.js`, `npx quorum`, `quorum`); command lines start two spaces in.
    const commands = [...new Set([...help.stdout.matchAll(/^ {2}\S.*?(?:quorum|cli\.js) ([a-z][\w-]*)/gm)].map((m) => m[1]!))];
    expect(commands).toEqual(expect.arrayContaining(['ask', 'batch', 'panel', 'replay', 'report', 'sandbox', 'sql', 'watch']));
    const runs = await Promise.all(commands.map(async (command) => ({ command, run: await cli(command, '--help') })));
    for (const { command, run } of runs) {
      expect(run.code, `${command} --help: ${run.stderr}`).toBe(0);
      expect({ command, heavy: heavyIn(run.urls), handlers: handlersIn(run.urls) }).toEqual({ command, heavy: [], handlers: [] });
    }
  }, 120_000); // one process per command, on a possibly busy machine

  it('a command loads its own implementation only', async () => {
    const [panel, list] = await Promise.all([
      // A usage error the handler finds before any request: the handler module has loaded by then.
      cli('panel', '--to', 'x.json'),
      // DuckDB loads only when a query runs, not to list the bundled ones.
      cli('sql', '--list'),
    ]);
    expect(panel.code, panel.stderr).toBe(2);
    expect(panel.stderr).toMatch(/--to names the file --suggest writes/);
    expect(handlersIn(panel.urls)).toEqual(['handlers/panel.js']);
    expect(heavyIn(panel.urls)).toContain('openai');
    expect(heavyIn(panel.urls, ['@duckdb', 'vega', 'chokidar'])).toEqual([]);

    expect(list.code, list.stderr).toBe(0);
    expect(heavyIn(list.urls)).toEqual([]);
  });

  it("importing the library ('quorum') loads neither DuckDB nor Vega", async () => {
    const run = await importOf('index.js');
    expect(run.code, run.stderr).toBe(0);
    expect(heavyIn(run.urls, ['@duckdb', 'vega'])).toEqual([]);
    // It does load its own pipelines: the hook sees the packages the library imports.
    expect(heavyIn(run.urls)).toContain('rxjs');
  });

  it('the bundled binary answers --version from its own files: no package from node_modules, no command implementation', async () => {
    const run = await traced([CLI, '--version']);
    expect(run.code).toBe(0);
    expect(run.urls.filter((u) => u.includes('/node_modules/'))).toEqual([]);
    const files = run.urls.filter((u) => u.startsWith(pathToFileURL(resolve(DIST, 'bin')).href)).map((u) => u.split('/').at(-1)!);
    // Each command's implementation is its own chunk, named after src/handlers/<command>.ts.
    expect(files.filter((f) => /^(ask|batch|panel|replay|sandbox|watch|show|migrate|sql|report)-/.test(f))).toEqual([]);
  });
});
