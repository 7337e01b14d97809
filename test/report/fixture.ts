/**
 * Artifacts for the report tests, made by REAL runs of the CLI (`main`, in-process) against the
 * local sandbox server: nothing here is hand-written JSONL.
 *
 *   run      `ask`, two rounds, the question holding a <script>: every port states the claim holding
 *            `<script>window.__pwned=1</script>` (so it is consensus); port 5 fails with HTTP 502
 *            (retried, so the run is degraded); port 2's ballot is garbage (it abstains); port 3
 *            alone makes a claim with an `<img onerror=…>`.
 *   batch    `batch` of two small files, one round, port 5 failing again (two degraded chunks).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSandboxServer } from '../../src/sandbox/server.js';
import type { SandboxModel, Scenario } from '../../src/sandbox/scenario.js';
import { runCli, tempDir, writePanel } from '../helpers/cli.js';
import { runLines } from '../sql/fixture.js';

/**
 * The claim as recorded. The claim extractor strips HTML tags from claims (a markup cleaner, not a
 * sanitizer), so the models state it with a nested tag, `<scr<b></b>ipt>`, which the single pass
 * turns into a real `<script>` — as a model's output could. The report must escape it.
 */
export const SCRIPT_CLAIM = 'A claim may say <script>window.__pwned=1</script> and stay text.';
const SCRIPT_CLAIM_AS_STATED = 'A claim may say <scr<b></b>ipt>window.__pwned=1</scr<b></b>ipt> and stay text.';
export const HANDLER_CLAIM = 'Port three says <img src=x onerror="window.__pwned=2"> here.';
const HANDLER_CLAIM_AS_STATED = 'Port three says <im<i></i>g src=x onerror="window.__pwned=2"> here.';
/** Questions are recorded verbatim: a second way markup reaches the page. */
export const QUERY = 'What does the spec say about <script>window.__pwned=3</script> tags?';
export const ENV = { OPENROUTER_API_KEY: 'sk-or-v1-report_test_0123456789' };

const FACTS = ['The protocol uses port 8080 by default.', 'Every message carries a sequence number.', SCRIPT_CLAIM_AS_STATED];
const LONE = ['Model zero likes turtles a lot.', 'The logo of the project is purple.', 'Its mascot is called Bruno the Badger.', HANDLER_CLAIM_AS_STATED, 'The spec has eleven appendices.', 'Authors met in Lisbon in 2019.', 'The reference server is written in Ada.', 'Version numbers follow calendar dates.'];

export function reportScenario(): Scenario {
  return {
    // Declared so honest votes come from the scenario, not from the matcher under test; the
    // extractor strips the nested tags, so the candidate carries the recorded wording.
    facts: [
      { id: 'port', wordings: [FACTS[0]!] },
      { id: 'sequence', wordings: [FACTS[1]!] },
      { id: 'script', wordings: [SCRIPT_CLAIM_AS_STATED, SCRIPT_CLAIM] },
      { id: 'handler', wordings: [HANDLER_CLAIM_AS_STATED, HANDLER_CLAIM] },
    ],
    models: Array.from({ length: 8 }, (_, port): SandboxModel => ({
      model: `family${port}/model-${port}`,
      family: `family${port}`,
      latencyMs: 5 + port * 4,
      answer: JSON.stringify({ claims: [...FACTS, LONE[port]!] }),
      usage: { prompt_tokens: 100 + port, completion_tokens: 40 + port, cost: 0.0001 * (port + 1) },
      ...(port === 5 && { fault: 'http_502' as const }),
      ...(port === 2 && { votes: 'garbage' as const }),
    })),
  };
}

export interface ReportFixture {
  dir: string;
  out: string;
  runId: string;
  batchId: string;
  batchRuns: string[];
  env: NodeJS.ProcessEnv;
}

/** Runs decided so far: the run log's. */
function runIds(out: string): string[] {
  return runLines(out).map((r) => r.runId).sort();
}

export async function buildReportFixture(): Promise<ReportFixture> {
  const dir = tempDir('quorum-report-fixture-');
  const out = join(dir, 'artifacts');
  const env = { ...ENV };
  const scenario = reportScenario();
  const server = await startSandboxServer({ scenario });
  try {
    const panel = writePanel(dir, server.baseURL, scenario);
    const ask = await runCli(['ask', QUERY, '--panel', panel, '--out', out, '--rounds', '2', '--grace', '-1', '--json'], env);
    if (ask.code !== 0) throw new Error(`fixture ask failed (${ask.code}): ${ask.stderr}`);
    const [runId] = runIds(out);
    const doc = runLines(out).find((r) => r.runId === runId)!;
    if (!doc.claims.some((c) => c.text === SCRIPT_CLAIM) || !doc.dissent.some((c) => c.text === HANDLER_CLAIM)) {
      throw new Error(`fixture: the markup claims were not recorded verbatim (the claim extractor changed?); claims: ${JSON.stringify([...doc.claims, ...doc.dissent].map((c) => c.text))}`);
    }

    mkdirSync(join(dir, 'specs'));
    writeFileSync(join(dir, 'specs', 'a.md'), '# A\n\nThe protocol uses port 8080 by default.\n');
    writeFileSync(join(dir, 'specs', 'b.md'), '# B\n\nEvery message carries a sequence number.\n');
    const before = new Set(runIds(out));
    const batch = await runCli(['batch', join(dir, 'specs'), '--query', QUERY, '--panel', panel, '--out', out, '--rounds', '1', '--grace', '-1', '--json'], env);
    if (batch.code !== 0) throw new Error(`fixture batch failed (${batch.code}): ${batch.stderr}`);
    const batchId = (JSON.parse(batch.stdout) as { batchId: string }).batchId;
    return { dir, out, runId: runId!, batchId, batchRuns: runIds(out).filter((id) => !before.has(id)), env };
  } finally {
    await server.close();
  }
}
