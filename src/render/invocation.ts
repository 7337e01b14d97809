import { basename, delimiter, dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * How the user started quorum, so every command quorum prints (a resume hint, "try …", next
 * steps) can be pasted and run as it is. After a plain `npm install` there is no `quorum` on
 * PATH; `npx quorum` and `node dist/bin/cli.js` are what work then, and a hint that says
 * `quorum …` fails with "command not found". Light on purpose: src/cli.ts loads it at start-up.
 */

/** The words that start quorum, as the user ran it: `quorum`, `npx quorum`, `node dist/bin/cli.js`. */
export type Invocation = string;

export const DEFAULT_INVOCATION: Invocation = 'quorum';

export interface InvocationInputs {
  env: NodeJS.ProcessEnv;
  /** process.argv[1]: the script path node was given (a PATH symlink, a .bin shim, dist/bin/cli.js). */
  script: string | undefined;
  cwd: string;
}

/**
 * Decides the words that start quorum the way the user started it:
 * - through npm (`npx quorum`, `npm exec quorum`, an npm script, or the `node_modules/.bin` shim): `npx quorum`;
 * - a `quorum` found on PATH (`npm install -g`, `npm link`): `quorum`;
 * - anything else (`node dist/bin/cli.js`, `./dist/bin/cli.js`): `node <that path>`, relative to the current folder when inside it.
 */
export function detectInvocation({ env, script, cwd }: InvocationInputs): Invocation {
  // npm 7+ sets npm_command for `npx` / `npm exec` (exec) and `npm run` (run-script).
  if (env.npm_command === 'exec' || env.npm_command === 'run-script' || env.npm_lifecycle_event === 'npx') return 'npx quorum';
  if (!script) return DEFAULT_INVOCATION;
  const path = isAbsolute(script) ? script : resolve(cwd, script);
  if (path.split(sep).join('/').includes('/node_modules/.bin/')) return 'npx quorum';
  const name = basename(path);
  if (name === 'quorum' || name === 'quorum.cmd') {
    const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => resolve(cwd, d));
    if (dirs.includes(dirname(path))) return 'quorum';
  }
  const rel = relative(cwd, path);
  const shown = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  return `node ${shellWord(shown)}`;
}

let current: Invocation = DEFAULT_INVOCATION;

/** Set once per CLI run (src/cli.ts); in-process callers that never set it get `quorum`. */
export function setInvocation(invocation: Invocation): void {
  current = invocation;
}

export function invocation(): Invocation {
  return current;
}

/** A complete command line in the form the user invoked quorum: `quorumCommand('show', runId)` → `npx quorum show <id>`. */
export function quorumCommand(...args: string[]): string {
  return [current, ...args.map(shellWord)].join(' ');
}

/** The quorum subcommands: only `quorum <one of these>` in a message is a command to rewrite. */
const SUBCOMMANDS = ['ask', 'batch', 'replay', 'show', 'report', 'sql', 'panel', 'watch', 'sandbox', 'migrate', 'runs'];
const COMMAND_IN_TEXT = new RegExp(`(^|[\\s\`'"(])quorum (?=(?:${SUBCOMMANDS.join('|')})\\b)`, 'g');

/**
 * Rewrites `quorum <subcommand>` in a message written elsewhere (an error from the run or SQL
 * layers) into the form the user invoked, so those hints paste and run too. Plain prose such as
 * "a quorum of models" is left alone: only the word quorum directly before a subcommand changes.
 */
export function localizeCommands(text: string, as: Invocation = current): string {
  if (as === DEFAULT_INVOCATION) return text;
  // A command already written in this form (`npx quorum ask`) stays as it is.
  const lead = as.endsWith(' quorum') ? as.slice(0, -'quorum'.length) : undefined;
  return text.replace(COMMAND_IN_TEXT, (match, before: string, offset: number) =>
    lead !== undefined && text.slice(0, offset + before.length).endsWith(lead) ? match : `${before}${as} `,
  );
}

/**
 * Quotes a word for a POSIX shell only when it needs it: in double quotes when nothing inside
 * them is special (`"What is Raft?"`, as the README writes questions), else in single quotes.
 */
export function shellWord(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  if (!/["$`\\!\n]/.test(arg)) return `"${arg}"`;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
