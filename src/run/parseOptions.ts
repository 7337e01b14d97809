import { UsageError } from '../errors.js';

/**
 * Parses an integer flag given as text, so `--timeout abc` can say what came (numeric flags stay
 * text through yargs: src/commands/flags.ts). The message names the flag, what it takes, what
 * came, and an example.
 */
export function integerFlag(
  name: string,
  raw: unknown,
  { min, allow = [], example }: { min: number; allow?: number[]; example?: number },
): number | undefined {
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw new UsageError(`Give ${name} once; it came ${raw.length} times (${raw.map((r) => JSON.stringify(String(r))).join(', ')})`);
  const text = String(raw).trim();
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (allow.includes(value)) return value;
  if (!Number.isSafeInteger(value) || value < min) {
    const also = allow.length ? ` (or ${allow.join(', ')})` : '';
    throw new UsageError(`Expected ${name} to be an integer ≥ ${min}${also}, got ${JSON.stringify(text)}; e.g. ${name} ${example ?? Math.max(min, 1)}`);
  }
  return value;
}
