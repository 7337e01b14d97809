import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const dir = tempDir('quorum-bad-');
const out = join(dir, 'artifacts');
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const goodPanel = file('good.json', JSON.stringify({ members: [{ model: 'a/x' }, { model: 'b/y' }] }));
mkdirSync(join(dir, 'folder'), { recursive: true });

const KEY = { OPENROUTER_API_KEY: 'sk-or-v1-test' };
const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
  ['an empty query', ['ask', '   '], KEY, /query is empty/],
  ['a missing API key, naming the variable', ['ask', 'q?'], {}, /Environment variable OPENROUTER_API_KEY is not set/],
  ['a missing panel file', ['ask', 'q?', '--panel', join(dir, 'nope.json')], KEY, /nope\.json cannot be read \(ENOENT\)/],
  ['an unparseable panel file', ['ask', 'q?', '--panel', file('broken.json', '{"members": [')], KEY, /broken\.json is not valid JSON/],
  ['a panel with duplicate ports', ['ask', 'q?', '--panel', file('dup.json', '{"members":[{"port":0,"model":"a/x"},{"port":0,"model":"b/y"}]}')], KEY, /members\[1\]\.port: port 0 is already used/],
  ['a member without a model', ['ask', 'q?', '--panel', file('nomodel.json', '{"members":[{"port":0}]}')], KEY, /members\[0\]\.model: expected a model id/],
  ['--quorum above the panel size', ['ask', 'q?', '--panel', goodPanel, '--quorum', '3'], KEY, /Expected --quorum to be an integer from 1 to 2, got 3/],
  ['--quorum 0', ['ask', 'q?', '--quorum', '0'], KEY, /Expected --quorum to be an integer ≥ 1, got "0"/],
  ['a negative --timeout', ['ask', 'q?', '--timeout', '-5'], KEY, /Expected --timeout to be an integer ≥ 1, got "-5"/],
  ['a non-numeric --timeout', ['ask', 'q?', '--timeout', 'abc'], KEY, /Expected --timeout to be an integer ≥ 1, got "abc"/],
  ['a missing --context file', ['ask', 'q?', '--context', join(dir, 'missing.md')], KEY, /--context .*missing\.md cannot be read \(ENOENT\)/],
  ['a --context directory', ['ask', 'q?', '--context', join(dir, 'folder')], KEY, /is a directory/],
  ['a binary --context', ['ask', 'q?', '--context', file('bin.dat', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]))], KEY, /looks binary/],
  ['an invalid UTF-8 --context', ['ask', 'q?', '--context', file('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x21]))], KEY, /not valid UTF-8/],
  ['an empty --context', ['ask', 'q?', '--context', file('empty.md', '  \n')], KEY, /is empty/],
  ['an unknown flag', ['ask', 'q?', '--qourum', '3'], KEY, /Unknown argument: qourum/],
  ['an unknown command', ['aks', 'q?'], KEY, /Unknown argument|Did you mean/],
  ['no command', [], KEY, /Give a command/],
  ['--rounds 3', ['ask', 'q?', '--rounds', '3'], KEY, /--rounds/],
];

describe('bad input: exit 2, one clear line, nothing written', () => {
  for (const [what, args, env, message] of cases) {
    it(`rejects ${what}`, async () => {
      const run = await runCli([...args, '--out', out], env);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      const errorLines = run.stderr.split('\n').filter((l) => l.startsWith('Error: '));
      expect(errorLines).toHaveLength(1);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(out)).toBe(false);
    });
  }
});
