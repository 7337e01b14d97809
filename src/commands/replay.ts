import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../errors.js';
import { integerFlag } from '../run/parseOptions.js';
import { runReplay } from '../run/runReplay.js';
import { formatResult } from '../terminal/printResult.js';
import type { CliContext } from './context.js';

interface ReplayArgs {
  runId: string;
  out: string;
  quorum?: string;
  rounds?: string;
  json: boolean;
}

export function replayCommand(ctx: CliContext): CommandModule<object, ReplayArgs> {
  return {
    command: 'replay <runId>',
    describe: "Gather a recorded run again (other quorum or rounds) without calling any model",
    builder: (y: Argv) =>
      y
        .positional('runId', { type: 'string', describe: 'A run id under <out>/runs', demandOption: true })
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder' })
        .option('quorum', { type: 'string', describe: "Votes a claim needs with the whole panel answering (default: the run's)" })
        .option('rounds', { type: 'string', describe: "1 or 2 (default: the run's)" })
        .option('json', { type: 'boolean', default: false, describe: 'Print consensus.json instead of the summary' }) as Argv<ReplayArgs>,
    handler: async (args) => {
      const quorum = integerFlag('--quorum', args.quorum, { min: 1 });
      const rounds = integerFlag('--rounds', args.rounds, { min: 1 });
      if (rounds !== undefined && rounds !== 1 && rounds !== 2) throw new UsageError(`Expected --rounds to be 1 or 2, got ${rounds}`);
      const result = await runReplay({ out: args.out, runId: String(args.runId), quorum, rounds: rounds as 1 | 2 | undefined, env: ctx.env });
      ctx.stdout.write(args.json ? `${JSON.stringify(result.doc, null, 2)}\n` : `Replay of run ${args.runId} (no model was called):\n${formatResult(result.doc, result.runDir)}`);
      ctx.exitCode = result.exitCode;
    },
  };
}
