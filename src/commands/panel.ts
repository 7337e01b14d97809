import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';

export interface PanelArgs {
  panel?: string;
  check: boolean;
  timeout?: string;
  free: boolean;
  suggest?: string;
  to?: string;
  force: boolean;
  refresh: boolean;
  out: string;
  json: boolean;
  quota: boolean;
}

/** Deadline for `GET /models` and `GET /key` when --timeout is not given. */
export const METADATA_TIMEOUT_MS = 15_000;
export const DEFAULT_SUGGEST_FILE = 'panel.suggested.json';

export function panelCommand(ctx: CliContext): CommandModule<object, PanelArgs> {
  return {
    command: 'panel',
    describe: 'Show the panel (models, families, endpoints, keys set); --check its health; --free lists free models; --suggest N writes a diverse free panel',
    builder: (y: Argv) =>
      y
        .option('panel', { type: 'string', describe: 'Panel file (JSON or YAML); default: the built-in eight free models' })
        .option('check', { type: 'boolean', default: false, describe: 'Send one tiny request to every member at once; exit 0 when at least a quorum is healthy, else 1 (with --suggest: check the picks)' })
        .option('timeout', { type: 'string', describe: `Per-request timeout in ms (checks: default each member's; /models and /key: default ${METADATA_TIMEOUT_MS})` })
        .number('timeout')
        .option('free', { type: 'boolean', default: false, describe: "List the models free right now at the panel's base URL (GET /models, cached for a day)" })
        .option('suggest', { type: 'string', describe: 'Write a panel file of N free models, at most one per family, larger context first' })
        .number('suggest')
        .option('to', { type: 'string', describe: `File --suggest writes (.json, or .yaml/.yml) [default: ${DEFAULT_SUGGEST_FILE}]` })
        .option('force', { type: 'boolean', default: false, describe: 'Let --suggest overwrite an existing file' })
        .option('refresh', { type: 'boolean', default: false, describe: 'Fetch the model list again instead of using the cached one' })
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder (the model list is cached in its cache/)' })
        .option('quota', { type: 'boolean', default: true, describe: 'Show the free-model daily quota from GET /key (--no-quota: no request)' })
        .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of a table' }) as unknown as Argv<PanelArgs>,
    // The implementation (the OpenAI SDK, zod, yaml, rxjs…) loads only when panel runs.
    handler: async (args) => (await import('../handlers/panel.js')).handler(args, ctx),
  };
}
