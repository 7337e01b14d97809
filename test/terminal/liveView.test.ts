import { Writable } from 'node:stream';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { LiveView } from '../../src/terminal/liveView.js';
import type { ModelOutcome, PanelMember } from '../../src/types.js';
import { FakeClock, FakeTty } from './fakeTty.js';

const MODELS = [
  'openai/gpt-4o-mini',
  'meta-llama/llama-3.3-70b-instruct:free',
  'deepseek/deepseek-r1-distill-llama-70b-and-a-very-long-model-id-that-goes-on:free',
  'google/gemma-3-27b-it:free',
  'qwen/qwen3-235b-a22b:free',
  'mistralai/mistral-small-3.2-24b-instruct:free',
  '通义千问/qwen-长模型名称-🚀-超长的模型标识符-instruct:free',
  'x',
];

const panel = (models: readonly string[] = MODELS): PanelMember[] =>
  models.map((model, port) => ({ port, model, family: model.split('/')[0]!, baseURL: 'http://127.0.0.1:1/v1', apiKeyEnv: 'KEY', timeoutMs: 30_000 }));

/** What a provider really sends back on a 429: long, multi-line, with a control sequence in it. */
const LONG_429 =
  '429 Rate limit exceeded: free-models-per-min. Upstream provider returned: {"error":{"message":"Provider returned error","code":429,"metadata":{"raw":"deepseek/deepseek-r1 is temporarily rate-limited upstream.\nPlease retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations\x1b[31m","provider_name":"Chutes"}}} ' +
  'x'.repeat(200);

const ok = (m: PanelMember, latencyMs = 812): ModelOutcome => ({ ok: true, port: m.port, model: m.model, family: m.family, latencyMs, attempts: 1, text: 'a', usage: {} });
const failed = (m: PanelMember, message = LONG_429): ModelOutcome => ({ ok: false, port: m.port, model: m.model, family: m.family, latencyMs: 30_000, attempts: 3, kind: 'rate_limited', message, status: 429 });

/** The rows of one block: they start with an icon and `port N`. */
const portRows = (screen: string[]) => screen.filter((r) => /^ {2}[…~✓✗] port \d+ /.test(r));

function expectCleanBlock(tty: FakeTty, rows: string[], ports: number[]): void {
  expect(rows.map((r) => Number(/port (\d+)/.exec(r)![1]))).toEqual(ports);
  expect(new Set(rows).size).toBe(rows.length);
  for (const w of tty.widths()) expect(w).toBeLessThan(tty.columns);
}

describe.each([80, 120])('LiveView on a %i-column TTY', (columns) => {
  it('keeps one line per port, none wider than the terminal, after many redraws with long 429 messages', () => {
    const tty = new FakeTty(columns);
    const clock = new FakeClock();
    const members = panel();
    tty.write('SANDBOX: 8 simulated models at http://127.0.0.1:1/v1; no real model is asked.\n');
    const view = new LiveView(members, tty, { clock });
    for (let s = 0; s < 40; s++) {
      clock.advance(1000);
      const m = members[s % members.length]!;
      if (s % 5 === 0) view.streaming(m.port, 1);
      if (s === 13 || s === 22 || s === 31) view.finished(failed(m), 1);
    }
    view.finished(ok(members[0]!), 1);
    view.finished(failed(members[2]!, 'short'), 1);
    clock.advance(5000);
    view.close();

    const screen = tty.screen();
    expect(screen[0]).toContain('SANDBOX');
    // Nothing but the banner and the block: no leftover copy of a line, no wrapped tail.
    expect(screen).toHaveLength(1 + members.length);
    const rows = portRows(screen);
    expectCleanBlock(tty, rows, members.map((m) => m.port));
    expect(rows[0]).toMatch(/✓ port 0 +openai\/gpt-4o-mini +done in 812 ms$/);
    // The kind always shows whole; the message gets the room left, when there is some.
    expect(rows[2]).toMatch(columns === 120 ? /✗ port 2 .* failed: rate_limited \(short\)$/ : /✗ port 2 .* failed: rate_limited$/);
    expect(rows[5]).toMatch(/✗ port 5 .* failed: rate_limited/);
    // Control sequences from the provider never reach the terminal.
    expect(tty.writes.join('')).not.toContain('\x1b[31m');
  });

  it('aligns the state column on display width, eliding long model ids in the middle', () => {
    const tty = new FakeTty(columns);
    const clock = new FakeClock();
    const members = panel();
    const view = new LiveView(members, tty, { clock });
    clock.advance(3000);
    view.close();
    const rows = portRows(tty.screen());
    const stateAt = rows.map((r) => stringWidth(r.slice(0, r.indexOf('waiting'))));
    expect(new Set(stateAt).size).toBe(1);
    for (const r of rows) expect(r).toMatch(/ waiting 3s$/);
    const long = rows[2]!;
    expect(long).toContain('deepseek/');
    expect(long).toContain('…');
    // The end of the id tells free and paid variants apart: it stays.
    expect(long).toMatch(/:free +waiting/);
    // Ids of ordinary length are shown whole, even at 80 columns.
    expect(rows[1]).toContain('meta-llama/llama-3.3-70b-instruct:free');
  });
});

describe('LiveView: clocks and rounds', () => {
  it('shows how long each port has waited, ticking with the clock', () => {
    const tty = new FakeTty(100);
    const clock = new FakeClock();
    const members = panel(['a/one', 'b/two', 'c/three']);
    const view = new LiveView(members, tty, { clock });
    expect(portRows(tty.screen()).every((r) => r.endsWith('waiting 0s'))).toBe(true);
    clock.advance(4000);
    view.streaming(1, 1);
    clock.advance(8000);
    view.finished(ok(members[2]!, 11_950), 1);
    let rows = portRows(tty.screen());
    expect(rows[0]).toMatch(/… port 0 +a\/one +waiting 12s$/);
    expect(rows[1]).toMatch(/~ port 1 +b\/two +streaming 12s$/);
    expect(rows[2]).toMatch(/✓ port 2 +c\/three +done in 11950 ms$/);
    clock.advance(65_000);
    rows = portRows(tty.screen());
    expect(rows[0]).toMatch(/waiting 1m17s$/);
    view.close();
    // Closing stops the clock: nothing keeps redrawing below later output.
    expect(clock.pending).toBe(0);
    const writes = tty.writes.length;
    clock.advance(10_000);
    expect(tty.writes.length).toBe(writes);
  });

  it('keeps round 1 lines when the vote round starts and draws the vote round in its own block below', () => {
    const tty = new FakeTty(80);
    const clock = new FakeClock();
    const members = panel();
    const view = new LiveView(members, tty, { clock });
    for (const m of members) {
      clock.advance(700);
      view.finished(m.port === 5 ? failed(m) : ok(m, 700 * (m.port + 1)), 1);
    }
    const round1 = portRows(tty.screen());
    view.roundStarted(2);
    clock.advance(3000);
    view.streaming(0, 2);
    view.finished(ok(members[1]!, 2100), 2);
    view.finished(failed(members[3]!), 2);
    for (let s = 0; s < 20; s++) clock.advance(1000);
    view.close();

    const screen = tty.screen();
    const voters = members.filter((m) => m.port !== 5).map((m) => m.port);
    // Round 1 (8 lines), the vote round's heading, one line per round-1 responder.
    expect(screen).toHaveLength(members.length + 1 + voters.length);
    expect(screen.slice(0, members.length)).toEqual(round1);
    expect(screen[members.length]).toMatch(/^ {2}vote round: 7 responder\(s\)/);
    const round2 = screen.slice(members.length + 1);
    expectCleanBlock(tty, round2, voters);
    expect(round2[0]).toMatch(/~ port 0 .* voting 23s$/);
    expect(round2[1]).toMatch(/✓ port 1 .* voted in 2100 ms$/);
    expect(round2[2]).toMatch(/… port 2 .* waiting to vote 23s$/);
    // Under the vote round's heading a failure does not repeat "to vote".
    expect(round2[3]).toMatch(/✗ port 3 .* failed: rate_limited/);
    expect(round1[5]).toMatch(/✗ port 5 .* failed: rate_limited/);
  });

  it('sums up the ports that do not fit on a short screen, so the redraw never scrolls', () => {
    const tty = new FakeTty(80, 12);
    const clock = new FakeClock();
    const members = panel(Array.from({ length: 30 }, (_, i) => `family${i}/model-${i}`));
    const view = new LiveView(members, tty, { clock });
    for (const m of members) {
      clock.advance(500);
      view.finished(m.port % 4 === 0 ? failed(m) : ok(m), 1);
      if (m.port === 20) view.close();
    }
    const screen = tty.screen();
    expect(screen).toHaveLength(11);
    expect(portRows(screen)).toHaveLength(10);
    expect(screen[10]).toMatch(/^ {2}… 20 more port\(s\): 8 done, 3 failed, 9 waiting$/);
  });

  it('redraws cleanly after the terminal was narrowed and rewrapped the last drawing', () => {
    const tty = new FakeTty(120);
    const clock = new FakeClock();
    const members = panel();
    const view = new LiveView(members, tty, { clock });
    view.finished(failed(members[4]!), 1);
    expect(Math.max(...tty.widths())).toBeGreaterThan(60);
    tty.resize(60);
    clock.advance(2000);
    view.finished(ok(members[0]!), 1);
    view.close();
    const rows = portRows(tty.screen());
    expect(tty.screen()).toHaveLength(members.length);
    expectCleanBlock(tty, rows, members.map((m) => m.port));
    expect(rows[4]).toMatch(/✗ port 4 .* failed: rate_limited/);
  });

  it('off a TTY, prints one plain line per port as it finishes, and runs no clock', () => {
    const out: string[] = [];
    const pipe = Object.assign(new Writable({ write: (c, _e, done) => (out.push(String(c)), done()) }), { isTTY: false });
    const clock = new FakeClock();
    const members = panel(['a/one', 'b/two']);
    const view = new LiveView(members, pipe, { clock });
    expect(clock.pending).toBe(0);
    clock.advance(30_000);
    expect(out).toEqual([]);
    view.finished(failed(members[0]!, 'slow\ndown'), 1);
    view.finished(ok(members[1]!, 1200), 1);
    view.roundStarted(2);
    view.finished(ok(members[1]!, 900), 2);
    view.close();
    expect(out).toEqual([
      `  ✗ port 0  ${'a/one'.padEnd(44)} failed: rate_limited (slow down)\n`,
      `  ✓ port 1  ${'b/two'.padEnd(44)} done in 1200 ms\n`,
      `  ✓ port 1  ${'b/two'.padEnd(44)} voted in 900 ms\n`,
    ]);
  });
});

describe('FakeTty: the screen model the view tests rely on', () => {
  it('shows the bug the views avoid: a line wider than the terminal wraps, and a cursor-up redraw leaves a copy', () => {
    const tty = new FakeTty(20);
    const long = 'x'.repeat(30);
    tty.write(`\x1b[2K${long}\n`);
    tty.write(`\x1b[1A\x1b[2K${long}\n`);
    expect(tty.screen()).toEqual(['x'.repeat(20), 'x'.repeat(20), 'x'.repeat(10)]);
  });

  it('treats a wide character as two columns and a line exactly as wide as the screen as one row', () => {
    const tty = new FakeTty(10);
    tty.write('古古古古古\nabc\n');
    expect(tty.screen()).toEqual(['古古古古古', 'abc']);
    expect(tty.widths()).toEqual([10, 3]);
  });
});
