/**
 * End-to-end evaluation of round-1 consensus on real LLM prose, through the real CLI.
 *
 * SelfCheckGPT WikiBio (../shared/data/selfcheck or $QUORUM_DATA_DIR): for each prompt, port 0
 * of a simulated eight-model panel answers with the GPT-3 passage whose sentences are labelled
 * (accurate / minor_inaccurate / major_inaccurate) and ports 1–7 with seven other GPT-3 samples
 * for the same prompt. `quorum ask --rounds 1 --grace -1 --json` decides each prompt against the
 * sandbox server; each labelled sentence takes the support of the claim it landed in
 * (bench/e2e/score.ts), and the figures are precision, recall and major errors kept at q = 4, 5, 6
 * and AUC-PR for non-factual sentences from (8 − support).
 *
 *   npm run eval:e2e                      # dev and eval, through the CLI; rewrites BENCHMARKS.md's section
 *   npm run eval:e2e -- --split dev       # one split
 *   npm run eval:e2e -- --in-process      # the same tally without the CLI (fast, for tuning)
 *   npm run eval:e2e -- --no-write        # print only
 *
 * Constants were tuned on dev (passages 0–39) in-process; eval (passages 40–118) is reported.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tallyDetailed } from '../src/claims/tally.js';
import { startSandboxServer } from '../src/sandbox/server.js';
import type { Scenario } from '../src/sandbox/scenario.js';
import type { ClaimRecord, ModelSuccess } from '../src/types.js';
import { type E2eFigures, figures, type SentenceSupport, sentenceSupport } from './e2e/score.js';
import { dataDir, loadSelfCheck, type SelfCheckDoc } from './evalMatcher.js';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// $QUORUM_CLI: a copy of the binary, so a rebuild during the run cannot pull files from under it.
const CLI = process.env.QUORUM_CLI ?? join(repoRoot, 'dist/bin/cli.js');
const PANEL = 8;
const QUORUMS = [4, 5, 6];

/** The question of prompt `i`; the sandbox picks each model's answer by the marker in it. */
const question = (split: string, i: number) => `Write a short biography in the style of Wikipedia (selfcheck ${split} ${i}).`;

/** Port 0: the labelled passage; ports 1–7: the first seven samples. */
const answersOf = (d: SelfCheckDoc): string[] => [d.text, ...d.samples.slice(0, PANEL - 1)];

function scenarioFor(split: string, docs: readonly SelfCheckDoc[]): Scenario {
  return {
    models: Array.from({ length: PANEL }, (_, port) => ({
      model: `selfcheck/sample-${port}`,
      family: `sample${port}`,
      answers: docs.map((d, i) => ({ when: `selfcheck ${split} ${i}\\)`, text: answersOf(d)[port] ?? '' })),
      answer: 'No passage for this question.',
    })),
  };
}

async function viaCli(split: string, docs: readonly SelfCheckDoc[], concurrency: number): Promise<ClaimRecord[][]> {
  const server = await startSandboxServer({ scenario: scenarioFor(split, docs) });
  const dir = mkdtempSync(join(tmpdir(), 'quorum-e2e-'));
  try {
    const panel = join(dir, 'panel.json');
    writeFileSync(
      panel,
      JSON.stringify({
        baseURL: server.baseURL,
        timeoutMs: 30_000,
        members: Array.from({ length: PANEL }, (_, port) => ({ port, model: `selfcheck/sample-${port}`, family: `sample${port}` })),
      }),
    );
    const out: ClaimRecord[][] = new Array(docs.length);
    let next = 0;
    const worker = async () => {
      while (next < docs.length) {
        const i = next++;
        const { stdout } = await run(
          process.execPath,
          [CLI, 'ask', question(split, i), '--panel', panel, '--out', join(dir, 'artifacts'), '--rounds', '1', '--grace', '-1', '--json'],
          { env: { PATH: process.env.PATH, OPENROUTER_API_KEY: 'sk-e2e-sandbox' }, maxBuffer: 64 * 1024 * 1024 },
        );
        const doc = JSON.parse(stdout) as { claims: ClaimRecord[]; dissent: ClaimRecord[] };
        out[i] = [...doc.claims, ...doc.dissent];
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return out;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

function inProcess(docs: readonly SelfCheckDoc[]): ClaimRecord[][] {
  return docs.map((d) => {
    const outcomes = answersOf(d).map(
      (text, port): ModelSuccess => ({ ok: true, port, model: `selfcheck/sample-${port}`, family: `sample${port}`, latencyMs: 1, attempts: 1, text, usage: { inputTokens: 0, outputTokens: 0 } }),
    );
    const { result } = tallyDetailed(outcomes, { panelSize: PANEL });
    return [...result.claims, ...result.dissent];
  });
}

export async function evaluate(split: 'dev' | 'eval', mode: 'cli' | 'in-process'): Promise<{ figures: E2eFigures; rows: SentenceSupport[]; ms: number }> {
  const dir = dataDir();
  if (!dir) throw new Error('No data: expected ../shared/data (or $QUORUM_DATA_DIR)');
  const docs = loadSelfCheck(join(dir, `selfcheck/${split}.jsonl`));
  const t0 = Date.now();
  const runs = mode === 'cli' ? await viaCli(split, docs, Math.max(1, Math.min(4, cpus().length))) : inProcess(docs);
  const rows = docs.flatMap((d, i) => sentenceSupport(d.sentences, d.labels, runs[i] ?? []));
  return { figures: figures(rows, PANEL, QUORUMS), rows, ms: Date.now() - t0 };
}

// ---------------------------------------------------------------- report

const f2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

function table(byName: [string, E2eFigures][]): string {
  const lines = ['| split | q | kept | precision | recall | major kept | AUC-PR (8 − support) | AP | AUC-PR, ties by strength | support ≤ 1 |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const [name, f] of byName)
    for (const q of f.byQuorum)
      lines.push(
        `| ${name} | ${q.q} | ${q.kept} | ${f2(q.precision)} | ${f2(q.recall)} | ${pct(q.majorKept)} | ${f2(f.aucPr)} | ${f2(f.ap)} | ${f2(f.aucPrSoft)} | ${f.supportOne} of ${f.sentences} |`,
      );
  return lines.join('\n');
}

const START = '<!-- e2e:start -->';
const END = '<!-- e2e:end -->';

function writeSection(body: string): void {
  const path = join(repoRoot, 'BENCHMARKS.md');
  const text = readFileSync(path, 'utf8');
  const section = `${START}\n${body}\n${END}`;
  const at = text.indexOf(START);
  const end = text.indexOf(END);
  writeFileSync(path, at >= 0 && end > at ? text.slice(0, at) + section + text.slice(end + END.length) : `${text.trimEnd()}\n\n${section}\n`);
}

async function main(argv: string[]): Promise<void> {
  const mode = argv.includes('--in-process') ? 'in-process' : 'cli';
  const splitAt = argv.indexOf('--split');
  const splits = (splitAt >= 0 ? [argv[splitAt + 1]] : ['dev', 'eval']) as ('dev' | 'eval')[];
  for (const s of splits) if (s !== 'dev' && s !== 'eval') throw new Error(`--split must be dev or eval, got ${String(s)}`);
  const results: [string, E2eFigures][] = [];
  let ms = 0;
  for (const split of splits) {
    const r = await evaluate(split, mode);
    results.push([split, r.figures]);
    ms += r.ms;
  }
  const goal = results.find(([n]) => n === 'eval')?.[1];
  const q6 = goal?.byQuorum.find((q) => q.q === 6);
  const body = [
    table(results),
    '',
    `- ${mode === 'cli' ? 'Through the CLI' : 'In-process (the same tally, no CLI)'}: \`quorum ask --rounds 1 --grace -1 --json\` per prompt against the sandbox, port 0 = the labelled passage, ports 1–7 = seven other GPT-3 samples.`,
    '- A labelled sentence takes the support of the port-0 claim sharing most of its words (at least half); one no claim holds (a fragment cut mid-sentence) has support 0.',
    ...(goal && q6
      ? [`- Goals at q = 6 on eval: precision ≥ 0.90 (${f2(q6.precision)}), recall ≥ 0.25 (${f2(q6.recall)}), major kept ≤ 5 % (${pct(q6.majorKept)}), AUC-PR ≥ 0.88 (${f2(goal.aucPr)}).`]
      : []),
    `- Machine: Node ${process.version}, ${cpus().length} CPU(s), load ${loadavg()[0]?.toFixed(1)}; ${(ms / 1000).toFixed(1)} s.`,
  ].join('\n');
  console.log(body);
  if (!argv.includes('--no-write') && mode === 'cli' && splits.length === 2) writeSection(body);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
