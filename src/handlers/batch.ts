import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { integerFlag } from '../run/parseOptions.js';
import { runBatch } from '../run/runBatch.js';
import { limiterFor } from '../ratelimit/limiterFor.js';
import { forwardActivity } from '../terminal/batchActivity.js';
import { BatchProgress } from '../terminal/batchProgress.js';
import { batchJson, formatBatchSummary, formatTotals } from '../terminal/batchSummary.js';
import type { BatchArgs } from '../commands/batch.js';
import type { CliContext } from '../commands/context.js';
import { localizeCommands, quorumCommand } from '../render/invocation.js';
import { setUpRun } from './panelSetup.js';
import { parseQueueURL } from '../queue/connection.js';
import { readQueryFlag } from './question.js';

const EXAMPLE_BATCH_QUESTION = 'What does each part require?';

/** `quorum batch`: loaded by src/commands/batch.ts when the command runs. */
export async function handler(args: BatchArgs, ctx: CliContext): Promise<void> {
  if (!args.inputs?.length) throw new UsageError(`No input given; name files, folders or globs, e.g. ${quorumCommand('batch', 'specs/', '--query', EXAMPLE_BATCH_QUESTION)}`);
  const inputArgs = args.inputs.map(String);
  const query = await readQueryFlag(
    {
      query: args.query,
      file: args['query-file'],
      missing: () => new UsageError(`Give the question with --query (it is asked of every chunk), e.g. ${quorumCommand('batch', ...inputArgs, '--query', EXAMPLE_BATCH_QUESTION)}`),
    },
    ctx.stdin,
  );
  const chunkTokens = integerFlag('--chunk-tokens', args['chunk-tokens'], { min: 50, example: 1500 });
  const overlapTokens = integerFlag('--overlap', args.overlap, { min: 0 });
  const concurrency = integerFlag('--concurrency', args.concurrency, { min: 1, example: 2 });
  const rpm = integerFlag('--rpm', args.rpm, { min: 1, example: 20 });
  const modelRpm = integerFlag('--model-rpm', args['model-rpm'], { min: 1, example: 10 });
  const inputs = args.inputs.map(String);
  const resume = resumeArg(args.resume, inputs);
  const queue = args.queue === undefined ? undefined : parseQueueURL(args.queue);
  const setup = await setUpRun(args, ctx);
  const { panel, env, sandbox, rounds, quorum, graceMs } = setup;
  try {
    let progress: BatchProgress | undefined;
    // In the form the user ran quorum (`npx quorum …`), so it pastes and runs.
    const resumeCommand = (batchId: string) => quorumCommand(...withoutResume(ctx.argv ?? [], args.resume), '--resume', batchId);
    const result = await runBatch({
      patterns: inputs,
      query,
      panel,
      out: args.out,
      env,
      rounds,
      resume,
      runFiles: args['run-files'],
      // Queued, the workers pace the calls (they share one pace per account); this process asks no model.
      ...(queue ? { queue, onQueueWarning: (line: string) => ctx.stderr.write(`${line}\n`) } : { limiter: limiterFor(panel, { ...(rpm !== undefined && { rpm }), ...(modelRpm !== undefined && { modelRpm }) }) }),
      signal: ctx.signal,
      ...(chunkTokens !== undefined && { chunkTokens }),
      ...(overlapTokens !== undefined && { overlapTokens }),
      ...(concurrency !== undefined && { concurrency }),
      ...(quorum !== undefined && { quorum }),
      ...(graceMs !== undefined && { graceMs }),
      ...(sandbox && { sandbox: true }),
      onStart: ({ batchId, chunks, resumed, alreadyDone, unfinished }) => {
        if (sandbox) ctx.stderr.write('SANDBOX: simulated models; no real model is asked.\n');
        if (unfinished) ctx.stderr.write(`Note: batch ${unfinished} of this same command did not finish; this starts a new batch (add --resume ${unfinished} to finish that one instead).\n`);
        ctx.stderr.write(`Batch ${batchId}: ${chunks} chunk(s)${resumed ? `, resuming (${alreadyDone} already decided)` : ''}\n`);
        if (queue) ctx.stderr.write(`Queued on ${queue.shown}: start workers with ${quorumCommand('worker', '--queue', queue.shown, ...(sandbox ? ['--sandbox'] : []))}\n`);
        if (!args.json) progress = new BatchProgress(chunks, ctx.stderr, { alreadyDone, ...(queue && { queued: true }) });
      },
      resumeCommand,
      ...(!args.json && !queue && { activity: forwardActivity(() => progress) }),
      onChunk: (report) => {
        if (progress) progress.chunk(report);
        // Skipped files are reported whatever the output format: the user must know.
        else if (report.status === 'skipped') ctx.stderr.write(`${report.message}\n`);
      },
    }).finally(() => progress?.close()); // a line left ticking would redraw over the error printed next
    const resumeHint = resumeCommand(result.batchId);
    if (result.outcome === 'interrupted' && queue) ctx.stderr.write(`Interrupted: stopped collecting; the batch's tasks stay on the queue and workers go on deciding them.\nCollect their results with: ${resumeHint}\n`);
    else if (result.outcome === 'interrupted') ctx.stderr.write(`Interrupted: in-flight chunks were cancelled and nothing half-written was kept.\nResume with: ${resumeHint}\n`);
    if (result.outcome === 'stopped') ctx.stderr.write(`Stopped: ${localizeCommands(result.message ?? '')}\nResume with: ${resumeHint}\n`);
    if (result.outcome === 'nothing-to-do') ctx.stderr.write(`${result.message}\n`);
    if (args.json) ctx.stdout.write(`${JSON.stringify({ batchId: result.batchId, outcome: result.outcome, ...result.totals, wallMs: result.wallMs, ...(result.superseded !== undefined && { superseded: result.superseded }), ...(result.summary && { batch: batchJson(result.summary, result.summaryFile) }) }, null, 2)}\n`);
    else if (result.summary) {
      const session = { wallMs: result.wallMs, decidedNow: result.totals.chunks - result.totals.alreadyDone - result.totals.failed, alreadyDone: result.totals.alreadyDone, skippedFiles: result.totals.skippedFiles };
      const columns = (ctx.stdout as NodeJS.WriteStream).columns;
      ctx.stdout.write(formatBatchSummary(result.summary, session, { out: args.out, ...(result.summaryFile && { summaryFile: result.summaryFile }), ...(columns && { columns }), resume: resumeHint }));
    } else ctx.stdout.write(`Batch ${result.batchId} ${result.outcome === 'nothing-to-do' ? 'had nothing left to do' : result.outcome}:\n${formatTotals(result.totals, result.wallMs)}`);
    ctx.exitCode = result.exitCode;
  } finally {
    await setup.close();
  }
}

/** What a batch id looks like (src/run/runId.ts): `20261126T041409Z-3f9a1c`. */
const BATCH_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/**
 * `--resume` takes an optional batch id. Before 0.2 it took none, so `--resume docs/` meant an
 * input: a value that is no batch id but names an existing path (or looks like a path or glob) is
 * taken back as one.
 */
function resumeArg(value: string | undefined, inputs: string[]): boolean | string {
  if (value === undefined) return false;
  if (value === '') return true;
  if (!BATCH_ID.test(value) && (existsSync(value) || /[/\\*?[{]/.test(value))) {
    inputs.push(value);
    return true;
  }
  return value;
}

/** The command line without its `--resume [id]`, for the resume hint (which names the batch). */
function withoutResume(argv: readonly string[], value: string | undefined): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--resume=')) continue;
    if (arg === '--resume') {
      if (value && BATCH_ID.test(value) && argv[i + 1] === value) i++;
      continue;
    }
    kept.push(arg);
  }
  return kept;
}
