import { UsageError } from '../errors.js';
import { runQuorum } from '../run/validateRun.js';
import { integerFlag } from '../run/parseOptions.js';
import { runWatch } from '../run/runWatch.js';
import { limiterFor } from '../ratelimit/limiterFor.js';
import type { CliContext } from '../commands/context.js';
import type { WatchArgs } from '../commands/watch.js';
import { quorumCommand } from '../render/invocation.js';
import { setUpRun } from './panelSetup.js';
import { readQueryFlag } from './question.js';

const EXAMPLE_WATCH_QUESTION = 'What does this document decide?';

/** `quorum watch`: loaded by src/commands/watch.ts when the command runs. */
export async function handler(args: WatchArgs, ctx: CliContext): Promise<void> {
  if (args.dir === undefined || String(args.dir).trim() === '') throw new UsageError(`Name the folder to watch, e.g. ${quorumCommand('watch', 'inbox/', '--query', EXAMPLE_WATCH_QUESTION)}`);
  const dir = String(args.dir);
  const query = await readQueryFlag(
    {
      query: args.query,
      file: args['query-file'],
      missing: () => new UsageError(`Give the question with --query (it is asked of every new or changed file), e.g. ${quorumCommand('watch', dir, '--query', EXAMPLE_WATCH_QUESTION)}`),
    },
    ctx.stdin,
  );
  const chunkTokens = integerFlag('--chunk-tokens', args['chunk-tokens'], { min: 50, example: 1500 });
  const rpm = integerFlag('--rpm', args.rpm, { min: 1, example: 20 });
  const modelRpm = integerFlag('--model-rpm', args['model-rpm'], { min: 1, example: 10 });
  const setup = await setUpRun(args, ctx);
  const { panel, env, sandbox, rounds, quorum, graceMs } = setup;
  try {
    // Checked before the banner: a bad --quorum must be the only line, not follow "Watching … SANDBOX".
    runQuorum(quorum, panel);
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
      runFiles: args['run-files'],
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
              : r.status === 'skipped'
              ? // The message already reads "Skipped <file>: <why>".
                (r.message ?? `Skipped ${r.file}`)
              : `${r.file}: ${r.status}: ${r.message}`;
        ctx.stdout.write(`${line}\n`);
      },
    });
    ctx.stderr.write('Stopped watching; every artifact is flushed.\n');
    ctx.exitCode = result.exitCode;
  } finally {
    await setup.close();
  }
}
