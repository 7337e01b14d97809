/** Why a batch input was skipped. */
export type SkipReason = 'binary' | 'invalid-utf8' | 'empty' | 'unreadable';

/**
 * A file the batch cannot use: reported and skipped, while the batch goes on with the other files.
 * `chunkFile` throws it before yielding any chunk of that file (it checks the whole file first).
 */
export class SkipFile extends Error {
  override readonly name = 'SkipFile';
  constructor(
    /** The file's path as given (relative to the working directory, forward slashes). */
    readonly path: string,
    readonly reason: SkipReason,
    /** One line, safe to print: what is wrong with the file. */
    message: string,
  ) {
    super(message);
  }
}

/** The one-line message for each reason: `Skipped <path>: <what> (<detail>)`. */
export function skipFile(path: string, reason: SkipReason, detail?: string): SkipFile {
  const what: Record<SkipReason, string> = {
    binary: 'looks binary (it contains NUL bytes)',
    'invalid-utf8': 'is not valid UTF-8 text; convert it to UTF-8 to include it',
    empty: 'is empty or holds only whitespace',
    unreadable: 'cannot be read',
  };
  return new SkipFile(path, reason, `Skipped ${path}: ${what[reason]}${detail ? ` (${detail})` : ''}`);
}
