import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FactGroup, SandboxModel, Scenario } from '../../src/sandbox/scenario.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { ConsensusDocument } from '../../src/types.js';
import { runCli, tempDir, writePanel } from '../helpers/cli.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function consensusOf(scenario: Scenario, args: string[] = []): Promise<ConsensusDocument> {
  server = await startSandboxServer({ scenario });
  const dir = tempDir();
  const out = join(dir, 'artifacts');
  // Every port is waited for (no straggler cut), so verdicts never depend on the machine's load.
  const grace = args.includes('--grace') ? [] : ['--grace', '-1'];
  const run = await runCli(['ask', 'What does the protocol spec say?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, ...grace, ...args], { OPENROUTER_API_KEY: 'sk-test' });
  expect(run.stderr).not.toMatch(/^Error/m);
  const [runId] = readdirSync(join(out, 'runs'));
  await server.close();
  server = undefined;
  return JSON.parse(readFileSync(join(out, 'runs', runId!, 'consensus.json'), 'utf8')) as ConsensusDocument;
}

const PORT = ['The protocol uses port 8080 by default.', 'By default, the protocol listens on port 8080.', "Port 8080 is the protocol's default port.", 'The default port of the protocol is 8080.'];
const SEQ = ['Every message carries a sequence number.', 'Each message includes a sequence number.', 'All messages have a sequence number.', 'A sequence number is included in every message.'];
const IDLE = ['Connections close after 30 seconds of silence.', 'An idle connection is closed after 30 seconds.', 'After 30 seconds of inactivity, the connection is closed.', 'Connections are closed after 30 idle seconds.'];
const LOOKALIKE = { port: 'The protocol uses port 8081 by default.', idle: 'Connections close after 60 seconds of silence.', seq: 'Messages do not carry a sequence number.' };

/**
 * What the panels below mean: every wording of a fact is that fact, each look-alike contradicts
 * it. Declared so that honest votes come from the scenario, not from the matcher under test.
 */
const FACTS: FactGroup[] = [
  { id: 'port', wordings: PORT },
  { id: 'seq', wordings: SEQ },
  { id: 'idle', wordings: IDLE },
  { id: 'port-8081', wordings: [LOOKALIKE.port], contradicts: ['port'] },
  { id: 'idle-60', wordings: [LOOKALIKE.idle], contradicts: ['idle'] },
  { id: 'no-seq', wordings: [LOOKALIKE.seq], contradicts: ['seq'] },
];
const declared = (models: SandboxModel[]): Scenario => ({ models, facts: FACTS });

const model = (port: number, claims: string[], extra: Partial<SandboxModel> = {}): SandboxModel => ({
  model: `family${port}/model-${port}`,
  family: `family${port}`,
  latencyMs: 3 + port,
  answer: port % 2 ? claims.map((c) => `- ${c}`).join('\n') : JSON.stringify({ claims }),
  ...extra,
});

/** Eight ports, each wording the three facts its own way; three ports state a look-alike instead of one fact. */
function paraphrasePanel(): SandboxModel[] {
  return Array.from({ length: 8 }, (_, p) => {
    const w = p % 4;
    const claims = [p === 6 ? LOOKALIKE.port : PORT[w]!, p === 5 ? LOOKALIKE.seq : SEQ[w]!, p === 7 ? LOOKALIKE.idle : IDLE[w]!];
    return model(p, claims);
  });
}

const textsOf = (doc: ConsensusDocument) => doc.claims.flatMap((c) => [c.text, ...(c.wordings ?? []).map((w) => w.text)]);

describe('consensus that survives paraphrase and Byzantine ports (through the CLI)', () => {
  it('eight ports phrasing three facts differently reach consensus on each fact once; look-alikes stay apart', async () => {
    const doc = await consensusOf(declared(paraphrasePanel()));
    expect(doc.status).toBe('consensus');
    expect(doc.claims).toHaveLength(3);
    const [port, seq, idle] = [PORT, SEQ, IDLE].map((wordings) => doc.claims.find((c) => wordings.includes(c.text))!);
    expect(port).toBeDefined();
    expect(seq).toBeDefined();
    expect(idle).toBeDefined();
    expect(port!.ports).toEqual([0, 1, 2, 3, 4, 5, 7]);
    expect(seq!.ports).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(idle!.ports).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // The look-alikes are dissent on their own, never merged into a fact.
    for (const wrong of Object.values(LOOKALIKE)) {
      expect(textsOf(doc)).not.toContain(wrong);
      expect(doc.dissent.find((d) => d.text === wrong)).toMatchObject({ support: 1 });
    }
    // The port that believes 8081 votes against 8080, and the record says so.
    expect(port!.votes!.disagree).toContain(6);
  });

  it('the same panel gives the same verdict in one round', async () => {
    const doc = await consensusOf(declared(paraphrasePanel()), ['--rounds', '1']);
    expect(doc.claims.map((c) => c.support)).toEqual([7, 7, 7]);
    for (const wrong of Object.values(LOOKALIKE)) expect(textsOf(doc)).not.toContain(wrong);
  });

  it('a ballot-stuffing port (repeats, a catch-all claim, agrees to everything) changes no verdict', async () => {
    const minority = 'The handshake uses three round trips.';
    const honest = (p: number) => model(p, [PORT[0]!, SEQ[0]!, IDLE[0]!, ...(p < 4 ? [minority] : []), `Port ${p} noticed detail number ${p + 100}.`]);
    const baseline = await consensusOf(declared([...Array.from({ length: 7 }, (_, p) => honest(p)), model(7, [PORT[0]!, SEQ[0]!, IDLE[0]!])]));

    const repeats = Array.from({ length: 20 }, (_, i) => (i % 2 ? minority.toUpperCase() : `${minority.replace(/\.$/, '')}!!`));
    const catchAll = 'The protocol port 8080 default message sequence number connections close 30 seconds silence idle handshake three round trips detail noticed.';
    const byzantine = model(7, [...repeats, catchAll, 'The protocol was designed on the Moon.'], { votes: 'agree_all' });
    const attacked = await consensusOf(declared([...Array.from({ length: 7 }, (_, p) => honest(p)), byzantine]));

    const verdict = (d: ConsensusDocument) => d.claims.map((c) => c.text).sort();
    expect(verdict(attacked)).toEqual(verdict(baseline));
    expect(verdict(attacked)).toHaveLength(3);
    // One port, one vote: twenty repeats plus agree-all lift the minority claim by exactly one.
    expect(attacked.dissent.find((d) => d.text === minority)!.support).toBe(5);
    // The catch-all absorbed nothing.
    const catchAllRecord = [...attacked.claims, ...attacked.dissent].find((c) => c.text === catchAll)!;
    expect(catchAllRecord.ports).toEqual([7]);
    for (const c of attacked.claims) expect(c.support).toBeLessThanOrEqual(8);
  });

  it('a port that fails the vote round abstains, the result says so, and its proposals still count', async () => {
    const models = paraphrasePanel();
    models[2] = { ...models[2]!, voteFault: 'http_500' };
    const doc = await consensusOf(declared(models));
    expect(doc.abstentions).toEqual([2]);
    expect(doc.failures).toEqual([expect.objectContaining({ port: 2, kind: 'http', round: 2 })]);
    expect(doc.status).toBe('consensus');
    expect(doc.claims).toHaveLength(3);
    for (const c of doc.claims) expect(c.ports).toContain(2);
  });

  it('a merge-stuffing voter marking everything the same as c1 merges nothing', async () => {
    const baseline = await consensusOf(declared(paraphrasePanel()));
    const models = paraphrasePanel();
    models[4] = { ...models[4]!, votes: 'same_all' };
    const doc = await consensusOf(declared(models));
    const groups = (d: ConsensusDocument) => [...d.claims, ...d.dissent].map((c) => c.ids!.join('+')).sort();
    expect(groups(doc)).toEqual(groups(baseline));
    expect(doc.claims).toHaveLength(3);
  });

  it('unreadable ballots abstain instead of voting', async () => {
    const models = paraphrasePanel();
    models[0] = { ...models[0]!, votes: 'garbage' };
    models[1] = { ...models[1]!, votes: 'invalid' };
    const doc = await consensusOf(declared(models));
    expect(doc.abstentions).toEqual([0]);
    expect(doc.failures).toEqual([expect.objectContaining({ port: 0, kind: 'malformed', round: 2 })]);
    expect(doc.claims).toHaveLength(3);
  });
});

describe('the vote pool on long answers (through the CLI)', () => {
  it('puts every fact two ports stand behind to the vote first, and records the facts left out', async () => {
    // Three shared facts, then twelve facts of each port's own, in random letters so that no
    // two are alike: 3 + 96 candidate facts.
    let seed = 7;
    const letter = () => String.fromCharCode(97 + ((seed = (seed * 1103515245 + 12345) % 2147483648) % 26));
    const word = () => Array.from({ length: 7 }, letter).join('');
    const own = () => Array.from({ length: 12 }, () => `The ${word()} ${word()} ${word()} ${word()}.`);
    const models = Array.from({ length: 8 }, (_, p) => model(p, [PORT[p % 4]!, ...own(), SEQ[p % 4]!, IDLE[p % 4]!]));
    const doc = await consensusOf(declared(models));
    expect(doc.candidates).toBe(40);
    expect(doc.leftOut).toHaveLength(99 - 40);
    expect(doc.leftOut!.every((c) => c.support === 1)).toBe(true);
    expect(doc.claims.map((c) => c.text).sort()).toEqual([PORT, SEQ, IDLE].map((w) => doc.claims.find((c) => w.includes(c.text))!.text).sort());
    expect(doc.claims).toHaveLength(3);
  });
});
