/**
 * Runs `quorum report …` in-process. Uses the real CLI (`main`) once src/cli.ts registers the
 * report command; until then, the same yargs wiring main() uses around `reportCommand` alone, so
 * the command's own behaviour (exit codes, one-line errors) is tested either way.
 */
import { PassThrough } from 'node:stream';
import yargs, { type CommandModule } from 'yargs';
import type { CliContext } from '../../src/commands/context.js';
import { reportCommand } from '../../src/commands/report.js';
import { sqlCommand } from '../../src/commands/sql.js';
import { UsageError } from '../../src/errors.js';
import { runCli, type CliRun } from '../helpers/cli.js';

let registered: boolean | undefined;

export async function runReport(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  if (registered === undefined) {
    // Goes through the command's own check (no help text printed to the real stdout).
    const probe = await runCli(['report', 'x', '--all']);
    registered = probe.code === 2 && probe.stderr.includes('Give one of <runId>, --batch <id> or --all');
  }
  if (registered) return runCli(['report', ...args], env);
  return runStandalone(reportCommand, ['report', ...args], env);
}

/** `quorum sql …` through its command module (whether or not src/cli.ts registers it yet). */
export function runSqlCommand(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runStandalone(sqlCommand, ['sql', ...args], env);
}

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function runStandalone(command: (ctx: CliContext) => CommandModule<object, any>, argv: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const out = capture();
  const err = capture();
  const ctx: CliContext = { stdout: out.stream, stderr: err.stream, env: { PATH: process.env.PATH, ...env }, signal: new AbortController().signal, exitCode: 0, argv };
  let code: number;
  try {
    await yargs(argv)
      .scriptName('quorum')
      .command(command(ctx))
      .demandCommand(1)
      .strict()
      .exitProcess(false)
      .fail((message, error) => {
        throw error ?? new UsageError(message);
      })
      .parseAsync();
    code = ctx.exitCode;
  } catch (error) {
    ctx.stderr.write(`Error: ${error instanceof UsageError ? error.message : (error as Error).stack}\n`);
    code = error instanceof UsageError ? 2 : 1;
  }
  return { code, stdout: out.text(), stderr: err.text() };
}
