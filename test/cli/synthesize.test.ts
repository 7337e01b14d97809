import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { chairText, mostAgreeingMember } from '../../src/operators/synthesize.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { Scenario } from '../../src/sandbox/scenario.js';
import type { ConsensusDocument, ConsensusResult } from '../../src/types.js';
import { members } from '../helpers/marbles.js';
import { panelScenario, runCli, tempDir, writePanel } from '../helpers/cli.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function ask(scenario: Scenario, args: string[]) {
  server = await startSandboxServer({ scenario });
  const dir = tempDir();
  const run = await runCli(['ask', 'What does the spec say?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', join(dir, 'a'), '--json', ...args], { OPENROUTER_API_KEY: 'sk-test' });
  return { run, doc: JSON.parse(run.stdout) as ConsensusDocument };
}

describe('--synthesize: a chair writes the answer from the consensus only', () => {
  it('writes a prose answer that cites the consensus claims', async () => {
    const scenario = panelScenario();
    scenario.models[3]!.chairAnswer = 'Port 8080 is the default [c1]. Messages are numbered [c2]. Idle links close [c3]. Also [c9] is not a claim.';
    const { run, doc } = await ask(scenario, ['--synthesize', 'family3/model-3']);
    expect(run.code).toBe(0);
    expect(doc.synthesis).toEqual({ model: 'family3/model-3', text: 'Port 8080 is the default [c1]. Messages are numbered [c2]. Idle links close [c3]. Also is not a claim.' });
    expect(server!.requests.filter((r) => r.model === 'family3/model-3')).toHaveLength(3);
  });

  it('a chair that fails never loses the consensus', async () => {
    const { run, doc } = await ask(panelScenario(), ['--synthesize', 'nobody/unknown-model']);
    expect(run.code).toBe(0);
    expect(doc.claims).toHaveLength(3);
    expect(doc.synthesis).toMatchObject({ model: 'nobody/unknown-model', error: expect.stringMatching(/^http: /) });
  });

  it('without a model the member that agrees most with the consensus chairs', () => {
    const panel = members(3);
    const result = { claims: [{ text: 'a', support: 2, ports: [1, 2] }, { text: 'b', support: 2, ports: [2, 0] }] } as ConsensusResult;
    expect(mostAgreeingMember(panel, result).port).toBe(2);
  });

  it('drops reasoning and citations of claims that do not exist', () => {
    expect(chairText('<think>hmm</think> A [c1], B [C2], C [c3] and [c0].', 2, 'm')).toEqual({ model: 'm', text: 'A [c1], B [c2], C and.' });
    expect(chairText('  ', 2, 'm')).toEqual({ model: 'm', error: 'the chair answered with no text' });
  });
});
