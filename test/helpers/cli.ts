import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli.js';
import type { FactGroup, SandboxModel, Scenario } from '../../src/sandbox/scenario.js';

/** The bundled binary that `npm install` puts on PATH (scripts/bundle.mjs). */
export const CLI = resolve(import.meta.dirname, '../../dist/bin/cli.js');

export function tempDir(prefix = 'quorum-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Runs the CLI in-process: same code path as the binary, without a process start per test. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, signal?: AbortSignal): Promise<CliRun> {
  const out = capture();
  const err = capture();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, env: { PATH: process.env.PATH, ...env }, ...(signal && { signal }) });
  return { code, stdout: out.text(), stderr: err.text() };
}

/**
 * Starts the CLI in-process and lets a test read its output while it runs, so a test can wait for
 * the line that proves a step happened (or was skipped) instead of sleeping. `stop()` is Ctrl-C.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out = capture();
  const err = capture();
  const controller = new AbortController();
  const done: Promise<CliRun> = main(args, { stdout: out.stream, stderr: err.stream, env: { PATH: process.env.PATH, ...env }, signal: controller.signal }).then(
    (code) => ({ code, stdout: out.text(), stderr: err.text() }),
  );
  return { done, output: () => ({ stdout: out.text(), stderr: err.text() }), stop: () => (controller.abort(), done) };
}

/** Runs the built binary as a child process (for signals and the real entry point). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliRun>((resolvePromise) => child.on('close', (code, sig) => resolvePromise({ code: code ?? (sig ? 128 : 1), stdout, stderr })));
  return { child, done, output: () => ({ stdout, stderr }) };
}

/** Writes a panel file whose members are the scenario's models, served at `baseURL`. */
export function writePanel(dir: string, baseURL: string, scenario: Scenario, extra: Record<string, unknown> = {}): string {
  const path = join(dir, 'panel.json');
  writeFileSync(
    path,
    JSON.stringify({
      baseURL,
      timeoutMs: 5000,
      retry: { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 20, retryAfterCapMs: 2000 },
      members: scenario.models.map((m, port) => ({ port, model: m.model, family: m.family ?? m.model.split('/')[0] })),
      ...extra,
    }),
  );
  return path;
}

/**
 * Eight models that state three shared facts in different formats, plus one lone claim each.
 * The facts are declared, so honest votes come from the scenario, not from the matcher under test.
 */
export function panelScenario(overrides: Partial<SandboxModel>[] = []): Scenario {
  const facts = ['The protocol uses port 8080 by default.', 'Every message carries a sequence number.', 'Connections close after 30 seconds of silence.'];
  const formats = [
    (c: string[]) => JSON.stringify({ claims: c }),
    (c: string[]) => `Here is what I found:\n\n\`\`\`json\n${JSON.stringify({ claims: c }, null, 2)}\n\`\`\``,
    (c: string[]) => c.map((x) => `- ${x}`).join('\n'),
    (c: string[]) => c.map((x, i) => `${i + 1}. ${x}`).join('\n'),
    (c: string[]) => c.join(' '),
  ];
  const lone = ['Model zero likes turtles a lot.', 'The logo of the project is purple.', 'Its mascot is called Bruno the Badger.', 'Release 4 shipped on a Tuesday.', 'The spec has eleven appendices.', 'Authors met in Lisbon in 2019.', 'The reference server is written in Ada.', 'Version numbers follow calendar dates.'];
  // The lone claims are undeclared: each is a fact of its own (see Scenario.facts).
  const declared: FactGroup[] = [
    { id: 'port', wordings: [facts[0]!] },
    { id: 'sequence', wordings: [facts[1]!] },
    { id: 'idle', wordings: [facts[2]!] },
  ];
  return {
    facts: declared,
    models: Array.from({ length: 8 }, (_, port) => ({
      model: `family${port}/model-${port}`,
      family: `family${port}`,
      latencyMs: 5 + port * 3,
      answer: formats[port % formats.length]!([...facts, lone[port]!]),
      usage: { prompt_tokens: 100 + port, completion_tokens: 40 + port, cost: 0.0001 * port },
      ...overrides[port],
    })),
  };
}
