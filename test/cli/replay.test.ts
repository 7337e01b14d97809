import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSandboxServer } from '../../src/sandbox/server.js';
import type { ConsensusDocument } from '../../src/types.js';
import { panelScenario, runCli, tempDir, writePanel } from '../helpers/cli.js';

const ENV = { OPENROUTER_API_KEY: 'sk-test' };

/** A recorded run, made against the sandbox, whose server is gone before any replay. */
async function recordedRun(args: string[] = []) {
  const scenario = panelScenario([{}, {}, {}, {}, {}, {}, { fault: 'http_500' }]);
  // A claim two ports share: dissent at quorum 6, consensus at quorum 2.
  scenario.models[0]!.answer = JSON.stringify({ claims: ['The protocol uses port 8080 by default.', 'A pair of ports share this rare claim.'] });
  scenario.models[1]!.answer = JSON.stringify({ claims: ['The protocol uses port 8080 by default.', 'A pair of ports share this rare claim.'] });
  const server = await startSandboxServer({ scenario });
  const dir = tempDir();
  const out = join(dir, 'artifacts');
  const run = await runCli(['ask', 'What does the spec say?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--json', ...args], ENV);
  await server.close();
  return { out, doc: JSON.parse(run.stdout) as ConsensusDocument };
}

const replay = async (out: string, args: string[]) => {
  const run = await runCli(['replay', ...args, '--out', out, '--json'], ENV);
  return { ...run, doc: run.code === 2 ? undefined : (JSON.parse(run.stdout) as ConsensusDocument) };
};

describe('quorum replay', () => {
  it('re-gathers a two-round run with no model call and writes a new consensus naming its source', async () => {
    const { out, doc } = await recordedRun();
    const again = await replay(out, [doc.runId]);
    expect(again.code).toBe(0);
    expect(again.doc!.runId).not.toBe(doc.runId);
    expect(again.doc!.replayOf).toBe(doc.runId);
    const strip = (d: ConsensusDocument) => ({ status: d.status, quorum: d.quorum, claims: d.claims, dissent: d.dissent, failures: d.failures, rounds: d.rounds });
    expect(strip(again.doc!)).toEqual(strip(doc));
    expect(readdirSync(join(out, 'runs')).sort()).toEqual([doc.runId, again.doc!.runId].sort());
    expect(JSON.parse(readFileSync(join(out, 'runs', again.doc!.runId, 'consensus.json'), 'utf8'))).toEqual(again.doc);
  });

  it('--quorum re-decides which claims pass', async () => {
    const { out, doc } = await recordedRun();
    expect(doc.dissent.map((c) => c.text)).toContain('A pair of ports share this rare claim.');
    const lower = await replay(out, [doc.runId, '--quorum', '2']);
    expect(lower.doc!.quorum.configured).toBe(2);
    expect(lower.doc!.claims.map((c) => c.text)).toContain('A pair of ports share this rare claim.');
  });

  it('replays a two-round run as one round, and refuses the reverse', async () => {
    const two = await recordedRun();
    expect((await replay(two.out, [two.doc.runId, '--rounds', '1'])).doc!.rounds).toBe(1);
    const one = await recordedRun(['--rounds', '1']);
    const refused = await replay(one.out, [one.doc.runId, '--rounds', '2']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/has no recorded vote round \(it ran with --rounds 1\); replay it with --rounds 1/);
  });

  it('a replay can itself be replayed', async () => {
    const { out, doc } = await recordedRun();
    const first = await replay(out, [doc.runId, '--quorum', '5']);
    const second = await replay(out, [first.doc!.runId]);
    expect(second.doc!.claims).toEqual(first.doc!.claims);
    expect(second.doc!.replayOf).toBe(first.doc!.runId);
  });

  it('an unknown run id is exit 2 and names the ids nearby', async () => {
    const { out, doc } = await recordedRun();
    const typo = `${doc.runId.slice(0, -1)}x`;
    const run = await replay(out, [typo]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`Unknown run id ${typo} .*nearby: ${doc.runId}`));
    const empty = await runCli(['replay', 'whatever', '--out', join(tempDir(), 'none')], ENV);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/holds no runs; check --out/);
  });
});
