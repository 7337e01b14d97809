import { UsageError } from '../errors.js';
import { integerFlag } from '../run/parseOptions.js';
import { runReplay } from '../run/runReplay.js';
import { formatResult } from '../terminal/printResult.js';
import type { CliContext } from '../commands/context.js';
import type { ReplayArgs } from '../commands/replay.js';
import { LOG_FILES } from '../runlog/lines.js';
import { lastRunLine } from '../runlog/runIds.js';
import { LATEST } from '../run/showRun.js';
import { quorumCommand } from '../render/invocation.js';

/** A run id as given, or the run decided last for `latest` (as `quorum show latest`). */
async function resolveRunId(out: string, given: string): Promise<string> {
  const id = given.trim();
  if (id === '') throw new UsageError(`Give the run to replay: a run id or latest, e.g. ${quorumCommand('replay', 'latest', '--quorum', '3')} (${quorumCommand('runs')} lists them)`);
  if (id !== LATEST) return id;
  const line = await lastRunLine(out);
  if (!line) throw new UsageError(`No run decided in ${out} yet (${LOG_FILES.runs} holds none); nothing to replay — check --out`);
  return line.runId;
}

/** `quorum replay`: loaded by src/commands/replay.ts when the command runs. */
export async function handler(args: ReplayArgs, ctx: CliContext): Promise<void> {
  const quorum = integerFlag('--quorum', args.quorum, { min: 1, example: 5 });
  const rounds = integerFlag('--rounds', args.rounds, { min: 1 });
  if (rounds !== undefined && rounds !== 1 && rounds !== 2) throw new UsageError(`Expected --rounds to be 1 or 2, got ${rounds}`);
  const runId = await resolveRunId(args.out, String(args.runId ?? ''));
  const result = await runReplay({ out: args.out, runId, quorum, rounds: rounds as 1 | 2 | undefined, env: ctx.env });
  ctx.stdout.write(args.json ? `${JSON.stringify(result.doc, null, 2)}\n` : `Replay of run ${runId} (no model was called):\n${formatResult(result.doc, result.runDir)}`);
  ctx.exitCode = result.exitCode;
}
