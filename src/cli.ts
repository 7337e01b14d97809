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
import { sandboxCommand } from './commands/sandbox.js';
import { showCommand } from './commands/show.js';
import { sqlCommand } from './commands/sql.js';
import { watchCommand } from './commands/watch.js';
import { ArtifactsError, UsageError, redact } from './errors.js';

/**
 * Runs the CLI with `argv` (without node and script) and resolves to the exit code.
 * Known errors print one line; only a bug prints a stack.
 */
export async function main(argv: string[], io: Partial<CliContext> = {}): Promise<number> {
  const ctx: CliContext = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    signal: io.signal ?? new AbortController().signal,
    exitCode: 0,
    argv,
  };
  const secrets = Object.entries(ctx.env)
    .filter(([k]) => /KEY|TOKEN|SECRET/i.test(k))
    .map(([, v]) => v);
  try {
    await yargs(argv)
      .scriptName('quorum')
      .command(askCommand(ctx))
      .command(batchCommand(ctx))
      .command(replayCommand(ctx))
      .command(showCommand(ctx))
      .command(reportCommand(ctx))
      .command(sqlCommand(ctx))
      .command(panelCommand(ctx))
      .command(watchCommand(ctx))
      .command(sandboxCommand(ctx))
      .command(migrateCommand(ctx))
      .demandCommand(1, 'Give a command, e.g. quorum ask "…" (see quorum --help)')
      .strict()
      .recommendCommands()
      .exitProcess(false)
      .fail((message, error) => {
        throw error ?? new UsageError(message);
      })
      .help()
      .version()
      .wrap(Math.min(100, ctx.stdout.columns ?? 100))
      .parseAsync();
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof UsageError) {
      ctx.stderr.write(`Error: ${redact(error.message, secrets)}\n`);
      return 2;
    }
    if (error instanceof ArtifactsError) {
      ctx.stderr.write(`Error: ${redact(error.message, secrets)}\n`);
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
  main(process.argv.slice(2), { signal: controller.signal }).then((code) => {
    process.exitCode = controller.signal.aborted && (code === 0 || code === 130) ? stopCode : code;
  });
}
