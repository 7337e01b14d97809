import { UsageError } from '../errors.js';
import { decodeText, MAX_CONTEXT_BYTES, readContext } from '../run/readContext.js';
import { quorumCommand, shellWord as shellWordOf } from '../render/invocation.js';
import { requireQuery } from '../run/validateRun.js';

/** The example question every "how to ask" message shows. */
export const EXAMPLE_QUESTION = 'What is Raft?';

export interface QuestionInput {
  /** `ask`'s positional words, as yargs collected them. */
  words: readonly string[];
  /** `--query-file`: a path, or `-` for stdin (also what `ask -` becomes). */
  file?: string;
  /** The command line as typed, to tell `--synthesize MODEL "question"` (the 0.2 form) apart. */
  argv: readonly string[];
  /** `--chair`, when given. */
  chair?: string;
}

export interface Question {
  /** The question, trimmed. */
  query: string;
  /** The chair named the 0.2 way, `--synthesize MODEL` followed (or preceded) by the question. */
  legacyChair?: string;
}

/**
 * Where the question comes from, decided without reading it yet:
 * - one positional word: the question (`ask "What is X?"`, also after `--synthesize`);
 * - two, one of them right after `--synthesize` and shaped like a model id (no spaces): the 0.2
 *   form `--synthesize MODEL "question"`, still read that way; with one word only, that word is
 *   always the question, so `--synthesize` can never swallow it;
 * - `--query-file F` / `-`: the file or stdin.
 */
export function questionSource(input: QuestionInput): { words: string; legacyChair?: string } | { file: string } | { none: true } {
  let words = [...input.words].map(String);
  let legacyChair: string | undefined;
  if (words.length === 2) {
    const after = input.argv.findIndex((a, i) => a === '--synthesize' && words.includes(input.argv[i + 1] ?? '\0'));
    const model = after === -1 ? undefined : input.argv[after + 1]!;
    if (model !== undefined && MODEL_ID.test(model) && !/\s/.test(model)) {
      legacyChair = model;
      words = words.filter((w) => w !== model);
    }
  }
  if (words.length > 1) {
    const afterSynthesize = input.argv[input.argv.indexOf('--synthesize') + 1];
    if (input.argv.includes('--synthesize') && afterSynthesize !== undefined && words.includes(afterSynthesize)) {
      throw new UsageError(`--synthesize takes no value; name the chair with --chair ${shellWordOf(afterSynthesize)} (or --synthesize=${shellWordOf(afterSynthesize)})`);
    }
    throw new UsageError(`Give the question as one argument in quotes, e.g. ${quorumCommand('ask', words.join(' '))}; got ${words.length} separate words`);
  }
  if (input.file !== undefined) {
    if (words.length === 1) throw new UsageError(`Give the question once: as an argument or with --query-file${input.file === '-' ? ' / -' : ''}, not both`);
    if (input.file.trim() === '') throw new UsageError('--query-file needs a file name (or - to read the question from stdin)');
    return { file: input.file };
  }
  if (words.length === 0) return { none: true };
  return { words: words[0]!, ...(legacyChair !== undefined && { legacyChair }) };
}

/** A model id the way panels and OpenRouter write them: `vendor/name[:tag]`. */
const MODEL_ID = /^[\w.-]+\/[\w.:@/-]+$/;

/** The missing-question message: what to type, with an example. */
export function noQuestionError(): UsageError {
  return new UsageError(
    `No question given. Ask one in quotes, e.g. ${quorumCommand('ask', EXAMPLE_QUESTION, '--sandbox')} (offline), or read it from a file with --query-file FILE, or from stdin with: ${quorumCommand('ask', '-')}`,
  );
}

/** Reads the question: the argument, a file (checked like --context) or stdin (same size and text checks). */
export async function readQuestion(input: QuestionInput, stdin: NodeJS.ReadStream | undefined): Promise<Question> {
  const source = questionSource(input);
  if ('none' in source) throw noQuestionError();
  let query: string;
  if ('words' in source) {
    query = source.words;
  } else if (source.file === '-') {
    query = await readStdin(stdin);
  } else {
    query = readContext(source.file, '--query-file').text;
  }
  query = requireQuery(query);
  return { query, ...('legacyChair' in source && source.legacyChair !== undefined && { legacyChair: source.legacyChair }) };
}

/** Stdin up to the --context size limit; a terminal is refused (it would wait for Ctrl-D unasked). */
async function readStdin(stdin: NodeJS.ReadStream | undefined): Promise<string> {
  if (!stdin) throw new UsageError('No stdin to read the question from; give it as an argument in quotes');
  if (stdin.isTTY) {
    throw new UsageError(`\`ask -\` reads the question from stdin, but stdin is a terminal; pipe it in, e.g. echo "${EXAMPLE_QUESTION}" | ${quorumCommand('ask', '-')}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_CONTEXT_BYTES) {
      stdin.destroy();
      throw new UsageError(`The question on stdin is over the ${MAX_CONTEXT_BYTES / 1048576} MB limit; put the document in --context (or \`quorum batch\`) and ask a short question`);
    }
    chunks.push(buf);
  }
  return decodeText(Buffer.concat(chunks), 'The question on stdin');
}

/** Several `--context` files as one document: each labelled with its path, in the order given. */
export function readContexts(paths: string | readonly string[] | undefined): { source: string; text: string } | undefined {
  if (paths === undefined) return undefined;
  const list = (Array.isArray(paths) ? paths : [paths]).map(String);
  if (list.some((p) => p.trim() === '')) throw new UsageError('--context needs a file name, e.g. --context spec.md');
  const docs = list.map((p) => readContext(p));
  if (docs.length === 1) return docs[0];
  const total = docs.reduce((n, d) => n + Buffer.byteLength(d.text), 0);
  if (total > MAX_CONTEXT_BYTES) {
    throw new UsageError(`The ${docs.length} --context files are ${(total / 1048576).toFixed(1)} MB together, over the ${MAX_CONTEXT_BYTES / 1048576} MB limit; split them with \`quorum batch\``);
  }
  // One document for the prompt (which wraps it once as data); a header line names each file.
  return {
    source: docs.map((d) => d.source).join(', '),
    text: docs.map((d, i) => `===== file ${i + 1} of ${docs.length}: ${d.source} =====\n${d.text.replace(/\s+$/, '')}\n`).join('\n'),
  };
}

/**
 * `batch` and `watch`: the question from `--query`, or from `--query-file F` (`-`: stdin), with
 * ask's checks. `command` and `example` make the message for a missing question.
 */
export async function readQueryFlag(
  o: { query: unknown; file: unknown; missing: () => UsageError },
  stdin: NodeJS.ReadStream | undefined,
): Promise<string> {
  if (Array.isArray(o.query)) throw new UsageError('Give --query once; put the whole question in one quoted --query');
  const file = o.file === undefined ? undefined : String(o.file);
  if (file !== undefined && o.query !== undefined) throw new UsageError('Give the question once: with --query or with --query-file, not both');
  if (file === undefined) {
    if (o.query === undefined) throw o.missing();
    return requireQuery(String(o.query));
  }
  if (file.trim() === '') throw new UsageError('--query-file needs a file name (or - to read the question from stdin)');
  return requireQuery(file === '-' ? await readStdin(stdin) : readContext(file, '--query-file').text);
}
