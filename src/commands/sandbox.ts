import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';

export interface SandboxArgs {
  scenario?: string;
  port?: string;
}

export function sandboxCommand(ctx: CliContext): CommandModule<object, SandboxArgs> {
  return {
    command: 'sandbox',
    describe: 'Serve simulated OpenRouter-compatible models on 127.0.0.1 (offline, scripted)',
    builder: (y: Argv) =>
      y
        .option('scenario', { type: 'string', describe: 'Scenario file (JSON or YAML): models, answers, latencies, faults' })
        .option('port', { type: 'string', describe: 'TCP port (default: a free one)' })
        .number('port') as unknown as Argv<SandboxArgs>,
    // The implementation (the simulated server, zod, yaml) loads only when sandbox runs.
    handler: async (args) => (await import('../handlers/sandbox.js')).handler(args, ctx),
  };
}
