/**
 * JSON serialisation shared by the sinks, so a JSONL line and an atomically written file agree
 * on how awkward values come out.
 */

/**
 * Replacer for `JSON.stringify`: BigInt (token counts from some SDKs, DuckDB BIGINTs) would
 * otherwise throw; it becomes a number when that is exact and a decimal string when not.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  return value;
}

/**
 * One JSONL line, without its newline. Throws when the value is not a JSON object (a top-level
 * `undefined`, number or array would break the one-object-per-line contract) or cannot be
 * serialised (a cycle).
 */
export function toJsonLine(value: unknown): string {
  let text: string | undefined;
  try {
    // Without a replacer first: a replacer function is called for every key of every line and
    // showed in the batch profile; only a BigInt (a TypeError here) needs it.
    text = JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
    text = JSON.stringify(value, jsonReplacer);
  }
  if (text === undefined || !text.startsWith('{')) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new TypeError(`Expected a JSON object for a JSONL line, got ${what}`);
  }
  return text;
}
