import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import stringWidth from 'string-width';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import { CLI, panelScenario, tempDir, writePanel } from '../helpers/cli.js';
import { FakeTty } from './fakeTty.js';

/**
 * The views through the real binary on a real pseudo-terminal (util-linux `script`), `columns`
 * wide: everything the terminal received is played on the simulated screen, which must then
 * hold exactly what a user would want to see.
 */

const hasScript = spawnSync('script', ['--version']).status === 0;
const ROWS = 60;
const LONG_ID = 'deepseek/deepseek-r1-distill-llama-70b-with-a-deliberately-long-model-id-for-the-terminal-test:free';
const ENV = { OPENROUTER_API_KEY: 'sk-or-v1-fake_key_for_tests_0123456789' };

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function onPty(columns: number, args: string[]): Promise<{ code: number | null; output: string }> {
  const cmd = `stty cols ${columns} rows ${ROWS}; exec ${[process.execPath, CLI, ...args].map(shq).join(' ')}`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'xterm', ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

/** Where the final screens go, for a person to look at. */
const SCREENS = resolve(import.meta.dirname, '../../test-output/terminal');

function play(columns: number, output: string, name: string): FakeTty {
  const tty = new FakeTty(columns, ROWS);
  tty.write(output);
  mkdirSync(SCREENS, { recursive: true });
  writeFileSync(join(SCREENS, `${name}-${columns}.txt`), `${tty.screen().join('\n')}\n`);
  return tty;
}

/** A panel with two ids too long for any terminal, one of them rate-limited with a 429 that names it. */
async function panelFile(dir: string) {
  const scenario = panelScenario([{}, {}, { model: LONG_ID }, {}, {}, { model: `ratelimited/${'x'.repeat(90)}:free`, fault: 'rate_limit' }]);
  server = await startSandboxServer({ scenario });
  // A generous timeout: on a loaded machine a slow answer must not read as a failure here.
  return writePanel(dir, server.baseURL, scenario, { timeoutMs: 30_000, retry: { maxRetries: 0 } });
}

const PORT_ROW = /^ {2}[…~✓✗] port (\d+) /;

describe.skipIf(!hasScript).each([80, 120])('on a %i-column pseudo-terminal, through the real binary', (columns) => {
  it('ask: one line per port per round, none wrapped, round 1 kept above the vote round', async () => {
    const dir = tempDir('quorum-pty-');
    const panel = await panelFile(dir);
    const { code, output } = await onPty(columns, ['ask', 'What does the protocol spec say?', '--panel', panel, '--out', join(dir, 'out'), '--grace', '-1']);
    expect(code).toBe(0);
    const screen = play(columns, output, 'ask').screen();
    const heading = screen.findIndex((r) => r.startsWith('  vote round:'));
    expect(heading).toBeGreaterThan(0);
    const round1 = screen.slice(0, heading).filter((r) => PORT_ROW.test(r));
    const round2 = screen.slice(heading + 1).filter((r) => PORT_ROW.test(r));
    expect(round1.map((r) => Number(PORT_ROW.exec(r)![1]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(round2.map((r) => Number(PORT_ROW.exec(r)![1]))).toEqual([0, 1, 2, 3, 4, 6, 7]);
    // The blocks are contiguous: nothing between their rows, no copy left by a redraw.
    expect(screen.slice(heading - 8, heading)).toEqual(round1);
    expect(screen.slice(heading + 1, heading + 8)).toEqual(round2);
    for (const r of [...round1, ...round2]) expect(stringWidth(r)).toBeLessThan(columns);
    expect(round1.every((r) => /(done in \d+ ms|failed: .*)$/.test(r))).toBe(true);
    expect(round1[5]).toMatch(/✗ port 5 .*failed: rate_limited/);
    expect(round1[2]).toMatch(/deepseek\/.*….*:free/);
    expect(round2.every((r) => /voted in \d+ ms$/.test(r))).toBe(true);
    // The verdict follows the view.
    expect(screen.slice(heading + 8).join('\n')).toMatch(/Consensus claims:/);
  });

  it('batch: the progress line shows at once and moves before the first chunk is decided, and stays one line', async () => {
    const dir = tempDir('quorum-pty-');
    const panel = await panelFile(dir);
    const specs = join(dir, 'specs');
    mkdirSync(specs);
    for (const name of ['a', 'b', 'c']) writeFileSync(join(specs, `${name}.md`), `# ${name}\n\nThe ${name} protocol uses port 8080 by default.\n`);
    const { code, output } = await onPty(columns, ['batch', specs, '--query', 'What does the spec say?', '--panel', panel, '--out', join(dir, 'out'), '--rounds', '1', '--concurrency', '1', '--grace', '-1']);
    expect(code, output).toBe(0);
    // Every drawing of the line, in order: the first is drawn before any call, and calls in
    // flight and answers show while the first chunk is still being decided.
    // eslint-disable-next-line no-control-regex -- ESC starts the redraw sequence it reads
    const drawings = [...output.matchAll(/\r\x1b\[2K([^\r\n]*)/g)].map((m) => m[1]!).filter((d) => /chunks \d+\/3/.test(d));
    expect(drawings[0]).toMatch(/chunks 0\/3 · in flight 0 · answers 0 · ETA …/);
    const beforeFirst = drawings.slice(0, drawings.findIndex((d) => d.includes('chunks 1/3')));
    expect(beforeFirst.some((d) => /in flight [1-9]/.test(d))).toBe(true);
    expect(beforeFirst.some((d) => /answers [1-9]/.test(d))).toBe(true);
    for (const d of drawings) expect(stringWidth(d)).toBeLessThan(columns);

    const screen = play(columns, output, 'batch').screen();
    const lines = screen.filter((r) => /chunks \d+\/3 · /.test(r));
    expect(lines).toHaveLength(1);
    // The 429 on every chunk is a count here; which model failed is the end summary's.
    expect(lines[0]).toMatch(/chunks 3\/3 · in flight 0 · answers 21 · failures 3( · \d+ calls\/min)?$/);
  });
});
