import { Writable } from 'node:stream';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { BatchProgress } from '../../src/terminal/batchProgress.js';
import type { ChunkReport } from '../../src/types.js';
import { etaSeconds, progressLine, type ProgressState } from '../../src/terminal/progressLine.js';
import type { ModelOutcome } from '../../src/types.js';
import { FakeClock, FakeTty } from './fakeTty.js';

const answer: ModelOutcome = { ok: true, port: 0, model: 'a/b', family: 'a', latencyMs: 10, attempts: 1, text: 'x', usage: {} };
const cut: ModelOutcome = { ok: false, port: 1, model: 'a/c', family: 'a', latencyMs: 10, attempts: 1, kind: 'cancelled', message: 'cut' };
const decided = (index: number, over: Partial<ChunkReport> = {}): ChunkReport => ({ source: 'docs/spec.md', index, chunkId: `c${index}`, status: 'consensus', claims: 3, calls: 16, durationMs: 48_000, failures: [], ...over });
const resumed = (index: number): ChunkReport => ({ source: 'docs/spec.md', index, chunkId: `c${index}`, status: 'already-done' });

/** The progress line as the screen shows it: the last row. */
const shown = (tty: FakeTty) => tty.screen().at(-1) ?? '';

describe('progressLine', () => {
  const busy: ProgressState = { total: 12_000, done: 11_998, inFlight: 16, answers: 123_456, failures: 1_234, etaSeconds: 4 * 3600 + 125, callsPerMinute: 1234.4 };

  it.each([80, 120])('fits %i columns, dropping whole fields and never cutting one', (columns) => {
    const line = progressLine(busy, columns);
    expect(stringWidth(line)).toBeLessThan(columns);
    expect(line).not.toContain('…');
    const fields = line.replace(/^\[[#-]+\] /, '').split(' · ');
    const whole = ['chunks 11998/12000', 'in flight 16', 'answers 123456', 'failures 1234', 'ETA 4h02m', '1234 calls/min'];
    for (const f of fields) expect(whole).toContain(f);
    // The most needed fields are the last to go.
    expect(fields).toEqual(expect.arrayContaining(['chunks 11998/12000', 'failures 1234', 'ETA 4h02m']));
    if (columns === 120) {
      expect(fields).toEqual(whole);
      expect(line).toMatch(/^\[#+-*\] /);
    }
  });

  it('shows "ETA …" when there is no rate yet, not 0 s, and no ETA once every chunk is done', () => {
    expect(progressLine({ ...busy, etaSeconds: undefined }, 120)).toContain('ETA …');
    expect(progressLine({ ...busy, done: busy.total, etaSeconds: undefined }, 120)).not.toContain('ETA');
  });

  it('keeps the chunk count even on a very narrow terminal', () => {
    expect(progressLine(busy, 24)).toBe('chunks 11998/12000');
  });
});

describe('etaSeconds: this process\'s own pace', () => {
  it('has no estimate before this process decided a chunk, whatever was decided before it (a resume)', () => {
    expect(etaSeconds({ remaining: 81, ownDone: 0, startedAt: 0, lastDoneAt: 0, now: 60_000 })).toBeUndefined();
  });

  it('counts down from the last decided chunk, and holds at the chunks after the next while that one is overdue', () => {
    const p = { remaining: 4, ownDone: 1, startedAt: 0, lastDoneAt: 48_000 };
    expect(etaSeconds({ ...p, now: 48_000 })).toBe(192);
    expect(etaSeconds({ ...p, now: 58_000 })).toBe(182);
    expect(etaSeconds({ ...p, now: 400_000 })).toBe(144);
    expect(etaSeconds({ ...p, remaining: 1, now: 400_000 })).toBeUndefined();
  });
});

describe('BatchProgress of a queued batch (--queue)', () => {
  it('shows chunks, failures and the ETA, not calls in flight or answers, which the workers make', () => {
    const tty = new FakeTty(120);
    const clock = new FakeClock();
    const progress = new BatchProgress(5, tty, { clock, queued: true });
    expect(shown(tty)).toMatch(/chunks 0\/5 · ETA …$/);
    clock.advance(10_000);
    progress.chunk(decided(0, { failures: [{ model: 'a/c', kind: 'timeout' }] }));
    expect(shown(tty)).toMatch(/chunks 1\/5 · failures 1 · ETA 40s/);
    expect(shown(tty)).not.toMatch(/in flight|answers/);
  });
});

describe.each([80, 120])('BatchProgress on a %i-column TTY', (columns) => {
  it('shows progress at once, then calls in flight and answers before the first chunk is decided', () => {
    const tty = new FakeTty(columns);
    const clock = new FakeClock();
    tty.write('Batch 20261206T063000Z-abc123: 5 chunk(s)\n');
    const progress = new BatchProgress(5, tty, { clock });
    expect(shown(tty)).toMatch(/chunks 0\/5 · in flight 0 · answers 0 · ETA …$/);
    for (let i = 0; i < 8; i++) progress.callStarted();
    clock.advance(20_000);
    progress.finished(answer);
    progress.callEnded();
    progress.finished(answer);
    progress.callEnded();
    progress.finished(cut);
    progress.callEnded();
    expect(shown(tty)).toMatch(/chunks 0\/5 · in flight 5 · answers 2 · ETA …$/);

    clock.advance(28_000);
    progress.chunk(decided(0, { failures: [{ model: 'deepseek/deepseek-r1-distill-llama-70b:free', kind: 'rate_limited' }, { model: 'a/c', kind: 'cancelled' }] }));
    expect(shown(tty)).toMatch(/chunks 1\/5 · in flight 5 · answers 2 · failures 2 · ETA 3m12s/);
    // The ETA counts down between chunks.
    clock.advance(10_000);
    expect(shown(tty)).toMatch(/ETA 3m02s/);
    progress.close();

    // The screen holds the line printed before and one progress line, however many redraws.
    expect(tty.screen()).toHaveLength(2);
    expect(tty.writes.length).toBeGreaterThan(8);
    for (const w of tty.widths()) expect(w).toBeLessThan(columns);
  });

  it('after --resume, chunks decided before this process count as done but not toward its pace', () => {
    const tty = new FakeTty(columns);
    const clock = new FakeClock();
    const progress = new BatchProgress(147, tty, { clock, alreadyDone: 66 });
    expect(shown(tty)).toMatch(/chunks 66\/147 · .*ETA …/);
    clock.advance(5_000);
    for (let i = 0; i < 66; i++) progress.chunk(resumed(i));
    expect(shown(tty)).toMatch(/chunks 66\/147 · .*ETA …/);
    expect(shown(tty)).not.toMatch(/ETA 0s/);
    clock.advance(43_000);
    progress.chunk(decided(66));
    // 80 chunks left at one per 48 s.
    expect(shown(tty)).toMatch(/chunks 67\/147 · .*ETA 1h04m/);
    progress.close();
    expect(tty.screen()).toHaveLength(1);
  });

  it('prints a skipped file above the line and redraws the line below it', () => {
    const tty = new FakeTty(columns);
    const clock = new FakeClock();
    const progress = new BatchProgress(2, tty, { clock });
    progress.chunk({ source: 'img.png', index: 0, chunkId: '', status: 'skipped', message: 'Skipped img.png: not a text file' });
    progress.chunk(decided(0));
    progress.close();
    expect(tty.screen()).toEqual(['Skipped img.png: not a text file', expect.stringMatching(/chunks 1\/2 · /)]);
  });
});

describe('BatchProgress after the terminal was narrowed', () => {
  it('erases every row the rewrapped line took before drawing it again', () => {
    const tty = new FakeTty(120);
    const clock = new FakeClock();
    const progress = new BatchProgress(147, tty, { clock });
    progress.callStarted();
    expect(tty.widths()[0]).toBeGreaterThan(60);
    tty.resize(60);
    progress.chunk(decided(0));
    progress.close();
    expect(tty.screen()).toEqual([expect.stringMatching(/chunks 1\/147 · in flight 1 · answers 0 · ETA /)]);
    expect(tty.widths()[0]).toBeLessThan(60);
  });
});

describe('BatchProgress off a TTY', () => {
  it('prints one plain line per chunk, as before, and runs no clock', () => {
    const out: string[] = [];
    const pipe = Object.assign(new Writable({ write: (c, _e, done) => (out.push(String(c)), done()) }), { isTTY: false });
    const clock = new FakeClock();
    const progress = new BatchProgress(3, pipe, { clock, alreadyDone: 1 });
    expect(clock.pending).toBe(0);
    progress.callStarted();
    progress.finished(answer);
    progress.chunk(resumed(0));
    progress.chunk(decided(1, { durationMs: 1500, claims: 2 }));
    progress.chunk({ ...decided(2), status: 'failed', message: 'boom' });
    progress.close();
    expect(out).toEqual([
      'chunk 1/3 docs/spec.md#0: already decided (resume)\n',
      'chunk 2/3 docs/spec.md#1: consensus, 2 claim(s) in 1.5 s\n',
      'chunk 3/3 docs/spec.md#2: failed: boom\n',
    ]);
  });
});
