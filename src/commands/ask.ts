import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';

export interface AskArgs {
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
    // The implementation (runAsk: the OpenAI SDK, OpenTelemetry, zod, rxjs…) loads only when ask runs.
    handler: async (args) => (await import('../handlers/ask.js')).handler(args, ctx),
  };
}
