import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';
import { runFlags } from './flags.js';

export interface ReplayArgs {
  runId?: string;
  out: string;
  quorum?: string;
  rounds?: string;
  json: boolean;
}

export function replayCommand(ctx: CliContext): CommandModule<object, ReplayArgs> {
  return {
    command: 'replay [runId]',
    describe: "Gather a recorded run again (other quorum or rounds) without calling any model",
    builder: (y: Argv) =>
      runFlags(y, ['out', 'quorum', 'rounds'], { recorded: true })
        .positional('runId', { type: 'string', describe: 'A run id recorded in <out> (quorum runs lists them), or "latest" (the run decided last)' })
        .option('json', { type: 'boolean', default: false, describe: 'Print consensus.json instead of the summary' })
        .example('$0 replay latest --quorum 5', 'the run decided last, with a stricter quorum') as unknown as Argv<ReplayArgs>,
    // The implementation (runReplay: rxjs pipelines, OpenTelemetry…) loads only when replay runs.
    handler: async (args) => (await import('../handlers/replay.js')).handler(args, ctx),
  };
}
