import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readJsonl } from '../../src/sinks/readJsonl.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import { CLI, panelScenario, spawnCli, tempDir, writePanel } from '../helpers/cli.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
});

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe('signals and the real binary', () => {
  it('Ctrl-C cancels every in-flight call, writes no consensus, keeps the JSONL whole and exits 130', async () => {
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ fault: 'hang' as const })));
    server = await startSandboxServer({ scenario });
    const dir = tempDir();
    const out = join(dir, 'artifacts');
    const cli = spawnCli(['ask', 'q?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out], { OPENROUTER_API_KEY: 'sk-test' });
    await until(() => server!.requests.length === 8, 'all eight requests');
    cli.child.kill('SIGINT');
    const run = await cli.done;
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/Interrupted: run .* cancelled; no consensus was written/);
    await until(() => server!.requests.every((r) => r.disconnected), 'the requests to be aborted');
    // No port answered, so the run left no folder at all, let alone a consensus.
    expect(existsSync(join(out, 'runs'))).toBe(false);
    const events = await readJsonl<Record<string, any>>(join(out, 'cloudevents.jsonl'));
    expect(events.skipped).toBe(0);
    expect(events.records.at(-1)).toMatchObject({ type: 'quorum.run.completed', data: { status: 'interrupted', exitCode: 130 } });
    const spans = await readJsonl<Record<string, any>>(join(out, 'traces.jsonl'));
    expect(spans.skipped).toBe(0);
    expect(spans.records.filter((s) => s.name === 'query_model')).toHaveLength(8);
  });

  it('`quorum ask --sandbox` runs the whole pipeline offline and says the models are simulated', async () => {
    const out = join(tempDir(), 'artifacts');
    const run = await spawnCli(['ask', 'What is this?', '--sandbox', '--out', out], {}).done;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/SANDBOX: 8 simulated models/);
    expect(run.stdout).toMatch(/SANDBOX: these answers come from simulated models/);
    expect(run.stdout).toMatch(/CONSENSUS — 8 of 8/);
    const runs = readdirSync(join(out, 'runs'));
    expect(readdirSync(join(out, 'runs', runs[0]!, 'responses'))).toHaveLength(8);
  });

  it('`quorum sandbox` serves simulated models until Ctrl-C', async () => {
    const cli = spawnCli(['sandbox', '--port', '0']);
    await until(() => /at (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.test(cli.output().stdout), 'the sandbox to listen');
    const baseURL = /at (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.exec(cli.output().stdout)![1]!;
    const models = (await (await fetch(`${baseURL}/models`)).json()) as { data: { id: string }[] };
    expect(models.data).toHaveLength(8);
    cli.child.kill('SIGINT');
    expect((await cli.done).code).toBe(130);
  });
});
