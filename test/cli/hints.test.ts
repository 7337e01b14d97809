import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectInvocation, localizeCommands, shellWord } from '../../src/render/invocation.js';
import { CLI, tempDir, type CliRun } from '../helpers/cli.js';

/**
 * Printed commands run when pasted (issue 12, item 4): hints take the form quorum was started in
 * (`npx quorum`, `quorum` on PATH, `node dist/bin/cli.js`), and they are complete.
 */

const REPO = resolve(import.meta.dirname, '../..');

function run(argv: string[], { env = {}, cwd = REPO, until }: { env?: NodeJS.ProcessEnv; cwd?: string; until?: RegExp } = {}): Promise<CliRun> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, argv, { env: { PATH: process.env.PATH, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (until?.test(stdout)) child.kill('SIGINT');
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

/** A printed command as a shell splits it: plain, "double-" and 'single-quoted' words. */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

let dir = '';
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  dir = tempDir('quorum-hints-');
});

describe('detectInvocation', () => {
  const cwd = '/home/me/quorum';
  it.each([
    ['npx / npm exec', { npm_command: 'exec' }, '/home/me/.npm/_npx/1/node_modules/.bin/quorum', 'npx quorum'],
    ['an npm script', { npm_command: 'run-script' }, `${cwd}/dist/bin/cli.js`, 'npx quorum'],
    ['the node_modules/.bin shim', {}, '/work/proj/node_modules/.bin/quorum', 'npx quorum'],
    ['quorum on PATH (npm install -g, npm link)', { PATH: '/usr/bin:/usr/local/bin' }, '/usr/local/bin/quorum', 'quorum'],
    ['a quorum not on PATH', { PATH: '/usr/bin' }, '/opt/q/bin/quorum', 'node /opt/q/bin/quorum'],
    ['node dist/bin/cli.js in the clone', {}, `${cwd}/dist/bin/cli.js`, 'node dist/bin/cli.js'],
    ['node with an absolute path elsewhere', {}, '/srv/quorum/dist/bin/cli.js', 'node /srv/quorum/dist/bin/cli.js'],
    ['a path with a space', {}, '/srv/my tools/cli.js', 'node "/srv/my tools/cli.js"'],
  ])('%s', (_what, env, script, expected) => {
    expect(detectInvocation({ env, script, cwd })).toBe(expected);
  });

  it('rewrites only `quorum <command>` in messages, and quotes only what needs it', () => {
    expect(localizeCommands('run quorum ask first; a quorum of models; the quorum is 6; `quorum sql --list`', 'npx quorum')).toBe(
      'run npx quorum ask first; a quorum of models; the quorum is 6; `npx quorum sql --list`',
    );
    expect(localizeCommands('run quorum ask first', 'quorum')).toBe('run quorum ask first');
    expect(localizeCommands('e.g. npx quorum ask "Why?"; or quorum runs', 'npx quorum')).toBe('e.g. npx quorum ask "Why?"; or npx quorum runs');
    expect(['latest', 'What is Raft?', 'It\'s "x"', 'a$b'].map(shellWord)).toEqual(['latest', '"What is Raft?"', `'It'\\''s "x"'`, `'a$b'`]);
  });
});

describe('hints through the binary', () => {
  it('`node dist/bin/cli.js ask` without a key suggests the same question offline, and that command runs', async () => {
    const first = await run([CLI, 'ask', 'What is Raft?', '--out', join(dir, 'a')]);
    expect(first.code).toBe(2);
    const hint = /try it offline: (.*)$/m.exec(first.stderr)?.[1];
    expect(hint).toBe(`node dist/bin/cli.js ask "What is Raft?" --out ${join(dir, 'a')} --sandbox`);
    const [node, ...args] = words(hint!);
    expect(node).toBe('node');
    const second = await run(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/CONSENSUS|DEGRADED/);
  });

  it('the offline hint drops --panel (the sandbox brings its own) and keeps the question', async () => {
    const panel = join(dir, 'panel.json');
    writeFileSync(panel, JSON.stringify({ members: [{ model: 'a/x' }, { model: 'b/y' }] }));
    const { stderr } = await run([CLI, 'ask', 'Why?', '--panel', panel, '--rounds', '1'], { env: { npm_command: 'exec' } });
    expect(stderr).toMatch(/try it offline: npx quorum ask "Why\?" --rounds 1 --sandbox$/m);
    const noKey = await run([CLI, 'batch', 'docs/', '--query', 'What changed?'], { env: { npm_command: 'exec' } });
    expect(noKey.stderr).toMatch(/try it offline: npx quorum batch docs\/ --query "What changed\?" --sandbox$/m);
  });

  it('run through npx, the messages of every layer say `npx quorum …`', async () => {
    const env = { npm_command: 'exec' };
    const noQuestion = await run([CLI, 'ask'], { env });
    expect(noQuestion.stderr).toMatch(/e\.g\. npx quorum ask "What is Raft\?" --sandbox .*from stdin with: npx quorum ask -$/m);
    const report = await run([CLI, 'report', '--out', join(dir, 'missing')], { env });
    expect(report.stderr).toMatch(/run npx quorum ask or npx quorum batch first/);
    const help = await run([CLI], { env });
    expect(help.stdout).toMatch(/^npx quorum <command>/m);
  });

  it('--version is quorum\'s own, whatever folder it runs in', async () => {
    const version = (JSON.parse((await import('node:fs')).readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    const elsewhere = await run([CLI, '--version'], { cwd: dir });
    expect(elsewhere.stdout.trim()).toBe(version);
  });

  it('as `quorum` on PATH, hints say `quorum …`', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(CLI, join(bin, 'quorum'));
    const { stderr } = await run([join(bin, 'quorum'), 'show'], { env: { PATH: `${bin}:${process.env.PATH}` }, cwd: dir });
    expect(stderr).toMatch(/^Error: Give the run to show: a run id or latest, e\.g\. quorum show latest \(quorum runs lists the recent ones\)$/m);
  });

  it('quorum sandbox prints complete commands, question included, that run as pasted into a shell', async () => {
    const work = join(dir, 'sandbox-work');
    mkdirSync(work);
    const child = spawn(process.execPath, [CLI, 'sandbox'], { cwd: work, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    await new Promise<void>((ready) =>
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (/Ctrl-C stops it/.test(stdout)) ready();
      }),
    );
    try {
      const pasted = stdout.split('\n').filter((l) => /^ {2}(echo|OPENROUTER_API_KEY=)/.test(l)).map((l) => l.trim());
      expect(pasted).toHaveLength(2);
      expect(pasted[1]).toBe(`OPENROUTER_API_KEY=sandbox node ${CLI} ask "What is Raft?" --panel sandbox-panel.json`);
      expect(stdout).toMatch(/\(or, with no server to start: node \S+cli\.js ask "What is Raft\?" --sandbox\)$/m);
      // Both lines, through a real shell, in a folder of the user's: the ask runs against the server.
      const shell = await run(['-e', `process.exit(require('node:child_process').spawnSync('sh', ['-c', ${JSON.stringify(pasted.join(' && '))}], { stdio: 'inherit' }).status)`], { cwd: work });
      expect(shell.code, shell.stderr).toBe(0);
      expect(shell.stdout).toMatch(/CONSENSUS|DEGRADED/);
    } finally {
      child.kill('SIGINT');
    }
  });
});
