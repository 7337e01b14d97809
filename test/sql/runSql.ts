/**
 * Runs `quorum sql …` in-process. Uses the real CLI (`main`) once src/cli.ts registers the sql
 * command; until then, the same yargs wiring main() uses, around `sqlCommand` alone, so the
 * command's own behaviour (exit codes, one-line errors) is tested either way.
 */
import { PassThrough } from 'node:stream';
import yargs from 'yargs';
import { sqlCommand } from '../../src/commands/sql.js';
import type { CliContext } from '../../src/commands/context.js';
import { UsageError } from '../../src/errors.js';
import { runCli, type CliRun } from '../helpers/cli.js';

let registered: boolean | undefined;

export async function runSql(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  if (registered === undefined) {
    const probe = await runCli(['sql', '--list']);
    registered = probe.code === 0 && probe.stdout.includes('model_latency');
  }
  if (registered) return runCli(['sql', ...args], env);
  return runStandalone(['sql', ...args], env);
}

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function runStandalone(argv: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const out = capture();
  const err = capture();
  const ctx: CliContext = { stdout: out.stream, stderr: err.stream, env: { PATH: process.env.PATH, ...env }, signal: new AbortController().signal, exitCode: 0, argv };
  let code: number;
  try {
    await yargs(argv)
      .scriptName('quorum')
      .command(sqlCommand(ctx))
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
