import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';
import { runFlags } from './flags.js';

export interface AskArgs {
  /** The question as typed: usually one quoted word; more words are refused, not joined (see handlers/question.ts). */
  query?: string[];
  'query-file'?: string;
  /** One `--context` is a string; several (`--context a --context b`) arrive as an array. */
  context?: string | string[];
  panel?: string;
  out: string;
  quorum?: string;
  timeout?: string;
  grace?: string;
  rounds?: string;
  sandbox: boolean;
  json: boolean;
  synthesize: boolean;
  chair?: string;
}

export function askCommand(ctx: CliContext): CommandModule<object, AskArgs> {
  return {
    command: 'ask [query..]',
    describe: 'Ask the panel one question; keep the claims a quorum of models make',
    builder: (y: Argv) =>
      runFlags(
        y
          .positional('query', { type: 'string', describe: 'The research question, in quotes; - reads it from stdin' })
          .option('query-file', { type: 'string', describe: 'Read the question from this file (- : stdin), for questions too long for a command line' })
          // Not `array: true`: an array option would also take the question that follows it.
          .option('context', { type: 'string', describe: 'A text file given to every model as data (not instructions); repeat it for several files' }),
        ['panel', 'out', 'quorum', 'timeout', 'grace', 'rounds', 'sandbox'],
      )
        .option('synthesize', { type: 'boolean', default: false, describe: 'After the vote, a chair model writes a short answer citing the consensus claims (the member that agrees most; --chair picks another)' })
        .option('chair', { type: 'string', describe: 'The chair model for --synthesize (implies it); --synthesize=MODEL is the same' })
        .option('json', { type: 'boolean', default: false, describe: 'Print consensus.json instead of the summary' })
        .example('$0 ask "What is Raft?" --sandbox', 'offline, against simulated models')
        .example('$0 ask "What does it say about leases?" --context spec.md --context notes.md', 'two documents as data')
        .example('$0 ask --synthesize "What is Raft?"', 'plus a short answer from a chair model')
        .example('cat question.txt | $0 ask - --context spec.md', 'the question from stdin') as unknown as Argv<AskArgs>,
    // The implementation (runAsk: the OpenAI SDK, OpenTelemetry, zod, rxjs…) loads only when ask runs.
    handler: async (args) => (await import('../handlers/ask.js')).handler(args, ctx),
  };
}
