import { UsageError } from '../errors.js';
import { integerFlag } from '../run/parseOptions.js';
import { runReplay } from '../run/runReplay.js';
import { formatResult } from '../terminal/printResult.js';
import type { CliContext } from '../commands/context.js';
import type { ReplayArgs } from '../commands/replay.js';

/** `quorum replay`: loaded by src/commands/replay.ts when the command runs. */
export async function handler(args: ReplayArgs, ctx: CliContext): Promise<void> {
  const quorum = integerFlag('--quorum', args.quorum, { min: 1 });
  const rounds = integerFlag('--rounds', args.rounds, { min: 1 });
  if (rounds !== undefined && rounds !== 1 && rounds !== 2) throw new UsageError(`Expected --rounds to be 1 or 2, got ${rounds}`);
  const result = await runReplay({ out: args.out, runId: String(args.runId), quorum, rounds: rounds as 1 | 2 | undefined, env: ctx.env });
  ctx.stdout.write(args.json ? `${JSON.stringify(result.doc, null, 2)}\n` : `Replay of run ${args.runId} (no model was called):\n${formatResult(result.doc, result.runDir)}`);
  ctx.exitCode = result.exitCode;
}
