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
