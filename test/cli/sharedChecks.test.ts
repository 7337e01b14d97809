import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMPTY_QUERY } from '../../src/run/validateRun.js';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';

const dir = tempDir('quorum-shared-');
mkdirSync(join(dir, 'inbox'));
writeFileSync(join(dir, 'inbox', 'a.md'), 'Some text.\n');
const twoMembers = join(dir, 'two.json');
writeFileSync(twoMembers, JSON.stringify({ members: [{ model: 'a/x' }, { model: 'b/y' }] }));
const KEY = { OPENROUTER_API_KEY: 'sk-or-v1-test' };
const out = join(dir, 'artifacts');

/** The same question and flags put to each run command. */
const commands = (question: string, flags: string[]): Record<string, string[]> => ({
  ask: ['ask', question, ...flags],
  batch: ['batch', join(dir, 'inbox'), '--query', question, ...flags],
  watch: ['watch', join(dir, 'inbox'), '--query', question, ...flags],
});

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Error: '));

describe('one check per fault, one message, whichever run command', () => {
  for (const [name, args] of Object.entries(commands('   ', ['--panel', twoMembers, '--out', out]))) {
    it(`${name}: a blank question`, async () => {
      const run = await runCli(args, KEY);
      expect(run.code).toBe(2);
      expect(errorLines(run.stderr)).toEqual([`Error: ${EMPTY_QUERY}`]);
    });
  }

  for (const [name, args] of Object.entries(commands('What is Raft?', ['--panel', twoMembers, '--quorum', '3', '--out', out]))) {
    it(`${name}: a --quorum above the panel size`, async () => {
      const run = await runCli(args, KEY);
      expect(run.code).toBe(2);
      expect(errorLines(run.stderr)).toEqual(['Error: Expected --quorum to be an integer from 1 to 2, got 3']);
    });
  }
});

describe('one declaration of the shared run flags', () => {
  it('ask, batch and watch describe each shared flag in the same words', async () => {
    // The binary: yargs prints --help to the process's stdout, not to main's io.
    const help = async (command: string) => (await spawnCli([command, '--help']).done).stdout;
    const [ask, batch, watch] = await Promise.all(['ask', 'batch', 'watch'].map(help));
    // A flag's description up to its [type] tag, line wrapping undone (columns differ per command).
    const line = (text: string, flag: string) => new RegExp(` ${flag} ([^[]*)\\[`).exec(text.replace(/\s+/g, ' '))?.[1]?.trim();
    for (const flag of ['--panel', '--out', '--quorum', '--rounds', '--grace', '--sandbox']) {
      expect(line(ask!, flag), flag).toBeDefined();
      expect(line(batch!, flag), flag).toBe(line(ask!, flag));
      expect(line(watch!, flag), flag).toBe(line(ask!, flag));
    }
    expect(line(batch!, '--timeout')).toBe(line(ask!, '--timeout'));
  });
});
