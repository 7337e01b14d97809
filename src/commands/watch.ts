import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../errors.js';
import { integerFlag } from '../run/parseOptions.js';
import { runWatch } from '../run/runWatch.js';
import { limiterFor } from '../run/limiterFor.js';
import type { CliContext } from './context.js';
import { setUpRun } from './panelSetup.js';

interface WatchArgs {
  dir: string;
  query?: string;
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
}

export function watchCommand(ctx: CliContext): CommandModule<object, WatchArgs> {
  return {
    command: 'watch <dir>',
    describe: 'Research every new or changed file in a folder as it is written (Ctrl-C stops)',
    builder: (y: Argv) =>
      y
        .positional('dir', { type: 'string', describe: 'The folder to watch', demandOption: true })
        .option('query', { type: 'string', describe: 'The research question asked of every new or changed file' })
        .option('panel', { type: 'string', describe: 'Panel file (JSON or YAML)' })
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder' })
        .option('quorum', { type: 'string', describe: 'Votes a claim needs with the whole panel answering' })
        .option('rounds', { type: 'string', default: '2', describe: 'Vote rounds: 1 or 2' })
        .option('grace', { type: 'string', describe: 'Straggler grace in ms (-1: wait for all)' })
        .option('chunk-tokens', { type: 'string', describe: 'Most tokens per chunk (default 1500)' })
        .option('polling', { type: 'boolean', default: false, describe: 'Poll the folder instead of native file events (network drives)' })
        .option('rpm', { type: 'string', describe: 'Requests per minute for the whole account (default: 20 for OpenRouter :free models, else learned from 429s)' })
        .option('model-rpm', { type: 'string', describe: 'Requests per minute for each model' })
        .option('sandbox', { type: 'boolean', default: false, describe: 'Run offline against simulated models' }) as Argv<WatchArgs>,
    handler: async (args) => {
      const query = String(args.query ?? '').trim();
      if (query === '') throw new UsageError('Give the question with --query "…" (it is asked of every new or changed file)');
      const chunkTokens = integerFlag('--chunk-tokens', args['chunk-tokens'], { min: 50 });
      const rpm = integerFlag('--rpm', args.rpm, { min: 1 });
      const modelRpm = integerFlag('--model-rpm', args['model-rpm'], { min: 1 });
      const setup = await setUpRun(args, ctx);
      const { panel, env, sandbox, rounds, quorum, graceMs } = setup;
      try {
        ctx.stderr.write(`Watching ${args.dir}${sandbox ? ' (SANDBOX: simulated models)' : ''}; Ctrl-C stops.\n`);
        const result = await runWatch({
          dir: String(args.dir),
          query,
          panel,
          out: args.out,
          env,
          signal: ctx.signal,
          rounds,
          polling: args.polling,
          limiter: limiterFor(panel, { ...(rpm !== undefined && { rpm }), ...(modelRpm !== undefined && { modelRpm }) }),
          ...(quorum !== undefined && { quorum }),
          ...(graceMs !== undefined && { graceMs }),
          ...(chunkTokens !== undefined && { chunkTokens }),
          ...(sandbox && { sandbox: true }),
          onFile: (r) => {
            const line =
              r.status === 'researched'
                ? `${r.file}: ${r.runIds!.length} chunk(s) decided (${r.statuses!.join(', ')})${r.supersedes ? `; replaces ${r.supersedes.length} earlier run(s)` : ''}`
                : r.status === 'unchanged'
                  ? `${r.file}: same content as last researched; not run again`
                  : `${r.file}: ${r.status}: ${r.message}`;
            ctx.stdout.write(`${line}\n`);
          },
        });
        ctx.stderr.write('Stopped watching; every artifact is flushed.\n');
        ctx.exitCode = result.exitCode;
      } finally {
        await setup.close();
      }
    },
  };
}
