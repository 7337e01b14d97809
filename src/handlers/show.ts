import type { CliContext } from '../commands/context.js';
import { UsageError } from '../errors.js';
import type { ShowArgs } from '../commands/show.js';
import { showRun } from '../run/showRun.js';
import { localizeCommands, quorumCommand } from '../render/invocation.js';

/** `quorum show`: loaded by src/commands/show.ts when the command runs. */
export async function handler(args: ShowArgs, ctx: CliContext): Promise<void> {
  if (args.runId === undefined || String(args.runId).trim() === '') {
    throw new UsageError(`Give the run to show: a run id or latest, e.g. ${quorumCommand('show', 'latest')} (${quorumCommand('runs')} lists the recent ones)`);
  }
  if (args.json && args.write) throw new UsageError('Give --json or --write, not both (--write prints the folder it wrote)');
  const result = await showRun({ out: args.out, runId: String(args.runId), as: args.write ? 'write' : args.json ? 'json' : 'markdown' });
  if (result.ok) {
    ctx.stdout.write(result.text);
    return;
  }
  // The message may name a command (`quorum replay …`): in the form the user ran quorum.
  ctx.stderr.write(`Error: ${localizeCommands(result.message)}\n`);
  ctx.exitCode = result.exitCode;
}
