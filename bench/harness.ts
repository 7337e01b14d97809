/**
 * Shared pieces for `npm run bench` modules: the machine note, simple statistics, a timed child
 * process, and the rewrite of one marked section of BENCHMARKS.md.
 *
 * A benchmark module is any `bench/*.ts` that exports `run(ctx): Promise<BenchReport>` and is
 * listed in `bench/run.ts`. Its report's `markdown` replaces what lies between
 * `<!-- <id>:start -->` and `<!-- <id>:end -->`; everything else in BENCHMARKS.md is kept.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const benchmarksPath = resolve(repoRoot, 'BENCHMARKS.md');
/** The built CLI (`npm run bench` builds first). */
export const cliPath = resolve(repoRoot, 'dist', 'cli.js');

/**
 * The `quorum` binary as package.json's `bin` names it (the esbuild bundle, dist/bin/cli.js),
 * which is what users run; `cliPath` (tsc's output, unbundled) when there is no such entry.
 */
export const binPath = (() => {
  try {
    const bin = (JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as { bin?: Record<string, string> }).bin?.quorum;
    return bin ? resolve(repoRoot, bin) : cliPath;
  } catch {
    return cliPath;
  }
})();

export interface BenchContext {
  repoRoot: string;
  /** Prints one progress line to stdout. */
  log(line: string): void;
}

export interface BenchReport {
  /** Section id: the markers are `<!-- id:start -->` / `<!-- id:end -->`. */
  id: string;
  /** Level-2 heading put above the markers when the section does not exist yet. */
  heading: string;
  /** The section's content, between the markers (regenerated on every run). */
  markdown: string;
  /** A plain-text table for stdout. */
  table: string;
}

export interface BenchModule {
  run(ctx: BenchContext): Promise<BenchReport>;
}

// ---------------------------------------------------------------- machine

export interface MachineInfo {
  node: string;
  nproc: number;
  cpuModel: string;
  /** 1-minute load average when the module started. */
  load1: number;
  date: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    node: process.version,
    nproc: list.length,
    cpuModel: (list[0]?.model ?? 'unknown').trim(),
    load1: loadavg()[0] ?? 0,
    date: new Date().toISOString().slice(0, 10),
  };
}

/** One line for a section: "Machine: Node v20…, 2 CPU(s), AMD EPYC; load average 1.6 (start) → 1.9 (end); 2025-01-01." */
export function machineLine(start: MachineInfo, endLoad = loadavg()[0] ?? 0): string {
  return (
    `Machine: Node ${start.node}, ${start.nproc} CPU(s) (nproc), ${start.cpuModel}; ` +
    `1-min load average ${start.load1.toFixed(2)} at start, ${endLoad.toFixed(2)} at end; measured ${start.date}.`
  );
}

// ---------------------------------------------------------------- statistics

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function min(values: readonly number[]): number {
  return values.length ? Math.min(...values) : Number.NaN;
}

export function max(values: readonly number[]): number {
  return values.length ? Math.max(...values) : Number.NaN;
}

/** "median (min–max)" with `digits` decimals. */
export function spread(values: readonly number[], digits = 0): string {
  if (values.length === 0) return '–';
  const f = (v: number) => v.toFixed(digits);
  return values.length === 1 ? f(values[0]!) : `${f(median(values))} (${f(min(values))}–${f(max(values))})`;
}

// ---------------------------------------------------------------- child processes

export interface TimedRun {
  code: number;
  stdout: string;
  stderr: string;
  /** From spawn() to the child's 'close' event (exit and stdio drained), ms. */
  wallMs: number;
  /** Epoch ms at spawn, to line up with server-side timestamps. */
  spawnedAt: number;
}

/** Runs `node <args>` and times it from spawn to close. */
export function timedNode(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<TimedRun> {
  return new Promise((resolvePromise, reject) => {
    const spawnedAt = Date.now();
    const t0 = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - t0;
      if (timer) clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr, wallMs, spawnedAt });
    });
  });
}

// ---------------------------------------------------------------- BENCHMARKS.md

/**
 * Replaces the content between `<!-- id:start -->` and `<!-- id:end -->`, or appends
 * `## heading` with the markers at the end of the file. Other sections are left as they are.
 */
export function rewriteSection(text: string, report: Pick<BenchReport, 'id' | 'heading' | 'markdown'>): string {
  const start = `<!-- ${report.id}:start -->`;
  const end = `<!-- ${report.id}:end -->`;
  const body = `${start}\n${report.markdown.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) return text.slice(0, i) + body + text.slice(j + end.length);
  if (i >= 0 || j >= 0) throw new Error(`BENCHMARKS.md: unbalanced ${report.id} markers; fix them by hand`);
  const base = text.trimEnd();
  return `${base}${base ? '\n\n' : ''}## ${report.heading}\n\n${body}\n`;
}

export function writeSection(report: BenchReport, path = benchmarksPath): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  writeFileSync(path, rewriteSection(text, report));
}

/** A markdown table from a header row and rows of cells. */
export function mdTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A fixed-width text table for stdout. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
