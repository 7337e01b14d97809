import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';
import { numberOptions } from './flags.js';

export interface RunsArgs {
  out: string;
  limit?: string;
  json: boolean;
}

/** Rows `quorum runs` shows when --limit is not given. */
export const DEFAULT_RUNS_LIMIT = 20;

export function runsCommand(ctx: CliContext): CommandModule<object, RunsArgs> {
  return {
    command: 'runs',
    describe: 'List the recent runs, newest first: time, status, question, run id',
    builder: (y: Argv) =>
      numberOptions(y.option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder' }), {
        limit: { describe: `How many runs to list (default ${DEFAULT_RUNS_LIMIT})` },
      })
        .option('json', { type: 'boolean', default: false, describe: 'Print the rows as JSON' })
        .example('$0 runs', `the ${DEFAULT_RUNS_LIMIT} most recent runs`)
        .example('$0 runs --limit 5', 'the 5 most recent')
        .example('$0 show <runId>', "then one run's consensus") as unknown as Argv<RunsArgs>,
    // The implementation loads only when runs runs.
    handler: async (args) => (await import('../handlers/runs.js')).handler(args, ctx),
  };
}
