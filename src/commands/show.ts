import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';

export interface ShowArgs {
  runId?: string;
  out: string;
  json: boolean;
  write: boolean;
}

export function showCommand(ctx: CliContext): CommandModule<object, ShowArgs> {
  return {
    command: 'show [runId]',
    describe: "Print a run's consensus.md (or consensus.json), rendered from the run log",
    builder: (y: Argv) =>
      y
        .positional('runId', { type: 'string', describe: 'A run id recorded in <out> (quorum runs lists them), or "latest" (the run decided last)' })
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder' })
        .option('json', { type: 'boolean', default: false, describe: 'Print consensus.json instead of consensus.md' })
        .option('write', { type: 'boolean', default: false, describe: "Write the run's files (consensus.json/.md, responses, votes) under <out>/runs/<runId>/ and print the folder" })
        .example('$0 show latest', 'the consensus of the run decided last')
        .example('$0 show <runId> --write', 'its files under artifacts/runs/<runId>/') as unknown as Argv<ShowArgs>,
    // The implementation loads only when show runs.
    handler: async (args) => (await import('../handlers/show.js')).handler(args, ctx),
  };
}
