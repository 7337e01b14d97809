import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { defaultPanel, familyOf, loadPanel, parsePanel } from '../../src/panel/loadPanel.js';

const dir = mkdtempSync(join(tmpdir(), 'quorum-panel-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('panel', () => {
  it('the built-in panel has eight ports from eight families', () => {
    const panel = defaultPanel({});
    expect(panel.members.map((m) => m.port)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(panel.members.map((m) => m.family)).size).toBe(8);
    expect(panel.baseURL).toBe('https://openrouter.ai/api/v1');
    expect(panel.members.every((m) => m.apiKeyEnv === 'OPENROUTER_API_KEY' && m.timeoutMs === 30_000)).toBe(true);
  });

  it('OPENROUTER_BASE_URL replaces the default base URL', () => {
    const panel = defaultPanel({ OPENROUTER_BASE_URL: 'http://127.0.0.1:9999/api/v1' });
    expect(panel.members.every((m) => m.baseURL === 'http://127.0.0.1:9999/api/v1')).toBe(true);
  });

  it('reads a JSON panel with per-member overrides', () => {
    const path = file(
      'panel.json',
      JSON.stringify({
        baseURL: 'https://openrouter.ai/api/v1',
        quorum: 2,
        timeoutMs: 5000,
        members: [
          { port: 1, model: 'deepseek/deepseek-chat:free', baseURL: 'http://127.0.0.1:11434/v1', apiKeyEnv: 'OLLAMA_KEY' },
          { port: 0, model: 'meta-llama/llama-3.3-70b-instruct:free', family: 'meta', timeoutMs: 100, temperature: 0.2, maxTokens: 300 },
        ],
      }),
    );
    const panel = loadPanel(path, {});
    expect(panel.quorum).toBe(2);
    expect(panel.members[0]).toEqual({ port: 0, model: 'meta-llama/llama-3.3-70b-instruct:free', family: 'meta', baseURL: 'https://openrouter.ai/api/v1', apiKeyEnv: 'OPENROUTER_API_KEY', timeoutMs: 100, temperature: 0.2, maxTokens: 300 });
    expect(panel.members[1]).toMatchObject({ port: 1, family: 'deepseek', baseURL: 'http://127.0.0.1:11434/v1', apiKeyEnv: 'OLLAMA_KEY', timeoutMs: 5000 });
  });

  it('reads a YAML panel and numbers members without ports in order', () => {
    const path = file('panel.yaml', 'members:\n  - model: a/one\n  - model: b/two\n');
    expect(loadPanel(path, {}).members.map((m) => [m.port, m.family])).toEqual([[0, 'a'], [1, 'b']]);
  });

  const bad: [string, string, RegExp][] = [
    ['empty members', '{"members": []}', /members: expected at least one member/],
    ['a member without a model', '{"members": [{"port": 0}]}', /members\[0\]\.model: expected a model id/],
    ['duplicate ports', '{"members": [{"port": 0, "model": "a/x"}, {"port": 0, "model": "b/y"}]}', /members\[1\]\.port: port 0 is already used by members\[0\]/],
    ['a port out of range', '{"members": [{"port": 5, "model": "a/x"}]}', /members\[0\]\.port: expected a port from 0 to 0/],
    ['a typo in a key', '{"members": [{"model": "a/x", "timeoutMS": 5}]}', /members\[0\]: unknown key\(s\) "timeoutMS"/],
    ['a bad base URL', '{"baseURL": "ftp://x", "members": [{"model": "a/x"}]}', /baseURL: expected an http\(s\) URL/],
    ['a quorum larger than the panel', '{"quorum": 3, "members": [{"model": "a/x"}]}', /quorum: expected an integer from 1 to 1/],
    ['a negative timeout', '{"timeoutMs": -1, "members": [{"model": "a/x"}]}', /timeoutMs: expected a positive number of ms/],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects ${what}, naming the file and the path`, () => {
      const path = file('bad.json', text);
      expect(() => loadPanel(path, {})).toThrow(UsageError);
      expect(() => loadPanel(path, {})).toThrow(message);
      expect(() => loadPanel(path, {})).toThrow(path);
    });
  }

  it('rejects a file that is not JSON, a missing file and a directory', () => {
    expect(() => loadPanel(file('broken.json', '{"members": ['), {})).toThrow(/is not valid JSON/);
    expect(() => loadPanel(join(dir, 'nope.json'), {})).toThrow(/cannot be read \(ENOENT\)/);
    mkdirSync(join(dir, 'adir'), { recursive: true });
    expect(() => loadPanel(join(dir, 'adir'), {})).toThrow(/is a directory/);
  });

  it('parses an in-memory panel object', () => {
    expect(parsePanel({ members: [{ model: 'x/y' }] }, 'inline', {}).members[0]!.family).toBe('x');
  });

  it('takes the family from the vendor before the slash', () => {
    expect(familyOf('qwen/qwen3-235b-a22b:free')).toBe('qwen');
    expect(familyOf('llama3.2:3b')).toBe('llama3.2');
  });
});
