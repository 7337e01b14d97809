import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readJsonl } from '../../src/sinks/readJsonl.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { Scenario } from '../../src/sandbox/scenario.js';
import type { ConsensusDocument } from '../../src/types.js';
import { panelScenario, runCli, tempDir, writePanel } from '../helpers/cli.js';

const KEY = 'sk-or-v1-fake_key_for_tests_0123456789';
let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function askWith(scenario: Scenario, extraArgs: string[] = [], panelExtra: Record<string, unknown> = {}) {
  server = await startSandboxServer({ scenario });
  const dir = tempDir();
  const out = join(dir, 'artifacts');
  const panel = writePanel(dir, server.baseURL, scenario, panelExtra);
  // Unless a test is about the straggler cut, wait for every port: results must not depend on load.
  const grace = extraArgs.includes('--grace') ? [] : ['--grace', '-1'];
  const run = await runCli(['ask', 'What does the protocol spec say?', '--panel', panel, '--out', out, ...grace, ...extraArgs], { OPENROUTER_API_KEY: KEY });
  const runs = existsSync(join(out, 'runs')) ? readdirSync(join(out, 'runs')) : [];
  const runDir = runs.length === 1 ? join(out, 'runs', runs[0]!) : '';
  const doc = runDir && existsSync(join(runDir, 'consensus.json')) ? (JSON.parse(readFileSync(join(runDir, 'consensus.json'), 'utf8')) as ConsensusDocument) : undefined;
  const events = existsSync(join(out, 'cloudevents.jsonl')) ? (await readJsonl<Record<string, any>>(join(out, 'cloudevents.jsonl'))).records : [];
  const spans = existsSync(join(out, 'traces.jsonl')) ? (await readJsonl<Record<string, any>>(join(out, 'traces.jsonl'))).records : [];
  return { run, out, runDir, doc, events, spans, responses: runDir && existsSync(join(runDir, 'responses')) ? readdirSync(join(runDir, 'responses')).sort() : [] };
}

describe('quorum ask (against the local sandbox server)', () => {
  it('8 ports → 8 responses, 8 model CloudEvents, 8 model spans under the root, and the shared facts as consensus', async () => {
    const { run, doc, events, spans, responses, out } = await askWith(panelScenario(), ['--rounds', '1']);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(responses).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((p) => `port_${p}.json`));

    const modelEvents = events.filter((e) => e.type === 'quorum.model.responded');
    expect(modelEvents.map((e) => e.port).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(modelEvents.every((e) => e.source === `/quorum/port/${e.port}` && e.runid === doc!.runId)).toBe(true);
    expect(events.map((e) => e.type)).toEqual([
      'quorum.run.started',
      ...Array(8).fill('quorum.model.responded'),
      'quorum.consensus.reached',
      'quorum.run.completed',
    ]);

    const root = spans.find((s) => s.name === 'scatter_gather_research')!;
    const scatter = spans.find((s) => s.name === 'scatter')!;
    const models = spans.filter((s) => s.name === 'query_model');
    expect(scatter.parentSpanId).toBe(root.spanId);
    expect(models).toHaveLength(8);
    expect(models.every((s) => s.parentSpanId === scatter.spanId && s.traceId === root.traceId)).toBe(true);
    const gather = spans.find((s) => s.name === 'gather')!;
    expect(gather.parentSpanId).toBe(root.spanId);
    expect(spans.filter((s) => s.parentSpanId === gather.spanId).map((s) => s.name).sort()).toEqual(['extract_claims', 'synthesize_output', 'vote_consensus']);
    const port3 = models.find((s) => s.attributes['quorum.port'] === 3)!;
    expect(port3.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'family3/model-3', 'gen_ai.usage.input_tokens': 103, 'gen_ai.usage.output_tokens': 43 });
    // Each model event joins its span through traceparent.
    const ev3 = modelEvents.find((e) => e.port === 3)!;
    expect(ev3.traceparent).toBe(`00-${port3.traceId}-${port3.spanId}-01`);
    expect(ev3.data).toMatchObject({ inputTokens: 103, outputTokens: 43 });
    expect(ev3.data.cost).toBeCloseTo(0.0003, 10);

    expect(doc!.status).toBe('consensus');
    expect(doc!.quorum).toMatchObject({ configured: 6, required: 6, responders: 8, panel: 8 });
    expect(doc!.claims.map((c) => c.text).sort()).toEqual(
      ['Connections close after 30 seconds of silence.', 'Every message carries a sequence number.', 'The protocol uses port 8080 by default.'].sort(),
    );
    expect(doc!.claims.every((c) => c.support === 8)).toBe(true);
    expect(doc!.dissent).toHaveLength(8);
    expect(doc!.agreement).toHaveLength(8);
    expect(run.stdout).toMatch(/CONSENSUS — 8 of 8 ports answered/);
    expect(run.stdout).toMatch(/\[c1\] .* \(8\/8: ports 0,1,2,3,4,5,6,7\)/);

    const board = (await readJsonl<Record<string, any>>(join(out, 'blackboard.jsonl'))).records;
    expect(board).toEqual([expect.objectContaining({ type: 'signal', mark: 'consensus', pull: `runs/${doc!.runId}/consensus.md` })]);
  });

  it('two rounds: every responder votes, with vote_round spans, vote.cast events and audited verdicts', async () => {
    const { run, doc, events, spans, runDir } = await askWith(panelScenario());
    expect(run.code).toBe(0);
    expect(doc!.rounds).toBe(2);
    const casts = events.filter((e) => e.type === 'quorum.vote.cast');
    expect(casts.map((e) => e.port).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(casts.every((e) => e.data.ok && e.data.candidates === doc!.candidates)).toBe(true);
    const gather = spans.find((s) => s.name === 'gather')!;
    const voteSpan = spans.find((s) => s.name === 'vote_round')!;
    expect(voteSpan.parentSpanId).toBe(gather.spanId);
    const voteCalls = spans.filter((s) => s.name === 'query_model' && s.parentSpanId === voteSpan.spanId);
    expect(voteCalls).toHaveLength(8);
    expect(voteCalls.every((s) => s.attributes['quorum.round'] === 2)).toBe(true);
    expect(spans.filter((s) => s.parentSpanId === gather.spanId).map((s) => s.name).sort()).toEqual(['cluster_claims', 'extract_claims', 'synthesize_output', 'vote_consensus', 'vote_round']);
    expect(readdirSync(join(runDir, 'votes'))).toHaveLength(8);
    expect(JSON.parse(readFileSync(join(runDir, 'candidates.json'), 'utf8'))).toHaveLength(doc!.candidates!);
    // Three shared facts: everyone proposes and everyone agrees.
    expect(doc!.claims).toHaveLength(3);
    for (const c of doc!.claims) {
      expect(c.proposers).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(c.votes).toEqual({ agree: [0, 1, 2, 3, 4, 5, 6, 7], disagree: [], unsure: [], abstained: [] });
    }
    expect(run.stdout).toMatch(/Two rounds: \d+ candidate claims were put to a vote of the 8 responders/);
  });

  it('1 port timing out → 7 responses, a failed CloudEvent and a degraded consensus', async () => {
    const scenario = panelScenario([{}, {}, {}, {}, {}, { fault: 'hang' }]);
    const { run, doc, events, responses } = await askWith(scenario, ['--grace', '-1', '--timeout', '300']);
    expect(run.code).toBe(0);
    expect(responses).toHaveLength(7);
    expect(responses).not.toContain('port_5.json');
    const failedEvents = events.filter((e) => e.type === 'quorum.model.failed');
    expect(failedEvents).toEqual([expect.objectContaining({ port: 5, data: expect.objectContaining({ kind: 'timeout', attempts: 1 }) })]);
    expect(doc!.status).toBe('degraded');
    // q' = ceil(6·7/8) = 6
    expect(doc!.quorum).toMatchObject({ configured: 6, required: 6, responders: 7, panel: 8 });
    expect(doc!.claims).toHaveLength(3);
    expect(doc!.failures).toEqual([expect.objectContaining({ port: 5, kind: 'timeout' })]);
    expect(run.stdout).toMatch(/DEGRADED — only 7 of 8 ports answered/);
  });

  it('cuts a straggler once quorum is in and the grace period passed, as cancelled', async () => {
    const scenario = panelScenario([{}, {}, {}, {}, {}, {}, {}, { fault: 'hang' }]);
    const { run, doc } = await askWith(scenario, ['--grace', '50']);
    expect(run.code).toBe(0);
    expect(doc!.failures).toEqual([expect.objectContaining({ port: 7, kind: 'cancelled' })]);
    // The hanging request was aborted, not left open: the server sees the close a moment after the run ends.
    const hung = () => server!.requests.find((r) => r.model === 'family7/model-7');
    for (let i = 0; i < 400 && !hung()?.disconnected; i++) await new Promise((r) => setTimeout(r, 10));
    expect(hung()?.disconnected).toBe(true);
  });

  it('classifies every fault a provider can throw and still reaches a degraded consensus', async () => {
    const scenario = panelScenario([
      { fault: 'rate_limit', retryAfterS: 60 },
      { fault: 'http_502' },
      { fault: 'auth' },
      {},
      {},
      {},
      {},
      {},
    ]);
    const { doc, run } = await askWith(scenario);
    expect(run.code).toBe(0);
    const kinds = Object.fromEntries(doc!.failures.map((f) => [f.port, [f.kind, f.attempts]]));
    // 429 asking for 60 s exceeds the 2 s cap: no sleeping; 502 is retried twice; 401 never.
    expect(kinds).toEqual({ 0: ['rate_limited', 1], 1: ['http', 3], 2: ['auth', 1] });
    // r = 5 is still the strict majority: degraded, q' = ceil(6·5/8) = 4.
    expect(doc!.status).toBe('degraded');
    expect(doc!.quorum.required).toBe(4);
    expect(doc!.claims).toHaveLength(3);
  });

  it('recovers when a 503 clears on retry and records the attempts', async () => {
    const scenario = panelScenario([{ fault: 'http_503', faultTimes: 1 }]);
    const { doc, events } = await askWith(scenario);
    expect(doc!.status).toBe('consensus');
    expect(events.find((e) => e.type === 'quorum.model.responded' && e.port === 0)!.data.attempts).toBe(2);
  });

  it('loses quorum with exit 1 when fewer than a majority answer, reporting every claim as dissent', async () => {
    const scenario = panelScenario([{ fault: 'malformed' }, { fault: 'error_in_200' }, { fault: 'empty' }, { fault: 'reset' }]);
    const { run, doc } = await askWith(scenario);
    expect(run.code).toBe(1);
    expect(doc!.status).toBe('quorum_lost');
    expect(doc!.claims).toEqual([]);
    expect(doc!.dissent.length).toBeGreaterThan(0);
    expect(Object.fromEntries(doc!.failures.map((f) => [f.port, f.kind]))).toEqual({ 0: 'malformed', 1: 'http', 2: 'empty', 3: 'network' });
    expect(run.stdout).toMatch(/QUORUM LOST/);
  });

  it('handles mid-stream error events and truncated streams as failures of those ports only', async () => {
    const scenario = panelScenario([{ fault: 'midstream_error' }, { fault: 'truncated' }]);
    const { doc, run } = await askWith(scenario);
    expect(run.code).toBe(0);
    expect(doc!.status).toBe('degraded');
    expect(Object.fromEntries(doc!.failures.map((f) => [f.port, f.kind]))).toEqual({ 0: 'http', 1: 'network' });
    // q' = ceil(6·6/8) = 5
    expect(doc!.quorum.required).toBe(5);
  });

  it('--json prints consensus.json and nothing else on stdout', async () => {
    const { run, doc } = await askWith(panelScenario(), ['--json']);
    expect(JSON.parse(run.stdout)).toEqual(doc);
  });

  it('--quorum lowers the votes a claim needs', async () => {
    const scenario = panelScenario();
    scenario.models[0]!.answer = JSON.stringify({ claims: ['The protocol uses port 8080 by default.', 'A rare claim made by two ports only.'] });
    scenario.models[1]!.answer = JSON.stringify({ claims: ['A rare claim made by two ports only.'] });
    const { doc } = await askWith(scenario, ['--quorum', '2']);
    expect(doc!.claims.map((c) => c.text)).toContain('A rare claim made by two ports only.');
  });

  it('never writes the API key into any artifact or output', async () => {
    const scenario: Scenario = { ...panelScenario([{ fault: 'auth' }, { fault: 'http_500' }]), echoKey: true };
    const { out, run } = await askWith(scenario);
    const all = [run.stdout, run.stderr];
    const walk = (d: string): void => {
      for (const f of readdirSync(d, { withFileTypes: true })) {
        if (f.isDirectory()) walk(join(d, f.name));
        else all.push(readFileSync(join(d, f.name), 'utf8'));
      }
    };
    walk(out);
    expect(all.join('\n')).not.toContain(KEY);
    expect(all.join('\n')).not.toContain('fake_key_for_tests');
  });
});
