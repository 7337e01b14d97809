import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';
import { runFlags } from './flags.js';

export interface BatchArgs {
  inputs?: string[];
  query?: string;
  'query-file'?: string;
  'chunk-tokens'?: string;
  overlap?: string;
  concurrency?: string;
  /** Absent: a new batch; '' (plain --resume): the latest batch of this command; else a batch id. */
  resume?: string;
  panel?: string;
  out: string;
  quorum?: string;
  rounds?: string;
  grace?: string;
  timeout?: string;
  sandbox: boolean;
  rpm?: string;
  'model-rpm'?: string;
  json: boolean;
  'run-files': boolean;
  queue?: string;
}

export function batchCommand(ctx: CliContext): CommandModule<object, BatchArgs> {
  return {
    command: 'batch [inputs...]',
    describe: 'Ask the same question of every chunk of files, folders or globs; one consensus per chunk',
    builder: (y: Argv) =>
      runFlags(y, ['panel', 'out', 'quorum', 'rounds', 'grace', 'timeout', 'sandbox'])
        .positional('inputs', { type: 'string', array: true, describe: 'Files, folders (recursive: .md .markdown .mdx .txt .rst .adoc) or quoted globs' })
        .option('query', { type: 'string', describe: 'The research question asked of every chunk' })
        .option('query-file', { type: 'string', describe: 'Read the question from this file (- : stdin) instead of --query' })
        .option('chunk-tokens', { type: 'string', describe: 'Most tokens per chunk (estimated; default 1500)' })
        .number('chunk-tokens')
        .option('overlap', { type: 'string', describe: "Tokens of a chunk's end repeated at the next one's start (default 0)" })
        .number('overlap')
        .option('concurrency', { type: 'string', describe: 'Chunks researched at once (default 2)' })
        .number('concurrency')
        .option('resume', { type: 'string', describe: 'Finish the interrupted batch of this same command (or, with an id, that batch): decided chunks are skipped, half-done ones redone' })
        .option('rpm', { type: 'string', describe: 'Requests per minute for the whole account (default: 20 for OpenRouter :free models, else learned from 429s)' })
        .number('rpm')
        .option('model-rpm', { type: 'string', describe: 'Requests per minute for each model' })
        .number('model-rpm')
        .option('run-files', { type: 'boolean', default: false, describe: "Also write each chunk's runs/<id>/ files (consensus.md, …); the run log holds every run either way (quorum show <runId>)" })
        .option('queue', { type: 'string', describe: 'NATS server (nats://HOST:4222): publish the chunks as tasks for `quorum worker`s and collect their runs here; --concurrency is then the tasks queued at once (default 1000)' })
        .option('json', { type: 'boolean', default: false, describe: 'Print the summary as JSON' })
        // `.number()` marks these for --help; they stay text (src/commands/flags.ts), checked in the handler.
        .example('$0 batch specs/ --query "What does each part require?" --sandbox', 'every chunk of every file in specs/, offline')
        .example('$0 batch specs/ --query "What does each part require?" --queue nats://127.0.0.1:4222', 'the same, decided by workers (quorum worker) on any machine') as unknown as Argv<BatchArgs>,
    // The implementation (runBatch: the OpenAI SDK, OpenTelemetry, zod, rxjs…) loads only when batch runs.
    handler: async (args) => (await import('../handlers/batch.js')).handler(args, ctx),
  };
}
