import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readJsonl } from '../../src/sinks/readJsonl.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { ConsensusDocument } from '../../src/types.js';
import { panelScenario, runCli, spawnCli, tempDir, writePanel } from '../helpers/cli.js';
import { answerLines, logLines, runLines } from '../helpers/runLog.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A folder of specs: one file long enough for several chunks, one short, one empty, one binary. */
function specs(dir: string, sections = 8): string {
  const root = join(dir, 'specs');
  mkdirSync(join(root, 'nested'), { recursive: true });
  const long = Array.from({ length: sections }, (_, s) => `## Section ${s}\n\n${Array.from({ length: 4 }, (_, p) => `Paragraph ${p} of section ${s} explains part ${s}.${p} of the protocol in some detail, with enough words to take space.`).join('\n\n')}`).join('\n\n');
  writeFileSync(join(root, 'long.md'), long);
  writeFileSync(join(root, 'nested', 'short.txt'), 'The protocol is small.\n');
  writeFileSync(join(root, 'empty.md'), '');
  writeFileSync(join(root, 'image.md'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1]));
  return root;
}

const consensusDocs = (out: string): ConsensusDocument[] => runLines(out);

async function setup(extra: Record<string, unknown> = {}) {
  const scenario = panelScenario();
  server = await startSandboxServer({ scenario });
  const dir = tempDir('quorum-batch-');
  return { dir, root: specs(dir), out: join(dir, 'artifacts'), panel: writePanel(dir, server.baseURL, scenario, extra) };
}

const ENV = { OPENROUTER_API_KEY: 'sk-test' };

describe('quorum batch', () => {
  it('writes one consensus per chunk with the chunk filled in, skips unusable files, and ties the runs to the batch', async () => {
    const { root, out, panel } = await setup();
    // Every port is waited for (no straggler cut), so the count of answers never depends on the machine's load.
    const run = await runCli(['batch', root, '--query', 'What does the spec say?', '--panel', panel, '--out', out, '--chunk-tokens', '120', '--rounds', '1', '--grace', '-1', '--json'], ENV);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ outcome: 'completed', skippedFiles: 2, failed: 0 });
    const docs = consensusDocs(out);
    expect(summary.chunks).toBeGreaterThanOrEqual(4);
    expect(docs).toHaveLength(summary.chunks);
    expect(new Set(docs.map((d) => d.chunk!.id)).size).toBe(docs.length);
    expect(docs.every((d) => d.chunk!.source.endsWith('long.md') || d.chunk!.source.endsWith('short.txt'))).toBe(true);
    expect(run.stderr).toMatch(/Skipped .*empty\.md/);
    expect(run.stderr).toMatch(/Skipped .*image\.md: looks binary/);
    // The run log is the whole record: no file per chunk.
    // (and the batch's summary.md, one file per batch, rendered from the log)
    expect(readdirSync(out).sort()).toEqual(['answers.jsonl', 'batches.jsonl', 'blackboard.jsonl', 'cloudevents.jsonl', 'runs.jsonl', 'summaries', 'traces.jsonl']);
    expect(readdirSync(join(out, 'summaries', summary.batchId))).toEqual(['summary.md']);
    const lines = runLines(out);
    expect(lines.every((l) => l.batchId === summary.batchId && l.models.length === 8)).toBe(true);
    expect(answerLines(out).filter((a) => a.round === 1)).toHaveLength(8 * summary.chunks);
    expect(new Set(answerLines(out).map((a) => a.runId))).toEqual(new Set(lines.map((l) => l.runId)));
    // With no view written, the blackboard points into the run log.
    const signals = readFileSync(join(out, 'blackboard.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(signals.map((x) => x.pull).sort()).toEqual(lines.map((l) => `runs.jsonl#${l.runId}`).sort());

    const events = (await readJsonl<Record<string, any>>(join(out, 'cloudevents.jsonl'))).records;
    const batchId = summary.batchId;
    expect(events.filter((e) => e.type === 'quorum.batch.started' && e.batchid === batchId)).toHaveLength(1);
    expect(events.find((e) => e.type === 'quorum.batch.completed')!.data).toMatchObject({ outcome: 'completed', chunks: summary.chunks });
    expect(events.filter((e) => e.type === 'quorum.run.started').every((e) => e.batchid === batchId && e.chunkid)).toBe(true);
    const spans = (await readJsonl<Record<string, any>>(join(out, 'traces.jsonl'))).records;
    const batchSpan = spans.find((s) => s.name === 'batch')!;
    expect(spans.filter((s) => s.name === 'scatter_gather_research').every((s) => s.parentSpanId === batchSpan.spanId)).toBe(true);
  });

  it('--run-files also renders each chunk\'s runs/<id>/ files from its committed lines', async () => {
    const { root, out, panel } = await setup();
    const run = await runCli(['batch', root, '--query', 'Q?', '--panel', panel, '--out', out, '--chunk-tokens', '120', '--rounds', '2', '--run-files', '--json'], ENV);
    expect(run.code).toBe(0);
    const lines = runLines(out);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      const dir = join(out, 'runs', line.runId);
      const { models, batchId, pool, panelSource, ...doc } = line;
      expect(JSON.parse(readFileSync(join(dir, 'consensus.json'), 'utf8'))).toEqual(doc);
      expect(readFileSync(join(dir, 'consensus.md'), 'utf8')).toContain(doc.claims[0]!.text);
      expect(JSON.parse(readFileSync(join(dir, 'candidates.json'), 'utf8'))).toEqual(pool);
      // One file per answer line of the run (a straggler cut in either round has neither).
      const answers = answerLines(out).filter((a) => a.runId === line.runId);
      expect(readdirSync(join(dir, 'responses')).sort()).toEqual(answers.filter((a) => a.round === 1).map((a) => `port_${a.port}.json`).sort());
      expect(readdirSync(join(dir, 'votes')).sort()).toEqual(answers.filter((a) => a.round === 2).map((a) => `port_${a.port}.json`).sort());
    }
    const signals = readFileSync(join(out, 'blackboard.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(signals.map((x) => x.pull).sort()).toEqual(lines.map((l) => `runs/${l.runId}/consensus.md`).sort());
  });

  it('gives the same chunk ids on every run of the same input', async () => {
    const { root, out, panel } = await setup();
    const args = ['batch', root, '--query', 'Q?', '--panel', panel, '--chunk-tokens', '120', '--rounds', '1', '--json'];
    await runCli([...args, '--out', out], ENV);
    await runCli([...args, '--out', `${out}2`], ENV);
    const ids = (o: string) => consensusDocs(o).map((d) => d.chunk!.id).sort();
    expect(ids(out)).toEqual(ids(`${out}2`));
  });

  it('after SIGKILL mid-batch, --resume leaves exactly one consensus per chunk and every JSONL line whole', async () => {
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ latencyMs: 60 })));
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-kill-');
    const root = specs(dir, 12);
    const out = join(dir, 'artifacts');
    const args = ['batch', root, '--query', 'What does the spec say?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--chunk-tokens', '120', '--rounds', '1', '--concurrency', '2'];
    const cli = spawnCli(args, ENV);
    for (let i = 0; i < 400 && consensusDocs(out).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    cli.child.kill('SIGKILL');
    await cli.done;
    const before = consensusDocs(out).length;
    expect(before).toBeGreaterThanOrEqual(2);

    const resumed = await runCli([...args, '--resume', '--json'], ENV);
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary.alreadyDone).toBeGreaterThanOrEqual(before);
    const docs = consensusDocs(out);
    const ids = docs.map((d) => d.chunk!.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(docs).toHaveLength(summary.chunks);
    for (const file of ['cloudevents.jsonl', 'traces.jsonl', 'blackboard.jsonl', 'runs.jsonl', 'answers.jsonl', 'batches.jsonl']) {
      const text = readFileSync(join(out, file), 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect((await readJsonl(join(out, file))).skipped).toBe(0);
    }
    const again = await runCli([...args, '--resume'], ENV);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already decided every chunk; nothing to resume/);
  });

  it('Ctrl-C stops taking chunks, cancels in-flight calls, says how to resume and exits 130', async () => {
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ fault: 'hang' as const })));
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-int-');
    const root = specs(dir);
    const out = join(dir, 'artifacts');
    const cli = spawnCli(['batch', root, '--query', 'Q?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--chunk-tokens', '120'], ENV);
    for (let i = 0; i < 400 && server.requests.length < 16; i++) await new Promise((r) => setTimeout(r, 25));
    cli.child.kill('SIGINT');
    const run = await cli.done;
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/Resume with: (?:quorum|node \S+cli\.js) batch .* --resume/);
    for (let i = 0; i < 200 && !server.requests.every((r) => r.disconnected); i++) await new Promise((r) => setTimeout(r, 25));
    expect(server.requests.every((r) => r.disconnected)).toBe(true);
    expect(consensusDocs(out)).toHaveLength(0);
  });

  it('paces calls under the server rate limit so 429s stay rare', async () => {
    const scenario = { ...panelScenario(), rateLimit: { requests: 24, windowMs: 1000 } };
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-rate-');
    const root = specs(dir, 6);
    const out = join(dir, 'artifacts');
    const run = await runCli(['batch', root, '--query', 'Q?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--chunk-tokens', '120', '--rounds', '1', '--concurrency', '3', '--json'], ENV);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.consensus).toBe(summary.chunks);
    const limited = server.requests.filter((r) => r.status === 429).length;
    // Only the first burst, before any X-RateLimit header was seen, may run into the limit.
    expect(limited / server.requests.length).toBeLessThanOrEqual(0.1);
  });

  it('a daily quota that runs out stops the batch cleanly with how to resume, not a storm of failures', async () => {
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ fault: 'rate_limit' as const, retryAfterS: 6 * 3600 })));
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-quota-');
    const root = specs(dir, 10);
    const out = join(dir, 'artifacts');
    const run = await runCli(['batch', root, '--query', 'Q?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--chunk-tokens', '120', '--rounds', '1'], ENV);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Stopped: The provider's request quota is used up .*--resume/);
    expect(run.stderr).toMatch(/Resume with: (?:quorum|node \S+cli\.js) batch .* --resume/);
    // The first calls learn the quota is gone; nothing keeps hammering the server after that.
    expect(server.requests.length).toBeLessThanOrEqual(3 * 8);
    expect(consensusDocs(out)).toHaveLength(0);
    const ended = logLines<{ type: string; outcome?: string }>(out, 'batches.jsonl').filter((l) => l.type === 'ended');
    expect(ended.map((l) => l.outcome)).toEqual(['stopped']);
    // The same command again, without --resume, says that an unfinished batch exists.
    const again = await runCli(['batch', root, '--query', 'Q?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--chunk-tokens', '120', '--rounds', '1'], ENV);
    expect(again.stderr).toMatch(/Note: batch \S+ of this same command did not finish; .*--resume/);
  });

  const bad: [string, string[], RegExp][] = [
    ['a path that matches nothing', ['batch', 'nope/*.md', '--query', 'Q?'], /No file matches "nope\/\*\.md"/],
    ['a missing --query', ['batch', '.'], /--query/],
    ['--resume with nothing to resume', ['batch', 'README.md', '--query', 'Q?', '--resume'], /Nothing to resume/],
    ['a bad --chunk-tokens', ['batch', 'README.md', '--query', 'Q?', '--chunk-tokens', 'many'], /--chunk-tokens/],
  ];
  for (const [what, args, message] of bad) {
    it(`rejects ${what} with exit 2`, async () => {
      const out = join(tempDir(), 'artifacts');
      const run = await runCli([...args, '--out', out], ENV);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(existsSync(join(out, 'runs'))).toBe(false);
    });
  }
});

describe('quorum batch chunk options', () => {
  it('an overlap larger than half the chunk budget is exit 2, not a crash', async () => {
    const run = await runCli(['batch', 'README.md', '--query', 'Q?', '--overlap', '1000', '--sandbox', '--out', join(tempDir(), 'a')], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Error: Bad --chunk-tokens \/ --overlap: /);
  });
});
