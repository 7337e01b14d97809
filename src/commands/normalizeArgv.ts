/**
 * Rewrites the few argument forms yargs cannot read as meant, before it parses them:
 * - `quorum ask -` and `--query-file -`: yargs drops a lone `-` (it reads it as an empty
 *   short-flag group), so both become `--query-file=-`, "the question from stdin";
 * - `--synthesize=MODEL`: --synthesize is a plain switch (so it can never take the question as a
 *   model name); the `=` form names the chair, the same as `--chair MODEL`.
 * `--x=true` / `--x=false` stay as they are. Everything after `--` is left alone.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  const ask = argv[0] === 'ask';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const synth = /^--synthesize=(.*)$/s.exec(arg);
    if (synth && !/^(true|false)$/i.test(synth[1]!)) {
      out.push('--synthesize', `--chair=${synth[1]}`);
      continue;
    }
    // `--query-file -`: yargs would drop the `-` here too.
    if (arg === '--query-file' && argv[i + 1] === '-') {
      out.push('--query-file=-');
      i++;
      continue;
    }
    if (ask && arg === '-' && !takesValue(argv[i - 1])) {
      out.push('--query-file=-');
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** ask's switches: a `-` after one of them is the question, after any other flag that flag's value. */
const ASK_SWITCHES = new Set(['--sandbox', '--json', '--synthesize', '--no-sandbox', '--no-json', '--no-synthesize', '--help', '-h']);

function takesValue(previous: string | undefined): boolean {
  if (previous === undefined || !previous.startsWith('-') || previous === '-' || previous.includes('=')) return false;
  return !ASK_SWITCHES.has(previous);
}
