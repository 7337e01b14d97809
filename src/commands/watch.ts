import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';
import { runFlags } from './flags.js';

export interface WatchArgs {
  dir?: string;
  query?: string;
  'query-file'?: string;
  panel?: string;
  out: string;
  quorum?: string;
  rounds?: string;
  grace?: string;
  'chunk-tokens'?: string;
  sandbox: boolean;
  rpm?: string;
  'model-rpm'?: string;
  polling: boolean;
  'run-files': boolean;
}

export function watchCommand(ctx: CliContext): CommandModule<object, WatchArgs> {
  return {
    command: 'watch [dir]',
    describe: 'Research every new or changed file in a folder as it is written (Ctrl-C stops)',
    builder: (y: Argv) =>
      // No --timeout, as before this declaration was shared: watch takes the panel file's timeouts.
      runFlags(y, ['panel', 'out', 'quorum', 'rounds', 'grace', 'sandbox'])
        .positional('dir', { type: 'string', describe: 'The folder to watch' })
        .option('query', { type: 'string', describe: 'The research question asked of every new or changed file' })
        .option('query-file', { type: 'string', describe: 'Read the question from this file (- : stdin) instead of --query' })
        .option('chunk-tokens', { type: 'string', describe: 'Most tokens per chunk (default 1500)' })
        .number('chunk-tokens')
        .option('polling', { type: 'boolean', default: false, describe: 'Poll the folder instead of native file events (network drives)' })
        .option('run-files', { type: 'boolean', default: false, describe: "Also write each run's runs/<id>/ files (consensus.md, …); the run log holds every run either way (quorum show <runId>)" })
        .option('rpm', { type: 'string', describe: 'Requests per minute for the whole account (default: 20 for OpenRouter :free models, else learned from 429s)' })
        .number('rpm')
        .option('model-rpm', { type: 'string', describe: 'Requests per minute for each model' })
        .number('model-rpm') as unknown as Argv<WatchArgs>,
    // The implementation (runWatch: chokidar, the OpenAI SDK, OpenTelemetry…) loads only when watch runs.
    handler: async (args) => (await import('../handlers/watch.js')).handler(args, ctx),
  };
}
