import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import { panelScenario, spawnCli, tempDir, writePanel } from '../helpers/cli.js';
import { answerLines, runLines } from '../helpers/runLog.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const ENV = { OPENROUTER_API_KEY: 'sk-test' };

describe('several processes, one artifacts folder', () => {
  it('two asks and a batch at once append whole lines to the same logs, each run decided once', async () => {
    const scenario = panelScenario();
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-shared-');
    const out = join(dir, 'artifacts');
    const panel = writePanel(dir, server.baseURL, scenario);
    const specs = join(dir, 'specs');
    mkdirSync(specs);
    for (let f = 0; f < 3; f++) writeFileSync(join(specs, `s${f}.md`), `# Spec ${f}\n\nThe protocol ${f} keeps state and numbers every message.\n`);
    const runs = [
      spawnCli(['ask', 'What does the protocol do?', '--panel', panel, '--out', out, '--json'], ENV),
      spawnCli(['ask', 'How are messages numbered?', '--panel', panel, '--out', out, '--rounds', '1', '--json'], ENV),
      spawnCli(['batch', specs, '--query', 'What does it say?', '--panel', panel, '--out', out, '--rounds', '1', '--concurrency', '3', '--json'], ENV),
    ];
    const done = await Promise.all(runs.map((r) => r.done));
    expect(done.map((d) => d.code)).toEqual([0, 0, 0]);

    for (const file of readdirSync(out).filter((f) => f.endsWith('.jsonl'))) {
      const text = readFileSync(join(out, file), 'utf8');
      expect(text.endsWith('\n'), file).toBe(true);
      for (const line of text.trimEnd().split('\n')) expect(() => JSON.parse(line), `${file}: ${line.slice(0, 60)}`).not.toThrow();
    }
    const lines = runLines(out);
    expect(lines).toHaveLength(2 + 3);
    expect(new Set(lines.map((l) => l.runId)).size).toBe(5);
    const asked = [JSON.parse(done[0]!.stdout).runId, JSON.parse(done[1]!.stdout).runId];
    expect(lines.filter((l) => !l.batchId).map((l) => l.runId).sort()).toEqual(asked.sort());
    // Every answer line belongs to a decided run; the two asks rendered their files, the batch did not.
    expect(new Set(answerLines(out).map((a) => a.runId))).toEqual(new Set(lines.map((l) => l.runId)));
    expect(readdirSync(join(out, 'runs')).sort()).toEqual(asked.sort());
    // No lock or key file is left behind.
    expect(readdirSync(out).filter((f) => f.startsWith('.runlog.lock'))).toEqual([]);
  });
});
