import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadPanel } from '../../src/panel/loadPanel.js';
import { parseScenario, type Scenario } from '../../src/sandbox/scenario.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';

const KEY = 'sk-or-v1-fake_key_for_tests_0123456789';
let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const ANSWER = '{"claims": ["ok"]}';

/** Starts the sandbox and writes a panel file of the given models (all served by it). */
async function setUp(scenario: Scenario, panelExtra: Record<string, unknown> = {}, members?: string[]) {
  server = await startSandboxServer({ scenario: parseScenario(scenario, 'test') });
  const dir = tempDir('quorum-panel-cli-');
  const panel = join(dir, 'panel.json');
  writeFileSync(panel, JSON.stringify({ baseURL: server.baseURL, timeoutMs: 5000, members: (members ?? scenario.models.map((m) => m.model)).map((model) => ({ model })), ...panelExtra }));
  return { dir, panel, out: join(dir, 'artifacts'), baseURL: server.baseURL };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const oneErrorLine = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Error: '));

const CATALOG: NonNullable<Scenario['catalog']> = [
  { id: 'acme/small:free', context_length: 8_000 },
  { id: 'acme/large:free', context_length: 131_072 },
  { id: 'acme/mid:free', context_length: 32_768 },
  { id: 'beta/one:free', context_length: 65_536 },
  { id: 'gamma/one:free', context_length: 16_384 },
  { id: 'delta/paid', context_length: 1_000_000, pricing: { prompt: '0.000003', completion: '0.000015' } },
];

describe('quorum panel: the table', () => {
  it('shows port, model, family, endpoint and whether the key is set, never the key', async () => {
    const { panel, out, baseURL } = await setUp({ models: [{ model: 'acme/a:free' }, { model: 'beta/b:free' }] }, { members: [{ model: 'acme/a:free' }, { model: 'beta/b:free', apiKeyEnv: 'OTHER_KEY' }] });
    const run = await runCli(['panel', '--panel', panel, '--out', out], { OPENROUTER_API_KEY: KEY });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^port\s+model\s+family\s+endpoint\s+key$/m);
    expect(run.stdout).toMatch(new RegExp(`^0\\s+acme/a:free\\s+acme\\s+${baseURL.replace(/[.]/g, '\\.')}\\s+OPENROUTER_API_KEY set$`, 'm'));
    expect(run.stdout).toMatch(/^1\s+beta\/b:free\s+beta\s+\S+\s+OTHER_KEY not set \(local: not needed\)$/m);
    expect(run.stdout).toMatch(/2 members from 2 families; a claim needs 2 votes/);
    expect(run.stdout + run.stderr).not.toContain(KEY);
    expect(existsSync(out)).toBe(false);
  });

  it('says when a remote member has no key, and does not ask for its quota', async () => {
    const dir = tempDir('quorum-panel-cli-');
    const run = await runCli(['panel', '--out', join(dir, 'artifacts')], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^0\s+meta-llama\/llama-3\.3-70b-instruct:free\s+meta-llama\s+https:\/\/openrouter\.ai\/api\/v1\s+OPENROUTER_API_KEY NOT SET$/m);
    expect(run.stdout).toMatch(/Quota at https:\/\/openrouter\.ai\/api\/v1: not checked, OPENROUTER_API_KEY is not set/);
  });

  it('notes members that share a family', async () => {
    const { panel, out } = await setUp({ models: [{ model: 'acme/a:free' }, { model: 'acme/b:free' }, { model: 'beta/c:free' }] });
    const run = await runCli(['panel', '--panel', panel, '--out', out, '--no-quota'], { OPENROUTER_API_KEY: KEY });
    expect(run.stdout).toMatch(/Note: 2 members of family acme; one family tends to fail together/);
    expect(run.stdout).not.toMatch(/Quota/);
  });

  it('shows free-model requests left today from a scripted /key and warns when an ask needs more', async () => {
    const models = Array.from({ length: 4 }, (_, i) => ({ model: `f${i}/m:free`, answer: ANSWER }));
    const { panel, out } = await setUp({ models, key: { is_free_tier: true, free_model_daily_requests: { used: 45, limit: 50, remaining: 5 } } });
    const run = await runCli(['panel', '--panel', panel, '--out', out], { OPENROUTER_API_KEY: KEY });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/free-model requests: 5 of 50 left today \(45 used; the provider's count, resets at 00:00 UTC\)/);
    expect(run.stdout).toMatch(/Warning \(quorum ask, 2 rounds\): This needs at least 8 requests to free models \(4 of 4 members are :free; retries need more\), but only 5 of today's 50 remain/);

    const json = await runCli(['panel', '--panel', panel, '--out', out, '--json'], { OPENROUTER_API_KEY: KEY });
    const doc = JSON.parse(json.stdout);
    expect(doc.members[0]).toEqual({ port: 0, model: 'f0/m:free', family: 'f0', baseURL: server!.baseURL, apiKeyEnv: 'OPENROUTER_API_KEY', keySet: true });
    expect(doc.quota[0]).toMatchObject({ freeModelRequests: { exact: true, used: 45, limit: 50, remaining: 5 }, warning: expect.stringMatching(/only 5 of today's 50 remain/) });
  });

  it('is honest when /key gives no count: the limit is an estimate and what is left unknown', async () => {
    const { panel, out } = await setUp({ models: [{ model: 'f0/m:free' }, { model: 'f1/m:free' }], key: { is_free_tier: true } });
    const run = await runCli(['panel', '--panel', panel, '--out', out], { OPENROUTER_API_KEY: KEY });
    expect(run.stdout).toMatch(/free-model requests: 50 a day, unknown how many left today \(estimated: 50\/day on the free tier/);
    expect(run.stdout).not.toMatch(/Warning/);
  });

  it('says when the endpoint has no /key, and still exits 0', async () => {
    const { panel, out, baseURL } = await setUp({ models: [{ model: 'f0/m:free' }], key: false });
    const run = await runCli(['panel', '--panel', panel, '--out', out], { OPENROUTER_API_KEY: KEY });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Quota at ${baseURL}: unknown, this endpoint has no GET /key`);
  });
});

describe('quorum panel --check', () => {
  const scenario: Scenario = {
    models: [
      { model: 'acme/ok:free', answer: ANSWER, latencyMs: 5 },
      { model: 'beta/ok:free', answer: ANSWER, latencyMs: 10 },
      { model: 'gamma/hang:free', fault: 'hang' },
      { model: 'delta/garbage:free', fault: 'malformed', latencyMs: 5 },
    ],
  };

  it('tells a hanging and a malformed member from healthy ones within the timeout; exit 1 below quorum', async () => {
    const { panel, out } = await setUp(scenario);
    const started = Date.now();
    const run = await runCli(['panel', '--panel', panel, '--out', out, '--check', '--timeout', '1500'], { OPENROUTER_API_KEY: KEY });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^0\s+acme\/ok:free\s+acme\s+ok\s+\d+ ms$/m);
    expect(run.stdout).toMatch(/^1\s+beta\/ok:free\s+beta\s+ok\s+\d+ ms$/m);
    expect(run.stdout).toMatch(/^2\s+gamma\/hang:free\s+gamma\s+failed: timeout\s+1\d{3} ms$/m);
    expect(run.stdout).toMatch(/^3\s+delta\/garbage:free\s+delta\s+failed: malformed\s+\d+ ms$/m);
    expect(run.stdout).toMatch(/UNHEALTHY: only 2 of 4 members answered; the quorum is 3\./);
    // One request each (no retries), and the hanging one was abandoned, not left open.
    expect(server!.requests.map((r) => r.model).sort()).toEqual(scenario.models.map((m) => m.model).sort());
    // The sandbox sees the socket close a moment after the client aborted.
    await vi.waitFor(() => expect(server!.requests.find((r) => r.model === 'gamma/hang:free')!.disconnected).toBe(true), { timeout: 1000 });
    expect(run.stdout + run.stderr).not.toContain(KEY);
  });

  it('exits 0 when at least the panel’s quorum is healthy, and prints {port, model, ok, kind, latencyMs} with --json', async () => {
    const { panel, out } = await setUp(scenario, { quorum: 2 });
    const run = await runCli(['panel', '--panel', panel, '--out', out, '--check', '--timeout', '1000', '--json'], { OPENROUTER_API_KEY: KEY });
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(results.map((r) => [r.port, r.model, r.ok, r.kind])).toEqual([
      [0, 'acme/ok:free', true, null],
      [1, 'beta/ok:free', true, null],
      [2, 'gamma/hang:free', false, 'timeout'],
      [3, 'delta/garbage:free', false, 'malformed'],
    ]);
    expect(results.every((r) => typeof r.latencyMs === 'number')).toBe(true);
    expect(Object.keys(results[0]!).sort()).toEqual(['kind', 'latencyMs', 'model', 'ok', 'port']);
  });

  it("uses each member's timeout without --timeout", async () => {
    const { panel, out } = await setUp(scenario, { timeoutMs: 400 });
    const run = await runCli(['panel', '--panel', panel, '--out', out, '--check', '--json'], {});
    const hang = (JSON.parse(run.stdout) as { model: string; kind: string; latencyMs: number }[]).find((r) => r.model === 'gamma/hang:free')!;
    expect(hang.kind).toBe('timeout');
    expect(hang.latencyMs).toBeGreaterThanOrEqual(390);
    expect(hang.latencyMs).toBeLessThan(1500);
  });

  it('an unreachable base URL fails every member as network: unhealthy, exit 1', async () => {
    const dir = tempDir('quorum-panel-cli-');
    const panel = join(dir, 'panel.json');
    writeFileSync(panel, JSON.stringify({ baseURL: `http://127.0.0.1:${await closedPort()}/v1`, members: [{ model: 'a/x' }, { model: 'b/y' }] }));
    const run = await runCli(['panel', '--panel', panel, '--check', '--timeout', '2000'], {});
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^0\s+a\/x\s+a\s+failed: network/m);
    expect(run.stdout).toMatch(/UNHEALTHY: only 0 of 2 members answered/);
  });

  it('a missing key for a remote member is a usage error naming the variable, before any request', async () => {
    const dir = tempDir('quorum-panel-cli-');
    const panel = join(dir, 'panel.json');
    writeFileSync(panel, JSON.stringify({ baseURL: 'https://models.example.invalid/v1', apiKeyEnv: 'EXAMPLE_KEY', members: [{ model: 'a/x' }] }));
    const run = await runCli(['panel', '--panel', panel, '--check'], {});
    expect(run.code).toBe(2);
    expect(oneErrorLine(run.stderr)).toEqual([expect.stringMatching(/^Error: Environment variable EXAMPLE_KEY is not set/)]);
  });
});

describe('quorum panel --free', () => {
  it('lists the free models of a scripted /models with context and family; --json prints an array', async () => {
    const { panel, out } = await setUp({ models: [{ model: 'acme/large:free' }], catalog: CATALOG });
    const run = await runCli(['panel', '--panel', panel, '--out', out, '--free'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^model\s+family\s+context$/m);
    expect(run.stdout).toMatch(/^acme\/large:free\s+acme\s+131,072$/m);
    expect(run.stdout).not.toContain('delta/paid');
    expect(run.stdout).toMatch(/5 free models from 3 families/);

    const json = await runCli(['panel', '--panel', panel, '--out', out, '--free', '--json'], {});
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { model: 'acme/large:free', name: 'Sandbox: acme/large:free', family: 'acme', contextLength: 131072 },
      { model: 'acme/mid:free', name: 'Sandbox: acme/mid:free', family: 'acme', contextLength: 32768 },
      { model: 'acme/small:free', name: 'Sandbox: acme/small:free', family: 'acme', contextLength: 8000 },
      { model: 'beta/one:free', name: 'Sandbox: beta/one:free', family: 'beta', contextLength: 65536 },
      { model: 'gamma/one:free', name: 'Sandbox: gamma/one:free', family: 'gamma', contextLength: 16384 },
    ]);
  });

  it('caches /models for a day in <out>/cache; --refresh asks again', async () => {
    const { panel, out } = await setUp({ models: [{ model: 'acme/large:free' }], catalog: CATALOG });
    expect((await runCli(['panel', '--panel', panel, '--out', out, '--free'], {})).stdout).toMatch(/\(fetched \d{4}-/);
    expect(readdirSync(join(out, 'cache'))).toEqual([expect.stringMatching(/^models-[0-9a-f]{16}\.json$/)]);
    await server!.close();
    const cached = await runCli(['panel', '--panel', panel, '--out', out, '--free'], {});
    expect(cached.code).toBe(0);
    expect(cached.stdout).toMatch(/cached list fetched .*; --refresh fetches it again/);
    expect(cached.stdout).toMatch(/^acme\/large:free/m);
    const refreshed = await runCli(['panel', '--panel', panel, '--out', out, '--free', '--refresh'], {});
    expect(refreshed.code).toBe(2);
    expect(oneErrorLine(refreshed.stderr)).toEqual([expect.stringMatching(/^Error: Cannot reach http:\/\/127\.0\.0\.1:\d+\/api\/v1\/models \(ECONNREFUSED\)/)]);
  });

  it('an unreachable base URL is one clear line and exit 2', async () => {
    const dir = tempDir('quorum-panel-cli-');
    const out = join(dir, 'artifacts');
    const run = await runCli(['panel', '--free', '--out', out], { OPENROUTER_BASE_URL: `http://127.0.0.1:${await closedPort()}/api/v1` });
    expect(run.code).toBe(2);
    expect(oneErrorLine(run.stderr)).toEqual([expect.stringMatching(/^Error: Cannot reach http:\/\/127\.0\.0\.1:\d+\/api\/v1\/models \(ECONNREFUSED\); check the base URL/)]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });
});

describe('quorum panel --suggest N', () => {
  it('writes N free models, one per family (one family with three free models gives one seat), larger context first', async () => {
    const { dir, panel, out, baseURL } = await setUp({ models: [{ model: 'acme/large:free' }], catalog: CATALOG });
    const to = join(dir, 'suggested.json');
    const run = await runCli(['panel', '--panel', panel, '--out', out, '--suggest', '3', '--to', to], {});
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(to, 'utf8'))).toEqual({
      baseURL,
      members: [
        { port: 0, model: 'acme/large:free', family: 'acme' },
        { port: 1, model: 'beta/one:free', family: 'beta' },
        { port: 2, model: 'gamma/one:free', family: 'gamma' },
      ],
    });
    expect(loadPanel(to, {}).members).toHaveLength(3);
    expect(run.stdout).toMatch(/^0\s+acme\/large:free\s+acme\s+131,072\s+not checked$/m);
    expect(run.stdout).toContain(`Wrote ${to} (3 members, one per family)`);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to overwrite an existing file without --force', async () => {
    const { dir, panel, out } = await setUp({ models: [{ model: 'acme/large:free' }], catalog: CATALOG });
    const to = join(dir, 'mine.json');
    writeFileSync(to, '{"keep": true}');
    const refused = await runCli(['panel', '--panel', panel, '--out', out, '--suggest', '2', '--to', to], {});
    expect(refused.code).toBe(2);
    expect(oneErrorLine(refused.stderr)).toEqual([`Error: ${to} already exists; pass --force to overwrite it, or --to another file`]);
    expect(readFileSync(to, 'utf8')).toBe('{"keep": true}');
    const forced = await runCli(['panel', '--panel', panel, '--out', out, '--suggest', '2', '--to', to, '--force'], {});
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(to, 'utf8')).members).toHaveLength(2);
  });

  it('fills fewer seats when there are fewer families, and says so; writes YAML for a .yaml file', async () => {
    const { dir, panel, out } = await setUp({ models: [{ model: 'acme/large:free' }], catalog: CATALOG });
    const to = join(dir, 'suggested.yaml');
    const run = await runCli(['panel', '--panel', panel, '--out', out, '--suggest', '8', '--to', to], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Only 3 of the 8 seats asked for are filled: only 3 families have a free model\./);
    expect(readFileSync(to, 'utf8')).toMatch(/^# Suggested by quorum panel --suggest 8/);
    expect(loadPanel(to, {}).members.map((m) => m.family)).toEqual(['acme', 'beta', 'gamma']);
  });

  it('with --check, passes over a pick that fails and takes the next model of its family', async () => {
    // The sandbox serves acme/mid and beta/one; acme/large is listed but answers 404, gamma hangs.
    const { dir, panel, out } = await setUp({
      models: [{ model: 'acme/mid:free', answer: ANSWER }, { model: 'beta/one:free', answer: ANSWER }, { model: 'gamma/one:free', fault: 'hang' }],
      catalog: CATALOG,
    });
    const to = join(dir, 'checked.json');
    const run = await runCli(['panel', '--panel', panel, '--out', out, '--suggest', '3', '--check', '--timeout', '1000', '--to', to, '--json'], {});
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.members.map((m: { model: string }) => m.model)).toEqual(['beta/one:free', 'acme/mid:free']);
    expect(doc.members.every((m: { check: string }) => /^ok \(\d+ ms\)$/.test(m.check))).toBe(true);
    expect(doc.rejected).toEqual([
      expect.objectContaining({ model: 'acme/large:free', check: 'failed: http' }),
      expect.objectContaining({ model: 'gamma/one:free', check: 'failed: timeout' }),
    ]);
    expect(JSON.parse(readFileSync(to, 'utf8')).members.map((m: { model: string }) => m.model)).toEqual(['beta/one:free', 'acme/mid:free']);
  });

  it('writes nothing and exits 1 when no free model is listed', async () => {
    const { dir, panel, out } = await setUp({ models: [{ model: 'acme/a' }], catalog: [{ id: 'acme/a', pricing: { prompt: '1', completion: '1' } }] });
    const to = join(dir, 'none.json');
    const run = await runCli(['panel', '--panel', panel, '--out', out, '--suggest', '2', '--to', to], {});
    expect(run.code).toBe(1);
    expect(oneErrorLine(run.stderr)).toEqual([expect.stringMatching(/^Error: no free model is listed at .*; nothing was written/)]);
    expect(existsSync(to)).toBe(false);
  });
});

describe('quorum panel: bad input is exit 2 and one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['panel', '--chekc'], /Unknown argument: chekc/],
    ['a non-numeric --timeout', ['panel', '--check', '--timeout', 'soon'], /Expected --timeout to be an integer ≥ 1, got "soon"/],
    ['--suggest 0', ['panel', '--suggest', '0'], /Expected --suggest to be an integer ≥ 1, got "0"/],
    ['--to without --suggest', ['panel', '--to', 'x.json'], /--to names the file --suggest writes; add --suggest N/],
    ['--check with --free', ['panel', '--free', '--check'], /--check with --free would spend one request per free model/],
    ['--refresh without --free', ['panel', '--refresh'], /--refresh re-reads the model list/],
    ['a --to that is not JSON or YAML', ['panel', '--suggest', '2', '--to', 'panel.txt'], /--to panel\.txt: expected a \.json, \.yaml or \.yml file name/],
    ['a missing panel file', ['panel', '--panel', 'nope/panel.json'], /Panel file nope\/panel\.json cannot be read \(ENOENT\)/],
  ];
  for (const [what, args, message] of cases) {
    it(`rejects ${what}`, async () => {
      const out = join(tempDir('quorum-panel-bad-'), 'artifacts');
      const run = await runCli([...args, '--out', out], {});
      expect(run.code).toBe(2);
      expect(oneErrorLine(run.stderr)).toEqual([expect.stringMatching(message)]);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe('quorum panel: a key goes only where it may, checked before any connection', () => {
  /** A loopback server that counts every request (any path) and answers 404. */
  async function countingServer() {
    const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
    const http = createHttpServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const baseURL = `http://127.0.0.1:${(http.address() as { port: number }).port}/v1`;
    return { baseURL, seen, close: () => new Promise<void>((r) => http.close(() => r())) };
  }
  const panelFile = (content: Record<string, unknown>) => {
    const dir = tempDir('quorum-panel-key-');
    const path = join(dir, 'panel.json');
    writeFileSync(path, JSON.stringify(content));
    return { path, out: join(dir, 'artifacts') };
  };
  const onlyLine = (stderr: string) => stderr.trim().split('\n');
  const ENV = { OPENROUTER_API_KEY: KEY, OLLAMA_KEY: KEY, AWS_SECRET_ACCESS_KEY: KEY };

  const refusals: [string, (base: string) => Record<string, unknown>, RegExp][] = [
    ['a member on the cloud-metadata address', (base) => ({ baseURL: base, members: [{ model: 'a/x' }, { model: 'b/y', baseURL: 'http://169.254.169.254/latest/v1' }] }), /members\[1\]\.baseURL: http:\/\/169\.254\.169\.254\/latest\/v1 is a link-local or cloud-metadata address/],
    ['https to metadata.google.internal, even with allowInsecureHttp', (base) => ({ baseURL: base, allowInsecureHttp: true, members: [{ model: 'a/x' }, { model: 'b/y', baseURL: 'https://metadata.google.internal/v1' }] }), /members\[1\]\.baseURL: https:\/\/metadata\.google\.internal\/v1 is a link-local or cloud-metadata address/],
    ['a member on fe80::/10', (base) => ({ baseURL: base, members: [{ model: 'a/x' }, { model: 'b/y', baseURL: 'http://[fe80::1]:11434/v1' }] }), /link-local/],
    ['plain http to a LAN host without allowInsecureHttp', (base) => ({ baseURL: base, members: [{ model: 'a/x' }, { model: 'b/y', baseURL: 'http://192.0.2.10:11434/v1', apiKeyEnv: 'OLLAMA_KEY' }] }), /members\[1\]\.baseURL: http:\/\/192\.0\.2\.10:11434\/v1 is plain http to a host that is not loopback, so OLLAMA_KEY and every prompt would cross the network unencrypted/],
    ['a cloud credential as apiKeyEnv', (base) => ({ baseURL: base, apiKeyEnv: 'AWS_SECRET_ACCESS_KEY', members: [{ model: 'a/x' }] }), /apiKeyEnv: AWS_SECRET_ACCESS_KEY is not a model API key variable/],
    ['a variable that is not a key as apiKeyEnv', (base) => ({ baseURL: base, members: [{ model: 'a/x', apiKeyEnv: 'HOME' }] }), /members\[0\]\.apiKeyEnv: expected a name ending in _KEY, _API_KEY or _TOKEN/],
  ];
  for (const [what, content, message] of refusals) {
    it(`refuses ${what}: exit 2, one line, zero requests`, async () => {
      const server = await countingServer();
      try {
        const { path, out } = panelFile(content(server.baseURL));
        for (const extra of [[], ['--check'], ['--free']]) {
          const run = await runCli(['panel', '--panel', path, '--out', out, '--timeout', '500', ...extra], ENV);
          expect(run.code).toBe(2);
          expect(onlyLine(run.stderr)).toEqual([expect.stringMatching(message)]);
          expect(run.stdout).toBe('');
          expect(run.stderr).not.toContain(KEY);
        }
        expect(server.seen).toEqual([]);
      } finally {
        await server.close();
      }
    });
  }

  it('the built binary refuses too: exit 2, one line, the loopback server sees nothing', async () => {
    const server = await countingServer();
    try {
      const { path, out } = panelFile({ baseURL: server.baseURL, members: [{ model: 'a/x' }, { model: 'b/y', baseURL: 'http://169.254.169.254/v1' }] });
      const run = await spawnCli(['panel', '--panel', path, '--out', out, '--timeout', '500'], ENV).done;
      expect(run.code).toBe(2);
      expect(onlyLine(run.stderr)).toEqual([expect.stringMatching(/^Error: Panel file .*members\[1\]\.baseURL: http:\/\/169\.254\.169\.254\/v1 is a link-local or cloud-metadata address/)]);
      expect(server.seen).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('OPENROUTER_BASE_URL is held to the same rules: exit 2, one line', async () => {
    const out = join(tempDir('quorum-panel-key-'), 'artifacts');
    for (const [url, message] of [
      ['http://169.254.169.254/api/v1', /^Error: OPENROUTER_BASE_URL=http:\/\/169\.254\.169\.254\/api\/v1 is a link-local or cloud-metadata address/],
      ['http://192.0.2.10/api/v1', /^Error: OPENROUTER_BASE_URL=http:\/\/192\.0\.2\.10\/api\/v1 is plain http .* OPENROUTER_API_KEY/],
    ] as const) {
      const run = await runCli(['panel', '--out', out, '--no-quota'], { OPENROUTER_API_KEY: KEY, OPENROUTER_BASE_URL: url });
      expect(run.code).toBe(2);
      expect(onlyLine(run.stderr)).toEqual([expect.stringMatching(message)]);
      expect(run.stdout).toBe('');
    }
  });

  it('shows which variable is sent to which host; allowInsecureHttp lets a LAN member in and says so', async () => {
    const server = await countingServer();
    try {
      const { path, out } = panelFile({
        baseURL: server.baseURL,
        members: [
          { model: 'a/x' },
          { model: 'llama3.2:3b', baseURL: 'http://192.0.2.10:11434/v1', apiKeyEnv: 'OLLAMA_KEY', allowInsecureHttp: true },
          { model: 'c/z', baseURL: 'https://openrouter.ai/api/v1' },
          { model: 'd/w' },
        ],
      });
      const host = new URL(server.baseURL).host;
      const run = await runCli(['panel', '--panel', path, '--out', out, '--no-quota'], ENV);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(
        [
          'Keys sent (as Authorization: Bearer):',
          `  OPENROUTER_API_KEY -> ${host} (http, loopback) (ports 0, 3)`,
          '  OLLAMA_KEY -> 192.0.2.10:11434 (plain http, allowInsecureHttp) (port 1)',
          '  OPENROUTER_API_KEY -> openrouter.ai (port 2)',
        ].join('\n'),
      );
      const json = await runCli(['panel', '--panel', path, '--out', out, '--no-quota', '--json'], ENV);
      expect(JSON.parse(json.stdout).keys).toEqual([
        { apiKeyEnv: 'OPENROUTER_API_KEY', sentTo: `${host} (http, loopback)`, ports: [0, 3] },
        { apiKeyEnv: 'OLLAMA_KEY', sentTo: '192.0.2.10:11434 (plain http, allowInsecureHttp)', ports: [1] },
        { apiKeyEnv: 'OPENROUTER_API_KEY', sentTo: 'openrouter.ai', ports: [2] },
      ]);
      expect(server.seen).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
