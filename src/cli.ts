#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
// Start-up: `--version`, `--help` and every command's option parsing load only src/commands/*,
// light modules that define a command (name, description, options) and import nothing heavy at
// the top (types, errors.js, small helpers). Each handler loads its implementation from
// src/handlers/<command>.ts with `await import(…)`, so a command loads only its own modules and
// no SDK, OpenTelemetry, zod, yaml, DuckDB or Vega loads for help. test/cli/startup.test.ts checks it.
import { askCommand } from './commands/ask.js';
import { batchCommand } from './commands/batch.js';
import { panelCommand } from './commands/panel.js';
import type { CliContext } from './commands/context.js';
import { migrateCommand } from './commands/migrate.js';
import { replayCommand } from './commands/replay.js';
import { reportCommand } from './commands/report.js';
import { runsCommand } from './commands/runs.js';
import { sandboxCommand } from './commands/sandbox.js';
import { showCommand } from './commands/show.js';
import { sqlCommand } from './commands/sql.js';
import { watchCommand } from './commands/watch.js';
import { workerCommand } from './commands/worker.js';
import { normalizeArgv } from './commands/normalizeArgv.js';
import { quorumVersion } from './commands/version.js';
import { ArtifactsError, UsageError, redact } from './errors.js';
import { DEFAULT_INVOCATION, detectInvocation, localizeCommands, quorumCommand, setInvocation } from './render/invocation.js';

/**
 * Runs the CLI with `argv` (without node and script) and resolves to the exit code.
 * Known errors print one line; only a bug prints a stack.
 */
export async function main(argv: string[], io: Partial<CliContext> & { invocation?: string } = {}): Promise<number> {
  const ctx: CliContext = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
    signal: io.signal ?? new AbortController().signal,
    exitCode: 0,
    argv,
  };
  // Printed commands take the form the user ran (`npx quorum …`); in-process callers get `quorum`.
  setInvocation(io.invocation ?? DEFAULT_INVOCATION);
  const secrets = Object.entries(ctx.env)
    .filter(([k]) => /KEY|TOKEN|SECRET/i.test(k))
    .map(([, v]) => v);
  // A bare `quorum` asked for nothing: the help is the answer (stdout, exit 0), not an error.
  const args = argv.length === 0 ? ['--help'] : normalizeArgv(argv);
  try {
    await yargs(args)
      .scriptName(io.invocation ?? DEFAULT_INVOCATION)
      .command(askCommand(ctx))
      .command(batchCommand(ctx))
      .command(replayCommand(ctx))
      .command(showCommand(ctx))
      .command(reportCommand(ctx))
      .command(runsCommand(ctx))
      .command(sqlCommand(ctx))
      .command(panelCommand(ctx))
      .command(watchCommand(ctx))
      .command(workerCommand(ctx))
      .command(sandboxCommand(ctx))
      .command(migrateCommand(ctx))
      .example('$0 ask "What is Raft?" --sandbox', 'try it offline: simulated models, no key needed')
      .example('$0 ask "What does it require?" --context spec.md', 'ask the panel about a document (needs OPENROUTER_API_KEY)')
      .example('$0 runs', 'the recent runs, newest first (then: show latest)')
      .demandCommand(1, `Give a command, e.g. ${quorumCommand('ask', 'What is Raft?')} (see ${quorumCommand('--help')})`)
      .strict()
      .recommendCommands()
      .exitProcess(false)
      .fail((message, error) => {
        throw error ?? new UsageError(message);
      })
      .help()
      .alias('h', 'help')
      .version(quorumVersion())
      .wrap(Math.min(100, ctx.stdout.columns ?? 100))
      .parseAsync();
    return ctx.exitCode;
  } catch (error) {
    // Messages written below the CLI say `quorum <command>`: shown in the form the user ran.
    if (error instanceof UsageError) {
      ctx.stderr.write(`Error: ${localizeCommands(redact(error.message, secrets))}\n`);
      return 2;
    }
    if (error instanceof ArtifactsError) {
      ctx.stderr.write(`Error: ${localizeCommands(redact(error.message, secrets))}\n`);
      return 1;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    ctx.stderr.write(`Error: ${redact(message, secrets)}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const controller = new AbortController();
  let interrupts = 0;
  // SIGINT and SIGTERM end with 130 (as an interrupted command reports); SIGHUP (a closed
  // terminal or ssh session) stops the same orderly way, events and spans flushed, and ends with
  // 128 + 1 = 129.
  let stopCode = 130;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "now": skip the orderly shutdown.
    if (++interrupts > 1) process.exit(signal === 'SIGHUP' ? 129 : 130);
    if (signal === 'SIGHUP') {
      stopCode = 129;
      // The terminal may be gone: a failed write to it must not cut the orderly stop short.
      for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    }
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const invocation = detectInvocation({ env: process.env, script: process.argv[1], cwd: process.cwd() });
  main(process.argv.slice(2), { signal: controller.signal, invocation }).then((code) => {
    process.exitCode = controller.signal.aborted && (code === 0 || code === 130) ? stopCode : code;
  });
}
