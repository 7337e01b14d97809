/**
 * What a batch says it concluded, through the real binary against the sandbox server: the
 * terminal summary, summary.md, `quorum sql report_batches` and `quorum report --batch` count
 * chunks and calls by one definition (src/report/outcome.ts), also after Ctrl-C and --resume, and
 * for a degraded batch whose chunks reached no claim.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import type { SandboxModel, Scenario } from '../../src/sandbox/scenario.js';
import { panelScenario, spawnCli, tempDir, writePanel } from '../helpers/cli.js';
import { runLines } from '../sql/fixture.js';

const ENV = { OPENROUTER_API_KEY: 'sk-or-v1-batch_summary_0123456789' };
let server: SandboxServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function specs(dir: string, sections: number): string {
  const root = join(dir, 'specs');
  mkdirSync(root, { recursive: true });
  const text = Array.from({ length: sections }, (_, s) => `## Section ${s}\n\n${Array.from({ length: 4 }, (_, p) => `Paragraph ${p} of section ${s} explains part ${s}.${p} of the protocol in some detail, with enough words to take space.`).join('\n\n')}`).join('\n\n');
  writeFileSync(join(root, 'long.md'), text);
  return root;
}

async function bin(args: string[]) {
  return spawnCli(args, ENV).done;
}

async function sqlRow(name: string, out: string): Promise<Record<string, any>> {
  const run = await bin(['sql', name, '--out', out, '--format', 'json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout)[0];
}

/** The report's banner: status, headline and details, as the page shows them. */
async function reportBanner(batchId: string, out: string): Promise<{ status: string; text: string; page: string }> {
  const file = join(out, 'report.html');
  const run = await bin(['report', '--batch', batchId, '--out', out, '--to', file]);
  expect(run.code, run.stderr).toBe(0);
  const page = readFileSync(file, 'utf8');
  const header = /<header[^>]*data-status="([^"]+)">([\s\S]*?)<\/header>/.exec(page)!;
  return { status: header[1]!, text: header[2]!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '), page };
}

function tile(page: string, name: string): string {
  return new RegExp(`<span class="k">${name.replace(/[()]/g, '\\$&')}</span><span class="v">([^<]*)</span>`).exec(page)?.[1] ?? '';
}

function printedCalls(stdout: string): { calls: number; requests: number } {
  const m = /model calls\s+([\d,]+) \(([\d,]+) requests, retries included\)/.exec(stdout)!;
  expect(m, stdout).not.toBeNull();
  return { calls: Number(m[1]!.replace(/,/g, '')), requests: Number(m[2]!.replace(/,/g, '')) };
}

function eventCalls(out: string, batchId: string): { calls: number; requests: number } {
  const events = readFileSync(join(out, 'cloudevents.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const calls = events.filter((e) => e.batchid === batchId && ['quorum.model.responded', 'quorum.model.failed', 'quorum.vote.cast'].includes(e.type));
  return { calls: calls.length, requests: calls.reduce((n, e) => n + e.data.attempts, 0) };
}

describe('the end of a batch: what it concluded, one definition everywhere', () => {
  it('after Ctrl-C says INCOMPLETE with the chunks decided and left; after --resume every view says the whole batch reached consensus', async () => {
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ latencyMs: 60 })));
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-summary-resume-');
    const out = join(dir, 'artifacts');
    const args = ['batch', specs(dir, 12), '--query', 'What does the spec say?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--chunk-tokens', '120', '--rounds', '1', '--concurrency', '1'];
    const first = spawnCli(args, ENV);
    for (let i = 0; i < 400 && (!existsSync(join(out, 'runs.jsonl')) || runLines(out).length < 2); i++) await new Promise((r) => setTimeout(r, 25));
    first.child.kill('SIGINT');
    const interrupted = await first.done;
    expect(interrupted.code, interrupted.stderr).toBe(130);

    const started = JSON.parse(readFileSync(join(out, 'batches.jsonl'), 'utf8').split('\n')[0]!);
    const batchId: string = started.batchId;
    const total: number = started.chunks;
    const decided = runLines(out).length;
    expect(decided).toBeGreaterThanOrEqual(2);
    expect(decided).toBeLessThan(total);
    const summaryFile = join(out, 'summaries', batchId, 'summary.md');
    expect(interrupted.stdout).toContain(`INCOMPLETE — batch ${batchId} interrupted`);
    expect(interrupted.stdout).toContain(`${decided} of ${total} chunks decided; ${total - decided} not decided yet: the batch was interrupted; --resume finishes them.`);
    expect(interrupted.stdout).toMatch(new RegExp(`finish it: {11}\\S.* batch .* --resume ${batchId}\n`));
    // summary.md is written on Ctrl-C too, saying the same.
    const partial = readFileSync(summaryFile, 'utf8');
    expect(partial).toContain(`# Batch ${batchId}: INCOMPLETE`);
    expect(partial).toContain(`## Undecided chunks\n\n${total - decided} of ${total} chunks have no result yet`);
    expect((await reportBanner(batchId, out)).status).toBe('INCOMPLETE');

    const resumed = await bin([...args, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const headline = 'Every chunk reached consensus with the whole panel answering.';
    const counts = `${total} chunks: ${total} consensus, 0 degraded, 0 with no claim at the quorum, 0 quorum lost.`;
    expect(resumed.stdout).toContain(`CONSENSUS — batch ${batchId} completed\n${headline}\n${counts}`);
    expect(resumed.stdout).toMatch(new RegExp(`this session +${total - decided} chunks decided, ${decided} decided before \\(resumed\\)`));
    expect(resumed.stdout).toMatch(new RegExp(`the report: {10}\\S.* report --batch ${batchId} --out ${out}\n`));
    expect(resumed.stdout).toMatch(new RegExp(`… ${total - 3} more chunks in ${summaryFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    // The calls of both sessions, interrupted runs included, as the events hold them.
    const printed = printedCalls(resumed.stdout);
    expect(printed).toEqual(eventCalls(out, batchId));

    const summary = readFileSync(summaryFile, 'utf8');
    expect(summary).toContain(`# Batch ${batchId}: CONSENSUS`);
    expect(summary).toContain(`**Chunks:** ${counts}`);
    expect(summary).toContain(`**Sessions:** 2 (resumed); latest completed.`);
    expect(summary.match(/^### \d+\. Chunk `[0-9a-f]{16}`: consensus$/gm)).toHaveLength(total);
    expect(summary).not.toContain('Undecided');

    const row = await sqlRow('report_batches', out);
    expect(row).toMatchObject({ batchid: batchId, outcome: 'completed', chunks: total, decided: total, consensus: total, degraded: 0, no_claims: 0, quorum_lost: 0, undecided: 0, calls: printed.calls, requests: printed.requests });
    expect(row.started).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

    const report = await reportBanner(batchId, out);
    expect(report.status).toBe('CONSENSUS');
    expect(report.text).toContain(headline);
    expect(report.text).toContain(counts);
    expect(tile(report.page, 'Calls')).toBe(printed.calls.toLocaleString('en-US'));
    expect(tile(report.page, 'Requests (with retries)')).toBe(printed.requests.toLocaleString('en-US'));
  });

  it('a degraded batch whose chunks reached no claim is PARTIAL, never "reached consensus"; calls and retries agree; failures by model are listed', async () => {
    // Ports 5, 6, 7 never answer (5 of 8 answer: degraded, a claim needs 4); every answering port
    // states a fact of its own, so no claim reaches 4. Port 0 fails its first request once (a retry).
    const scenario: Scenario = {
      models: Array.from({ length: 8 }, (_, port): SandboxModel => ({
        model: `family${port}/model-${port}`,
        family: `family${port}`,
        latencyMs: 5,
        answer: JSON.stringify({ claims: [`Port ${port} alone says fact number ${port * 7 + 3}.`] }),
        ...(port >= 5 && { fault: 'http_500' as const }),
        ...(port === 0 && { fault: 'http_503' as const, faultTimes: 1 }),
      })),
    };
    server = await startSandboxServer({ scenario });
    const dir = tempDir('quorum-summary-degraded-');
    const root = join(dir, 'specs');
    mkdirSync(root);
    writeFileSync(join(root, 'a.md'), '# A\n\nThe protocol uses port 8080 by default.\n');
    writeFileSync(join(root, 'b.md'), '# B\n\nEvery message carries a sequence number.\n');
    const out = join(dir, 'artifacts');
    const run = await bin(['batch', root, '--query', 'What does it say?', '--panel', writePanel(dir, server.baseURL, scenario), '--out', out, '--rounds', '1', '--grace', '-1']);
    const lines = runLines(out);
    expect(lines.map((l) => [l.status, l.claims.length])).toEqual([['degraded', 0], ['degraded', 0]]);
    const batchId = lines[0]!.batchId!;

    const headline = '2 of 2 chunks reached no consensus; 0 did.';
    const counts = '2 chunks: 0 consensus, 0 degraded, 2 with no claim at the quorum, 0 quorum lost.';
    expect(run.stdout).toContain(`PARTIAL — batch ${batchId} completed\n${headline}\n${counts}`);
    expect(run.stdout).not.toMatch(/reached consensus with/);
    expect(run.stdout).toContain('specs/a.md · chunk');
    expect(run.stdout.replace(/\s+/g, ' ')).toContain(`· no claim reached the quorum · 0 consensus, ${lines[0]!.dissent.length} dissent`);
    // Failures by model, with their kinds, most first.
    expect(run.stdout).toMatch(/failures by model {2}family[567]\/model-[567]: http ×2\n {21}family[567]\/model-[567]: http ×2\n {21}family[567]\/model-[567]: http ×2\n/);

    const printed = printedCalls(run.stdout);
    expect(printed).toEqual({ calls: 16, requests: 16 + 1 + 3 * 2 * 2 });
    expect(printed).toEqual(eventCalls(out, batchId));

    const summary = readFileSync(join(out, 'summaries', batchId, 'summary.md'), 'utf8');
    expect(summary).toContain(`# Batch ${batchId}: PARTIAL`);
    expect(summary).toContain(`**Verdict:** ${headline}`);
    expect(summary.match(/^### 1\. Chunk `[0-9a-f]{16}`: no claim reached the quorum$/gm)).toHaveLength(2);
    expect(summary).toMatch(/^## .*specs\/a\.md$/m);
    expect(summary).toContain('Failures: port 5 family5/model-5 http; port 6 family6/model-6 http; port 7 family7/model-7 http.');

    expect(await sqlRow('report_batches', out)).toMatchObject({ chunks: 2, decided: 2, consensus: 0, degraded: 0, no_claims: 2, quorum_lost: 0, undecided: 0, calls: printed.calls, requests: printed.requests, failed_calls: 6 });

    // --json says the same of the whole batch.
    const out2 = join(dir, 'artifacts2');
    const json = await bin(['batch', root, '--query', 'What does it say?', '--panel', join(dir, 'panel.json'), '--out', out2, '--rounds', '1', '--grace', '-1', '--json']);
    const batch = JSON.parse(json.stdout).batch;
    expect(batch).toMatchObject({ verdict: 'PARTIAL', headline, chunks: 2, decided: 2, undecided: 0, consensus: 0, degraded: 0, noClaims: 2, quorumLost: 0, calls: 16, failedCalls: 6, sandbox: false });
    expect({ calls: batch.calls, requests: batch.requests }).toEqual(eventCalls(out2, JSON.parse(json.stdout).batchId));
    expect(Object.keys(batch.failuresByModel).sort()).toEqual(['family5/model-5', 'family6/model-6', 'family7/model-7']);

    const report = await reportBanner(batchId, out);
    expect(report.status).toBe('PARTIAL');
    expect(report.text).toContain(headline);
    expect(report.text).toContain(counts);
    expect(tile(report.page, 'Calls')).toBe(String(printed.calls));
    expect(tile(report.page, 'Requests (with retries)')).toBe(String(printed.requests));
  });
});
