import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../errors.js';
import { plannedCalls, quotaWarningFor } from '../panel/quota.js';
import { readContext } from '../run/readContext.js';
import { runAsk } from '../run/runAsk.js';
import { LiveView } from '../terminal/liveView.js';
import { formatResult } from '../terminal/printResult.js';
import type { CliContext } from './context.js';
import { setUpRun } from './panelSetup.js';

interface AskArgs {
  query: string;
  context?: string;
  panel?: string;
  out: string;
  quorum?: string;
  timeout?: string;
  grace?: string;
  rounds?: string;
  sandbox: boolean;
  json: boolean;
  synthesize?: string;
}

export function askCommand(ctx: CliContext): CommandModule<object, AskArgs> {
  return {
    command: 'ask <query>',
    describe: 'Ask the panel one question; keep the claims a quorum of models make',
    builder: (y: Argv) =>
      y
        .positional('query', { type: 'string', describe: 'The research question', demandOption: true })
        .option('context', { type: 'string', describe: 'A text file given to every model as data (not instructions)' })
        .option('panel', { type: 'string', describe: 'Panel file (JSON or YAML); default: the built-in eight free models' })
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder' })
        .option('quorum', { type: 'string', describe: 'Votes a claim needs with the whole panel answering (default ceil(0.75·N))' })
        .option('timeout', { type: 'string', describe: 'Per-call timeout in ms (overrides the panel file)' })
        .option('grace', { type: 'string', describe: 'Wait this many ms for stragglers once a quorum answered (-1: wait for all; default: as long as quorum took)' })
        .option('rounds', { type: 'string', describe: 'Vote rounds: 2 = answers propose claims, then every responder votes on them; 1 = count claims in the answers only', default: '2' })
        .option('synthesize', { type: 'string', describe: 'After the vote, a chair model writes a short answer citing the consensus claims [MODEL: default the member that agrees most]' })
        .option('sandbox', { type: 'boolean', default: false, describe: 'Run offline against simulated models' })
        .option('json', { type: 'boolean', default: false, describe: 'Print consensus.json instead of the summary' }) as Argv<AskArgs>,
    handler: async (args) => {
      const query = String(args.query ?? '').trim();
      if (query === '') throw new UsageError('The query is empty; ask a question, e.g. quorum ask "What are the key concepts in these specs?"');
      const context = args.context !== undefined ? readContext(args.context) : undefined;
      const setup = await setUpRun(args, ctx);
      const { panel, env, sandbox, rounds } = setup;
      try {
        if (!sandbox) {
          const planned = plannedCalls(panel, { rounds, synthesize: args.synthesize !== undefined });
          const warning = await quotaWarningFor(panel, env, planned, { signal: ctx.signal });
          if (warning) ctx.stderr.write(`Warning: ${warning}\n`);
        }
        if (sandbox && !args.json) ctx.stderr.write(`SANDBOX: ${panel.members.length} simulated models at ${sandbox.baseURL}; no real model is asked.\n`);
        const live = args.json ? undefined : new LiveView(panel.members, ctx.stderr);
        const result = await runAsk({
          request: { query, ...(context && { context }) },
          panel,
          out: args.out,
          quorum: setup.quorum,
          graceMs: setup.graceMs,
          rounds,
          ...(args.synthesize !== undefined && { synthesize: args.synthesize.trim() ? { model: args.synthesize.trim() } : {} }),
          env,
          sandbox: Boolean(sandbox),
          signal: ctx.signal,
          live,
        });
        live?.close();
        if (result.exitCode === 130) {
          ctx.stderr.write(`Interrupted: run ${result.runId} cancelled; no consensus was written.\n`);
        } else if (result.doc) {
          ctx.stdout.write(args.json ? `${JSON.stringify(result.doc, null, 2)}\n` : formatResult(result.doc, result.runDir));
        }
        ctx.exitCode = result.exitCode;
      } finally {
        await setup.close();
      }
    },
  };
}
