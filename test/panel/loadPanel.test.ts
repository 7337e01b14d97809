import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { familyOf } from '../../src/models/family.js';
import { defaultPanel, loadPanel, parsePanel } from '../../src/panel/loadPanel.js';

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

describe('panel: where a key may go (baseURL) and which variable may be a key (apiKeyEnv)', () => {
  const load = (panel: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => parsePanel(panel, 'p.json', env);
  const refused = (panel: Record<string, unknown>, message: RegExp, env: NodeJS.ProcessEnv = {}) => {
    expect(() => load(panel, env)).toThrow(UsageError);
    expect(() => load(panel, env)).toThrow(message);
  };

  it('refuses link-local and cloud-metadata addresses, whatever the scheme, even with allowInsecureHttp', () => {
    const metadata = /is a link-local or cloud-metadata address; quorum never sends requests there/;
    for (const baseURL of [
      'http://169.254.169.254/latest/meta-data',
      'https://169.254.169.254/v1',
      'http://169.254.1.2:11434/v1',
      'http://2852039166/v1', // 169.254.169.254 written as one number
      'http://[::ffff:169.254.169.254]/v1',
      'http://[fe80::1]/v1',
      'https://[febf::abcd]/v1',
      'http://metadata.google.internal/computeMetadata/v1',
      'https://METADATA.google.internal./v1',
      'http://metadata/v1',
      'http://100.100.100.200/latest',
      'http://[fd00:ec2::254]/latest',
    ]) {
      refused({ baseURL, allowInsecureHttp: true, members: [{ model: 'a/x' }] }, metadata);
      refused({ members: [{ model: 'a/x' }, { model: 'b/y', baseURL, allowInsecureHttp: true }] }, /members\[1\]\.baseURL: .* is a link-local or cloud-metadata address/);
    }
    // fec0:: is not fe80::/10, 169.255.x is not 169.254/16: https there is fine.
    expect(load({ baseURL: 'https://[fec0::1]/v1', members: [{ model: 'a/x' }] }).baseURL).toBe('https://[fec0::1]/v1');
    expect(load({ baseURL: 'https://169.255.0.1/v1', members: [{ model: 'a/x' }] }).baseURL).toBe('https://169.255.0.1/v1');
  });

  it('refuses plain http to a host that is not loopback, naming the key variable and the way out', () => {
    refused({ baseURL: 'http://192.168.1.20:11434/v1', members: [{ model: 'a/x' }] }, /^Panel file p\.json: baseURL: http:\/\/192\.168\.1\.20:11434\/v1 is plain http to a host that is not loopback, so OPENROUTER_API_KEY and every prompt would cross the network unencrypted; use https, or add "allowInsecureHttp": true/);
    refused({ members: [{ model: 'a/x' }, { model: 'b/y', baseURL: 'http://ollama.lan:11434/v1', apiKeyEnv: 'OLLAMA_KEY' }] }, /^Panel file p\.json: members\[1\]\.baseURL: http:\/\/ollama\.lan:11434\/v1 is plain http .* so OLLAMA_KEY/);
    refused({ baseURL: 'http://10.0.0.5/v1', members: [{ model: 'a/x' }] }, /not loopback/);
    refused({ baseURL: 'http://[2001:db8::1]/v1', members: [{ model: 'a/x' }] }, /not loopback/);
    refused({ baseURL: 'http://localhost.example.com/v1', members: [{ model: 'a/x' }] }, /not loopback/);
    refused({ baseURL: 'http://128.0.0.1/v1', members: [{ model: 'a/x' }] }, /not loopback/);
    // https anywhere, and http on loopback, stay as they were.
    const ok = load({
      baseURL: 'https://openrouter.ai/api/v1',
      members: ['http://127.0.0.1:11434/v1', 'http://127.8.9.10/v1', 'http://localhost:8080/v1', 'http://[::1]:8080/v1', 'https://10.0.0.5/v1'].map((baseURL, i) => ({ model: `f${i}/m`, baseURL })),
    });
    expect(ok.members.map((m) => m.baseURL)).toEqual(['http://127.0.0.1:11434/v1', 'http://127.8.9.10/v1', 'http://localhost:8080/v1', 'http://[::1]:8080/v1', 'https://10.0.0.5/v1']);
  });

  it('lets plain http reach another host only when the file says allowInsecureHttp, top level or per member', () => {
    const top = load({ baseURL: 'http://192.168.1.20:11434/v1', allowInsecureHttp: true, apiKeyEnv: 'OLLAMA_KEY', members: [{ model: 'llama3.2:3b' }] });
    expect(top.members[0]).toMatchObject({ baseURL: 'http://192.168.1.20:11434/v1', apiKeyEnv: 'OLLAMA_KEY' });
    const member = load({ members: [{ model: 'a/x' }, { model: 'llama3.2:3b', baseURL: 'http://ollama.lan:11434/v1', apiKeyEnv: 'OLLAMA_KEY', allowInsecureHttp: true }] });
    expect(member.members[1]!.baseURL).toBe('http://ollama.lan:11434/v1');
    // A member's own false wins over the top level's true; the flag must be a boolean.
    refused({ baseURL: 'http://192.168.1.20/v1', allowInsecureHttp: true, members: [{ model: 'a/x' }, { model: 'b/y', allowInsecureHttp: false }] }, /members\[1\] \(baseURL from the top level\): http:\/\/192\.168\.1\.20\/v1 is plain http/);
    refused({ allowInsecureHttp: 'yes', members: [{ model: 'a/x' }] }, /allowInsecureHttp: expected true or false/);
    // The flag for one member does not open the others.
    refused({ members: [{ model: 'a/x', baseURL: 'http://10.0.0.5/v1' }, { model: 'b/y', baseURL: 'http://10.0.0.6/v1', allowInsecureHttp: true }] }, /members\[0\]\.baseURL: http:\/\/10\.0\.0\.5\/v1 is plain http/);
  });

  it('puts OPENROUTER_BASE_URL under the same rules, for the built-in panel and a file without baseURL', () => {
    for (const [url, message] of [
      ['http://169.254.169.254/latest', /^OPENROUTER_BASE_URL=http:\/\/169\.254\.169\.254\/latest is a link-local or cloud-metadata address/],
      ['http://192.168.1.20:8080/api/v1', /^OPENROUTER_BASE_URL=http:\/\/192\.168\.1\.20:8080\/api\/v1 is plain http .* so OPENROUTER_API_KEY .* add "allowInsecureHttp": true to the top level of a panel file/],
    ] as const) {
      expect(() => defaultPanel({ OPENROUTER_BASE_URL: url })).toThrow(UsageError);
      expect(() => defaultPanel({ OPENROUTER_BASE_URL: url })).toThrow(message);
      expect(() => load({ members: [{ model: 'a/x' }] }, { OPENROUTER_BASE_URL: url })).toThrow(message);
    }
    expect(defaultPanel({ OPENROUTER_BASE_URL: 'https://proxy.example.com/api/v1' }).baseURL).toBe('https://proxy.example.com/api/v1');
    expect(defaultPanel({ OPENROUTER_BASE_URL: 'http://localhost:9999/api/v1' }).baseURL).toBe('http://localhost:9999/api/v1');
    // A file that opts in at the top level covers the endpoint it inherits from the variable.
    expect(load({ allowInsecureHttp: true, members: [{ model: 'a/x' }] }, { OPENROUTER_BASE_URL: 'http://192.168.1.20:8080/v1' }).baseURL).toBe('http://192.168.1.20:8080/v1');
  });

  it('refuses an apiKeyEnv that is a cloud, CI or other credential, or does not look like a key', () => {
    for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'GOOGLE_APPLICATION_CREDENTIALS', 'AZURE_CLIENT_SECRET', 'AZURE_STORAGE_KEY', 'GITHUB_TOKEN', 'GH_TOKEN', 'CI_JOB_TOKEN', 'NPM_TOKEN', 'VAULT_TOKEN', 'aws_secret_access_key']) {
      refused({ apiKeyEnv: name, members: [{ model: 'a/x' }] }, new RegExp(`^Panel file p\\.json: apiKeyEnv: ${name} is not a model API key variable: it is a well-known cloud, CI or infrastructure credential`));
      refused({ members: [{ model: 'a/x', apiKeyEnv: name }] }, /^Panel file p\.json: members\[0\]\.apiKeyEnv: .* is not a model API key variable/);
    }
    for (const name of ['STRIPE_SECRET_KEY', 'SSH_PRIVATE_KEY', 'DB_PASSWORD_TOKEN', 'MINIO_ACCESS_KEY', 'OAUTH_REFRESH_TOKEN']) {
      refused({ apiKeyEnv: name, members: [{ model: 'a/x' }] }, /is not a model API key variable: a name with SECRET, PRIVATE, PASSWORD/);
    }
    for (const name of ['PATH', 'HOME', 'DATABASE_URL', 'MONKEY', 'KEYS']) {
      refused({ apiKeyEnv: name, members: [{ model: 'a/x' }] }, /apiKeyEnv: expected a name ending in _KEY, _API_KEY or _TOKEN/);
    }
    // Model keys keep working.
    for (const name of ['OPENROUTER_API_KEY', 'OPENAI_API_KEY', 'OLLAMA_KEY', 'HF_TOKEN', 'GROQ_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'AZURE_OPENAI_API_KEY', 'MISTRAL_APIKEY', 'API_KEY', 'TOGETHER_TOKEN']) {
      expect(load({ apiKeyEnv: name, members: [{ model: 'a/x' }] }).apiKeyEnv).toBe(name);
    }
  });
});
