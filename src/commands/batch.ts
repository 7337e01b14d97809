import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../errors.js';
import { integerFlag } from '../run/parseOptions.js';
import { runBatch } from '../run/runBatch.js';
import { limiterFor } from '../run/limiterFor.js';
import { BatchProgress, formatTotals } from '../terminal/batchProgress.js';
import type { CliContext } from './context.js';
import { setUpRun } from './panelSetup.js';

interface BatchArgs {
  inputs: string[];
  query?: string;
  'chunk-tokens'?: string;
  overlap?: string;
  concurrency?: string;
  resume: boolean;
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
}

export function batchCommand(ctx: CliContext): CommandModule<object, BatchArgs> {
  return {
    command: 'batch <inputs...>',
    describe: 'Ask the same question of every chunk of files, folders or globs; one consensus per chunk',
    builder: (y: Argv) =>
      y
        .positional('inputs', { type: 'string', array: true, describe: 'Files, folders (recursive: .md .markdown .mdx .txt .rst .adoc) or quoted globs', demandOption: true })
        .option('query', { type: 'string', describe: 'The research question asked of every chunk' })
        .option('chunk-tokens', { type: 'string', describe: 'Most tokens per chunk (estimated; default 1500)' })
        .option('overlap', { type: 'string', describe: "Tokens of a chunk's end repeated at the next one's start (default 0)" })
        .option('concurrency', { type: 'string', describe: 'Chunks researched at once (default 2)' })
        .option('resume', { type: 'boolean', default: false, describe: 'Finish the interrupted batch of this same command: decided chunks are skipped, half-done ones redone' })
        .option('panel', { type: 'string', describe: 'Panel file (JSON or YAML); default: the built-in eight free models' })
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder' })
        .option('quorum', { type: 'string', describe: 'Votes a claim needs with the whole panel answering' })
        .option('rounds', { type: 'string', default: '2', describe: 'Vote rounds per chunk: 1 or 2' })
        .option('grace', { type: 'string', describe: 'Straggler grace in ms (-1: wait for all)' })
        .option('timeout', { type: 'string', describe: 'Per-call timeout in ms' })
        .option('rpm', { type: 'string', describe: 'Requests per minute for the whole account (default: 20 for OpenRouter :free models, else learned from 429s)' })
        .option('model-rpm', { type: 'string', describe: 'Requests per minute for each model' })
        .option('sandbox', { type: 'boolean', default: false, describe: 'Run offline against simulated models' })
        .option('json', { type: 'boolean', default: false, describe: 'Print the summary as JSON' }) as Argv<BatchArgs>,
    handler: async (args) => {
      const query = String(args.query ?? '').trim();
      if (query === '') throw new UsageError('Give the question with --query "…" (it is asked of every chunk)');
      const chunkTokens = integerFlag('--chunk-tokens', args['chunk-tokens'], { min: 50 });
      const overlapTokens = integerFlag('--overlap', args.overlap, { min: 0 });
      const concurrency = integerFlag('--concurrency', args.concurrency, { min: 1 });
      const rpm = integerFlag('--rpm', args.rpm, { min: 1 });
      const modelRpm = integerFlag('--model-rpm', args['model-rpm'], { min: 1 });
      const setup = await setUpRun(args, ctx);
      const { panel, env, sandbox, rounds, quorum, graceMs } = setup;
      try {
        let progress: BatchProgress | undefined;
        const result = await runBatch({
          patterns: args.inputs.map(String),
          query,
          panel,
          out: args.out,
          env,
          rounds,
          resume: args.resume,
          limiter: limiterFor(panel, { ...(rpm !== undefined && { rpm }), ...(modelRpm !== undefined && { modelRpm }) }),
          signal: ctx.signal,
          ...(chunkTokens !== undefined && { chunkTokens }),
          ...(overlapTokens !== undefined && { overlapTokens }),
          ...(concurrency !== undefined && { concurrency }),
          ...(quorum !== undefined && { quorum }),
          ...(graceMs !== undefined && { graceMs }),
          ...(sandbox && { sandbox: true }),
          onStart: ({ batchId, chunks, resumed, alreadyDone }) => {
            if (sandbox) ctx.stderr.write('SANDBOX: simulated models; no real model is asked.\n');
            ctx.stderr.write(`Batch ${batchId}: ${chunks} chunk(s)${resumed ? `, resuming (${alreadyDone} already decided)` : ''}\n`);
            if (!args.json) progress = new BatchProgress(chunks, ctx.stderr);
          },
          onChunk: (report) => {
            if (progress) progress.chunk(report);
            // Skipped files are reported whatever the output format: the user must know.
            else if (report.status === 'skipped') ctx.stderr.write(`${report.message}\n`);
          },
        });
        progress?.close();
        const resumeHint = `quorum ${[...(ctx.argv ?? []).filter((a) => a !== '--resume'), '--resume'].map(shellQuote).join(' ')}`;
        if (result.outcome === 'interrupted') ctx.stderr.write(`Interrupted: in-flight chunks were cancelled and nothing half-written was kept.\nResume with: ${resumeHint}\n`);
        if (result.outcome === 'stopped') ctx.stderr.write(`Stopped: ${result.message}\nResume with: ${resumeHint}\n`);
        if (result.outcome === 'nothing-to-do') ctx.stderr.write(`${result.message}\n`);
        if (args.json) ctx.stdout.write(`${JSON.stringify({ batchId: result.batchId, outcome: result.outcome, ...result.totals, wallMs: result.wallMs }, null, 2)}\n`);
        else ctx.stdout.write(`Batch ${result.batchId} ${result.outcome}:\n${formatTotals(result.totals, result.wallMs)}`);
        ctx.exitCode = result.exitCode;
      } finally {
        await setup.close();
      }
    },
  };
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
