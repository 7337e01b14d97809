import type { Argv, Options } from 'yargs';

/**
 * A numeric flag: shown as `[number]` in --help, but parsed as the text typed. yargs' own number
 * type turns `--concurrency abc` into NaN and `--concurrency ""` into 0, losing what the user
 * typed; kept as text, src/run/parseOptions.ts can say `got "abc"`. yargs-parser never coerces
 * a key that is also a string option, and its help labels a key `[number]` once it is a number
 * option, so the key is declared as both.
 */
export function numberOption<T>(y: Argv<T>, name: string, options: Omit<Options, 'type'>): Argv<T> {
  return y.option(name, { ...options, type: 'string' }).number(name) as unknown as Argv<T>;
}

/** Several numeric flags at once, in order. */
export function numberOptions<T>(y: Argv<T>, options: Record<string, Omit<Options, 'type'>>): Argv<T> {
  let out = y;
  for (const [name, o] of Object.entries(options)) out = numberOption(out, name, o);
  return out;
}

/** The flags a run of the panel takes; each command picks the ones that apply to it. */
export type RunFlagName = 'panel' | 'out' | 'quorum' | 'rounds' | 'grace' | 'timeout' | 'sandbox';

/**
 * Declares the shared run flags, each with one help text whatever the command, so ask, batch,
 * watch and replay cannot drift apart. `recorded`: the flags re-decide a recorded run (replay),
 * so quorum and rounds default to the run's instead of the panel's and 2.
 */
export function runFlags<T>(y: Argv<T>, names: readonly RunFlagName[], { recorded = false }: { recorded?: boolean } = {}): Argv<T> {
  const ofRun = recorded ? " (default: the run's)" : '';
  const numbers: Record<string, Omit<Options, 'type'>> = {
    quorum: { describe: `Votes a claim needs with the whole panel answering${recorded ? ofRun : ' (default ceil(0.75·N))'}` },
    rounds: {
      describe: `Vote rounds: 2 = answers propose claims, then every responder votes on them; 1 = count claims in the answers only${ofRun}`,
      ...(!recorded && { default: 2 }),
    },
    grace: { describe: 'Wait this many ms for stragglers once a quorum answered (-1: wait for all; default: as long as quorum took)' },
    timeout: { describe: 'Per-call timeout in ms (overrides the panel file)' },
  };
  let out = y;
  for (const name of names) {
    if (name === 'panel') out = out.option('panel', { type: 'string', describe: 'Panel file (JSON or YAML); default: the built-in eight free models' });
    else if (name === 'out') out = out.option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder' });
    else if (name === 'sandbox') out = out.option('sandbox', { type: 'boolean', default: false, describe: 'Run offline against simulated models' });
    else out = numberOption(out, name, numbers[name]!);
  }
  return out;
}
