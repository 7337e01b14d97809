/**
 * `quorum report` on artifacts from real `ask` and `batch` runs against the sandbox server.
 *
 * Without a browser: the HTML's structure, that its numbers are the bundled queries' (the same
 * SQL `quorum sql` runs), and the exit-2 paths for bad input.
 *
 * In headless Chromium (Debian's `chromium` package, driven by playwright-core; no browser is ever
 * downloaded): no console error, no request besides the file itself, the expected charts drawn
 * and sized, the `<script>` claim shown as text and never run, and a page that fits a narrow
 * window. Screenshots go to test-output/report/ for a person to look at. These tests skip, saying
 * why, where Chromium is absent; `.ci/run` installs it and sets QUORUM_REQUIRE_BROWSER=1, so CI
 * fails instead of skipping. One file, so the runs and reports are made once for both.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReport } from '../../src/report/generate.js';
import { ScopedQueries } from '../../src/report/scope.js';
import { ArtifactsDb } from '../../src/sql/artifactsDb.js';
import { runLines } from '../sql/fixture.js';
import { legacyFolder } from '../sql/logs.js';
import { spawnCli, tempDir } from '../helpers/cli.js';
import { buildReportFixture, HANDLER_CLAIM, QUERY, SCRIPT_CLAIM, type ReportFixture } from './fixture.js';
import { runReport, runSqlCommand } from './runReport.js';

const CHROMIUM = process.env.QUORUM_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const SCREENSHOTS = resolve(import.meta.dirname, '../../test-output/report');
const SKIP_REASON = `${CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium), as .ci/run does, or point QUORUM_CHROMIUM at a Chromium binary`;

if (!hasChromium) {
  if (process.env.QUORUM_REQUIRE_BROWSER === '1') throw new Error(`QUORUM_REQUIRE_BROWSER=1 but ${SKIP_REASON}`);
  console.warn(`Skipping the report's browser tests: ${SKIP_REASON}`);
}

let f: ReportFixture;
let reports: string;
/** The three reports, written once by the first tests' command runs. */
const files = { run: '', batch: '', all: '' };
let context: BrowserContext | undefined;
let userDataDir: string | undefined;

async function launchChromium(): Promise<void> {
  const { chromium } = await import('playwright-core');
  userDataDir = mkdtempSync(join(tmpdir(), 'quorum-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    offline: true,
  });
}

beforeAll(async () => {
  // Chromium starts while the runs are made.
  await Promise.all([
    buildReportFixture().then((fixture) => {
      f = fixture;
      reports = join(f.dir, 'reports');
      files.run = join(reports, 'run.html');
      files.batch = join(reports, 'batch.html');
      files.all = join(reports, 'all.html');
    }),
    hasChromium ? launchChromium() : undefined,
  ]);
}, 30_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function chartsIn(page: string): string[] {
  return [...page.matchAll(/<figure class="chart" data-chart="([\w-]+)" id="chart-[\w-]+"><svg /g)].map((m) => m[1]!);
}

function tile(page: string, name: string): string {
  return new RegExp(`<span class="k">${name}</span><span class="v">([^<]*)</span>`).exec(page)?.[1] ?? '';
}

async function sqlJson(name: string): Promise<Record<string, any>[]> {
  const run = await runSqlCommand([name, '--out', f.out, '--format', 'json'], f.env);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe('quorum report', () => {
  it('reports a run: status banner first, the question, claims with support and voters, and the six charts, all text escaped', async () => {
    const file = files.run;
    const run = await runReport([f.runId, '--out', f.out, '--to', file], f.env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`DEGRADED: report on run ${f.runId} written to ${file}\n`);
    const page = readFileSync(file, 'utf8');
    const doc = runLines(f.out).find((r) => r.runId === f.runId)!;

    expect(page.indexOf('<header class="banner warn" role="status" data-status="DEGRADED">')).toBeGreaterThan(0);
    expect(page.indexOf('data-status="DEGRADED"')).toBeLessThan(page.indexOf('<main>'));
    expect(page).toContain('Partial result: only 7 of 8 ports answered; a claim needs 6 votes');
    expect(page).toContain('No answer from port 5 (family5/model-5): http.');
    expect(page).toContain('Failed the vote round and abstained: port 2 (malformed).');

    expect(page).not.toMatch(/<script|<img/i);
    expect(page).toContain(`<dt>Question</dt><dd>${esc(QUERY)}</dd>`);
    expect(page).toContain(`<span class="claim-text">${esc(SCRIPT_CLAIM)}</span>`);
    expect(page).toContain(`<span class="claim-text">${esc(HANDLER_CLAIM)}</span>`);

    expect(chartsIn(page)).toEqual(['support', 'votes', 'agreement', 'latency', 'tokens', 'cost']);
    // The claim lists are consensus.json's, with k of N and the voters.
    expect(page.match(/<li id="claim-c\d+" class="claim consensus">/g)).toHaveLength(doc.claims.length);
    expect(page.match(/<li id="claim-d\d+" class="claim dissent">/g)).toHaveLength(doc.dissent.length);
    const c1 = doc.claims[0]!;
    expect(page).toContain(`<span class="support">${c1.support} of 8 ports (needs ${doc.quorum.required})</span>`);
    expect(page).toContain(`agree: ports ${c1.votes!.agree.join(', ')}`);
  });

  it('reports a batch: chunks, slowest chunks, failures over time, lone dissenters and totals', async () => {
    const file = files.batch;
    const run = await runReport(['--batch', f.batchId, '--out', f.out, '--to', file], f.env);
    expect(run.code, run.stderr).toBe(0);
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('data-status="DEGRADED"');
    expect(page).toContain('Every chunk reached consensus, 2 of them with ports missing.');
    expect(page).toContain('2 chunks: 0 consensus, 2 degraded, 0 with no claim at the quorum, 0 quorum lost.');
    expect(page).toContain(`<dt>Batch</dt><dd>${f.batchId}</dd>`);
    expect(chartsIn(page)).toEqual(['consensus-rate', 'slowest', 'failures-over-time', 'lone-dissenters', 'agreement', 'model-latency', 'tokens', 'cost']);
    expect(page).toContain('restricted to batch');
    // Only the batch's runs: two chunk runs, 16 round-1 calls, 2 of them port 5's failures.
    expect(tile(page, 'Runs')).toBe('2');
    expect(tile(page, 'Calls')).toBe('16');
    expect(tile(page, 'Failed calls')).toBe('2');
    expect(page).not.toMatch(/<script/i);
  });

  it('reports every run with the numbers quorum sql gives for the same queries', async () => {
    const file = files.all;
    const run = await runReport(['--all', '--out', f.out, '--to', file], f.env);
    expect(run.code, run.stderr).toBe(0);
    const page = readFileSync(file, 'utf8');
    const [totals] = await sqlJson('report_totals');
    const n = (v: number) => v.toLocaleString('en-US');
    expect(tile(page, 'Runs')).toBe(n(totals!.runs));
    expect(tile(page, 'Calls')).toBe(n(totals!.calls));
    expect(tile(page, 'Failed calls')).toBe(n(totals!.failed_calls));
    expect(tile(page, 'Input tokens')).toBe(n(totals!.input_tokens));
    expect(tile(page, 'Output tokens')).toBe(n(totals!.output_tokens));
    // Each lone dissenter's count as quorum sql lone_dissenters has it.
    for (const l of await sqlJson('lone_dissenters')) expect(page).toContain(`<td class="num">${l.lone_claims}</td><td class="num">${l.claims}</td>`);
  });

  it("restricts the bundled queries to a batch's rows, so per-run rows match quorum sql's and aggregates add up to them", async () => {
    const db = await ArtifactsDb.open(f.out);
    try {
      const q = new ScopedQueries(db, { kind: 'batch', batchId: f.batchId, runIds: f.batchRuns });
      const inBatch = (rows: Record<string, any>[]) => rows.filter((r) => f.batchRuns.includes(r.runid));
      for (const name of ['consensus_rate', 'tokens_cost', 'report_calls']) {
        expect(JSON.parse(JSON.stringify(await q.rows(name))), name).toEqual(inBatch(await sqlJson(name)));
      }
      const calls = inBatch(await sqlJson('report_calls'));
      const [totals] = await q.rows('report_totals');
      expect(totals).toMatchObject({ runs: 2, calls: calls.length, failed_calls: calls.filter((c) => !c.ok).length });
      const usage = await q.rows('report_usage');
      const tokens = inBatch(await sqlJson('tokens_cost'));
      for (const u of usage) {
        expect(u.input_tokens, `port ${u.port}`).toBe(tokens.filter((t) => t.port === u.port).reduce((s, t) => s + (t.input_tokens ?? 0), 0) || null);
      }
    } finally {
      db.close();
    }
  });

  it('writes to <out>/reports/ by default, reports the latest run when none is named, and prints the page with --to -', async () => {
    const latest = [f.runId, ...f.batchRuns].sort().pop()!;
    const run = await runReport(['--out', f.out], f.env);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(f.out, 'reports', `run-${latest}.html`))).toBe(true);
    const printed = await runReport([f.runId, '--out', f.out, '--to', '-'], f.env);
    expect(printed.code).toBe(0);
    expect(printed.stdout.startsWith('<!doctype html>')).toBe(true);
    expect(printed.stdout).toContain(`<h1>Run ${f.runId}</h1>`);
  });

  it('reads the logs, never the per-run files: without runs/ the run, batch and all-runs reports are the same', async () => {
    const copy = join(tempDir('quorum-report-noruns-'), 'artifacts');
    cpSync(f.out, copy, { recursive: true });
    rmSync(join(copy, 'runs'), { recursive: true });
    rmSync(join(copy, 'reports'), { recursive: true, force: true });
    const now = () => new Date('2025-06-01T12:00:00Z');
    for (const target of [{ kind: 'run', runId: f.runId }, { kind: 'run' }, { kind: 'batch', batchId: f.batchId }, { kind: 'all' }] as const) {
      const here = await generateReport({ out: f.out, target, to: '-', now });
      const there = await generateReport({ out: copy, target, to: '-', now });
      // The page model, not the HTML: Vega numbers its clip paths across renders in one process.
      expect(JSON.stringify(there.model).replaceAll(copy, f.out), JSON.stringify(target)).toBe(JSON.stringify(here.model));
      expect(there.scope).toEqual(here.scope);
    }
  });

  it('creates no cache: $HOME, $XDG_CACHE_HOME, $QUORUM_CACHE_DIR and the temp dir are left as found', async () => {
    const homes = { HOME: tempDir('quorum-report-home-'), XDG_CACHE_HOME: tempDir('quorum-report-xdg-'), QUORUM_CACHE_DIR: tempDir('quorum-report-qc-'), TMPDIR: tempDir('quorum-report-tmp-') };
    const to = join(tempDir('quorum-report-to-'), 'all.html');
    const run = await spawnCli(['report', '--all', '--out', f.out, '--to', to], homes).done;
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(to)).toBe(true);
    for (const [name, dir] of Object.entries(homes)) expect(readdirSync(dir), name).toEqual([]);
  });

  describe('bad input: exit 2, one line, nothing written', () => {
    it('an unknown run id names the ids nearby', async () => {
      const typo = `${f.runId.slice(0, -1)}x`;
      const run = await runReport([typo, '--out', f.out, '--to', join(reports, 'no.html')], f.env);
      expect(run.code).toBe(2);
      // The closest first; runs started in the same second share the prefix and follow.
      expect(run.stderr).toMatch(new RegExp(`^Error: Unknown run id ${typo} in ${f.out}; nearby: ${f.runId}(, [\\w-]+)*\n$`));
      expect(existsSync(join(reports, 'no.html'))).toBe(false);
      const odd = await runReport(['../../etc', '--out', f.out], f.env);
      expect(odd.code).toBe(2);
      expect(odd.stderr).toMatch(/^Error: Unknown run id \.\.\/\.\.\/etc in .*; \d runs exist, the latest: /);
    });

    it('an unknown batch id names the batch ids nearby', async () => {
      const run = await runReport(['--batch', f.batchId.slice(0, -2), '--out', f.out], f.env);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`Error: Unknown batch id ${f.batchId.slice(0, -2)} in ${f.out}; nearby: ${f.batchId}\n`);
    });

    it('an empty or missing artifacts folder says so', async () => {
      const empty = join(tempDir('quorum-report-empty-'), 'artifacts');
      mkdirSync(empty);
      const run = await runReport(['--all', '--out', empty], f.env);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`Error: No runs in ${empty}: it holds no runs.jsonl and no cloudevents.jsonl; run quorum ask or quorum batch first, or point --out at the folder your runs wrote\n`);
      expect(existsSync(join(empty, 'reports'))).toBe(false);
      const missing = await runReport(['--out', join(empty, 'nope')], f.env);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^Error: Artifacts folder .*nope does not exist; /);
    });

    it('a 0.1 folder names quorum migrate', async () => {
      const legacy = legacyFolder();
      for (const args of [[], ['--all'], ['20250101T000000Z-abcdef']]) {
        const run = await runReport([...args, '--out', legacy], f.env);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/^Error: .* quorum 0\.1 .*quorum migrate --out .*\n$/);
        expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      }
      expect(existsSync(join(legacy, 'reports'))).toBe(false);
    });

    it('two targets at once', async () => {
      const run = await runReport([f.runId, '--all', '--out', f.out], f.env);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe('Error: Give one of <runId>, --batch <id> or --all\n');
    });
  });
});

/** What page.evaluate callbacks see (they run in the page; this project compiles without DOM types). */
type PageGlobals = { window: any; document: any };

/** What one page load did. */
interface Visit {
  page: Page;
  url: string;
  requests: string[];
  errors: string[];
}

async function visit(file: string, width = 1280): Promise<Visit> {
  const page = await context!.newPage();
  await page.setViewportSize({ width, height: 900 });
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // Anything but the report itself is recorded above and never leaves the page.
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort('blockedbyclient')));
  await page.goto(url, { waitUntil: 'load' });
  return { page, url, requests, errors };
}

/** Each figure's SVG size as drawn, by data-chart id. */
async function chartSizes(page: Page): Promise<Record<string, { width: number; height: number; legend: boolean; axisTitles: number }>> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    return Object.fromEntries(
      [...document.querySelectorAll('figure.chart')].map((fig: any) => {
        const svg = fig.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return [
          fig.getAttribute('data-chart')!,
          { width: box?.width ?? 0, height: box?.height ?? 0, legend: !!svg?.querySelector('.role-legend'), axisTitles: svg?.querySelectorAll('.role-axis-title text').length ?? 0 },
        ];
      }),
    );
  });
}

async function expectClean(v: Visit): Promise<void> {
  expect(v.errors).toEqual([]);
  expect(v.requests).toEqual([v.url]);
  const ran = await v.page.evaluate(() => {
    const { window, document } = globalThis as unknown as PageGlobals;
    return { pwned: window.__pwned ?? null, scripts: document.scripts.length };
  });
  expect(ran).toEqual({ pwned: null, scripts: 0 });
}

describe.skipIf(!hasChromium)(hasChromium ? 'the report in headless Chromium' : `the report in headless Chromium (SKIPPED: ${SKIP_REASON})`, () => {
  beforeAll(() => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // The reports come from the command runs above; run alone (-t), make them here.
    return Promise.all(
      (['run', 'batch', 'all'] as const).map(async (name) => {
        if (existsSync(files[name])) return;
        const args = name === 'run' ? [f.runId] : name === 'batch' ? ['--batch', f.batchId] : ['--all'];
        const run = await runReport([...args, '--out', f.out, '--to', files[name]], f.env);
        if (run.code !== 0) throw new Error(`report ${name} failed (${run.code}): ${run.stderr}`);
      }),
    );
  }, 30_000);


  it('the harness sees a request the page makes, and an error it logs', async () => {
    const probe = join(f.dir, 'probe.html');
    writeFileSync(probe, '<!doctype html><title>probe</title><img src="http://192.0.2.1/x.png"><script>console.error("probe")</script>');
    const v = await visit(probe);
    expect(v.requests).toEqual([v.url, 'http://192.0.2.1/x.png']);
    expect(v.errors).toContain('console.error: probe');
    await v.page.close();
  });

  it('run report: clean load, the status first, the <script> claim shown as text, six charts drawn', async () => {
    const v = await visit(files.run);
    await expectClean(v);
    const { page } = v;
    expect(await page.locator('header.banner').getAttribute('data-status')).toBe('DEGRADED');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.body.firstElementChild?.className)).toBe('banner warn');
    expect(await page.locator('dl.facts dd').first().textContent()).toBe(QUERY);
    expect(await page.locator('#claim-c1 .claim-text, #claim-c2 .claim-text, #claim-c3 .claim-text').allTextContents()).toContain(SCRIPT_CLAIM);
    expect(await page.locator('li.claim.dissent .claim-text').allTextContents()).toContain(HANDLER_CLAIM);
    // The support chart names claims by id; its table beside them holds the full text.
    expect(await page.locator('[data-chart="support"] svg').textContent()).not.toContain('<script>');
    expect(await page.locator('[data-chart="support"] table').textContent()).toContain(SCRIPT_CLAIM);

    const sizes = await chartSizes(page);
    expect(Object.keys(sizes)).toEqual(['support', 'votes', 'agreement', 'latency', 'tokens', 'cost']);
    for (const [id, s] of Object.entries(sizes)) {
      expect(s.width, id).toBeGreaterThan(200);
      expect(s.height, id).toBeGreaterThan(120);
      expect(s.legend, id).toBe(id !== 'cost');
      expect(s.axisTitles, id).toBeGreaterThanOrEqual(2);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'run.png'), fullPage: true });
    await page.close();
  });

  it('batch and all-runs reports: clean load and the eight charts drawn', async () => {
    for (const name of ['batch', 'all'] as const) {
      const v = await visit(files[name]);
      await expectClean(v);
      const sizes = await chartSizes(v.page);
      expect(Object.keys(sizes), name).toEqual(['consensus-rate', 'slowest', 'failures-over-time', 'lone-dissenters', 'agreement', 'model-latency', 'tokens', 'cost']);
      for (const [id, s] of Object.entries(sizes)) {
        expect(s.width, `${name} ${id}`).toBeGreaterThan(200);
        expect(s.height, `${name} ${id}`).toBeGreaterThan(100);
      }
      expect(sizes['failures-over-time']!.legend).toBe(true);
      expect(await v.page.locator('.tiles li').count()).toBeGreaterThanOrEqual(6);
      // What every chunk concluded, by source file, collapsible without a script.
      const sources = v.page.locator('#conclusions details.source');
      expect(await sources.count(), name).toBeGreaterThanOrEqual(name === 'batch' ? 2 : 3);
      if (name === 'batch') {
        expect(await sources.locator('summary .file').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/specs\/a\.md$/), expect.stringMatching(/specs\/b\.md$/)]));
        expect(await v.page.locator('#conclusions li.chunk').count()).toBe(2);
        expect(await v.page.locator('#conclusions li.chunk .claim-text').allTextContents()).toContain(SCRIPT_CLAIM);
        // Closing a file hides its chunks: plain <details>.
        await sources.first().locator(':scope > summary').click();
        expect(await sources.first().locator('li.chunk').first().isVisible()).toBe(false);
        await sources.first().locator(':scope > summary').click();
        await v.page.screenshot({ path: join(SCREENSHOTS, 'batch.png'), fullPage: true });
      }
      await v.page.close();
    }
  });

  it('fits a narrow window: nothing wider than the viewport, charts scaled down', async () => {
    for (const name of ['run', 'batch'] as const) {
      const v = await visit(files[name], 360);
      await expectClean(v);
      const widths = await v.page.evaluate(() => {
        const { document } = globalThis as unknown as PageGlobals;
        return {
          page: document.documentElement.scrollWidth as number,
          charts: [...document.querySelectorAll('figure.chart svg')].map((s: any) => s.getBoundingClientRect().right as number),
        };
      });
      expect(widths.page, name).toBeLessThanOrEqual(360);
      for (const right of widths.charts) expect(right, name).toBeLessThanOrEqual(360);
      if (name === 'run') await v.page.screenshot({ path: join(SCREENSHOTS, 'run-narrow.png'), fullPage: true });
      await v.page.close();
    }
  });
});
