import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';

export interface MigrateArgs {
  out: string;
}

export function migrateCommand(ctx: CliContext): CommandModule<object, MigrateArgs> {
  return {
    command: 'migrate',
    describe: 'Convert a quorum 0.1 artifacts folder (per-run files) into the run log; the old files are kept',
    builder: (y: Argv) =>
      y
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder to convert' })
        .example('$0 migrate --out ./artifacts', 'convert it; running it again adds nothing') as unknown as Argv<MigrateArgs>,
    // The implementation loads only when migrate runs.
    handler: async (args) => (await import('../handlers/migrate.js')).handler(args, ctx),
  };
}
