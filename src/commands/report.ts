import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../errors.js';
import type { ReportTarget } from '../report/generate.js';
import { writeOutput } from '../sql/output.js';
import type { CliContext } from './context.js';

interface ReportArgs {
  runId?: string;
  batch?: string;
  all: boolean;
  out: string;
  to?: string;
}

export function reportCommand(ctx: CliContext): CommandModule<object, ReportArgs> {
  return {
    command: 'report [runId]',
    describe: 'Write a self-contained HTML report (charts inline, no network) of a run, a batch or every run',
    builder: (y: Argv) =>
      y
        .positional('runId', { type: 'string', describe: 'A run id recorded in <out> (default: the latest run)' })
        .option('batch', { type: 'string', describe: 'Report on a batch (its batch id) instead of one run' })
        .option('all', { type: 'boolean', default: false, describe: 'Report on every run in the artifacts folder' })
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder to read' })
        .option('to', { type: 'string', nargs: 1, describe: 'HTML file to write (default <out>/reports/<run-…|batch-…|all>.html; - prints it)' })
        .example('$0 report', 'the latest run')
        .example('$0 report --batch <batchId> --to batch.html', 'a batch, to batch.html')
        .example('$0 report --all', 'every run in ./artifacts') as unknown as Argv<ReportArgs>,
    handler: async (args) => {
      const chosen = [args.runId !== undefined, args.batch !== undefined, args.all].filter(Boolean).length;
      if (chosen > 1) throw new UsageError('Give one of <runId>, --batch <id> or --all');
      if (args.batch !== undefined && args.batch.trim() === '') throw new UsageError('--batch needs a batch id (quorum sql report_batches lists them)');
      if (args.to !== undefined && args.to.trim() === '') throw new UsageError('--to needs a file name (or - for stdout)');
      const target: ReportTarget = args.all ? { kind: 'all' } : args.batch !== undefined ? { kind: 'batch', batchId: args.batch } : { kind: 'run', ...(args.runId !== undefined && { runId: String(args.runId) }) };
      // Vega and DuckDB load only when a report is written: other commands must not pay for them.
      const { generateReport, ReportInterrupted } = await import('../report/generate.js');
      try {
        const result = await generateReport({
          out: args.out,
          target,
          ...(args.to !== undefined && { to: args.to }),
          signal: ctx.signal,
        });
        // A reader that closed the pipe early (--to - | head) ends the output quietly.
        if (result.file === undefined) await writeOutput(ctx.stdout, result.html);
        else await writeOutput(ctx.stdout, `${result.model.banner.status}: report on ${result.model.scope} written to ${result.file}\n`);
      } catch (error) {
        if (!(error instanceof ReportInterrupted)) throw error;
        ctx.stderr.write(`${error.message}\n`);
        ctx.exitCode = 130;
      }
    },
  };
}
