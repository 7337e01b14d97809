import { UsageError } from '../errors.js';

/** Parses an integer flag given as text, so `--timeout abc` can say what came. */
export function integerFlag(name: string, raw: unknown, { min, allow = [] }: { min: number; allow?: number[] }): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (allow.includes(value)) return value;
  if (!Number.isSafeInteger(value) || value < min) {
    const also = allow.length ? ` (or ${allow.join(', ')})` : '';
    throw new UsageError(`Expected ${name} to be an integer ≥ ${min}${also}, got ${JSON.stringify(text)}`);
  }
  return value;
}
