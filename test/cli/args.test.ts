import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConsensusDocument } from '../../src/types.js';
import { CLI, tempDir, type CliRun } from '../helpers/cli.js';
import { logLines, runLines } from '../helpers/runLog.js';

/**
 * Arguments as a new user types them (issue 12, item 8), through the built binary: help, plain
 * messages for what is missing or malformed, typed flags, the question from stdin or a file,
 * several --context files, --synthesize that never takes the question, replay latest, sql -c.
 */

/**
 * Runs the binary as `quorum` on PATH (what `npm install -g` / `npm link` give), so printed
 * commands read `quorum …` (test/cli/hints.test.ts covers the other ways), with `input` on stdin.
 */
function cli(args: string[], { input, env = {}, cwd }: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(bin, 'quorum'), ...args], { env: { PATH: `${bin}:${process.env.PATH}`, ...env }, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.on('error', () => undefined); // the CLI may refuse stdin before reading it all
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

const SANDBOX = ['--sandbox', '--json', '--rounds', '1'];
const errorLines = (run: CliRun) => run.stderr.split('\n').filter((l) => l.startsWith('Error: '));

/** A usage error: exit 2, one `Error:` line, no stack, no yargs wording. */
function expectUsageError(run: CliRun, message: RegExp): void {
  expect(run.code, run.stderr).toBe(2);
  expect(errorLines(run), run.stderr).toHaveLength(1);
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/Not enough non-option arguments|\n\s+at /);
}

let dir = '';
let bin = '';
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  dir = tempDir('quorum-args-');
  bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(CLI, join(bin, 'quorum'));
});

describe('help', () => {
  it('a bare `quorum` prints the help on stdout and exits 0', async () => {
    const run = await cli([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Commands:/);
    expect(run.stdout).toMatch(/ask \[query\.\.\]/);
    expect(run.stdout).toMatch(/ runs /);
    expect(run.stdout).toMatch(/ask "What is Raft\?" --sandbox/);
    expect(run.stderr).toBe('');
  });

  const commands = ['ask', 'batch', 'replay', 'show', 'report', 'runs', 'sql', 'panel', 'watch', 'sandbox', 'migrate'];
  it('-h works at the top and for every command', async () => {
    const runs = await Promise.all([cli(['-h']), ...commands.map((c) => cli([c, '-h']))]);
    for (const [i, run] of runs.entries()) {
      expect(run.code, `${commands[i - 1] ?? ''} -h: ${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/-h, --help/);
    }
  });

  it('numeric flags show as [number] in the help', async () => {
    const batch = await cli(['batch', '--help']);
    for (const flag of ['--concurrency', '--chunk-tokens', '--overlap', '--rpm', '--model-rpm', '--quorum', '--rounds', '--grace', '--timeout']) {
      // The first type label after the flag (a long description wraps onto the next line).
      expect(new RegExp(`${flag} [^]*?\\[(number|string|boolean)\\]`).exec(batch.stdout)?.[1], flag).toBe('number');
    }
    const ask = await cli(['ask', '--help']);
    for (const flag of ['--quorum', '--timeout', '--grace', '--rounds']) {
      expect(new RegExp(`${flag} [^]*?\\[(number|string|boolean)\\]`).exec(ask.stdout)?.[1], flag).toBe('number');
    }
  });
});

describe('missing or malformed arguments: one plain line with an example, exit 2', () => {
  it.each([
    ['ask without a question', ['ask'], /No question given\. Ask one in quotes, e\.g\. quorum ask "What is Raft\?" --sandbox/],
    ['ask with only flags', ['ask', '--sandbox'], /No question given/],
    ['show without a run', ['show'], /Give the run to show: a run id or latest, e\.g\. quorum show latest/],
    ['replay without a run', ['replay'], /Give the run to replay: a run id or latest/],
    ['batch without inputs', ['batch', '--query', 'q?'], /No input given; name files, folders or globs, e\.g\. quorum batch specs\/ --query "What does each part require\?"/],
    ['batch without --query', ['batch', 'specs/'], /Give the question with --query .*e\.g\. quorum batch specs\/ --query "What does each part require\?"/],
    ['watch without a folder', ['watch', '--query', 'q?'], /Name the folder to watch, e\.g\. quorum watch inbox\//],
    ['a question in several words', ['ask', 'What', 'is', 'Raft'], /Give the question as one argument in quotes, e\.g\. quorum ask "What is Raft"/],
    ['a chair without a slash after --synthesize, beside the question', ['ask', 'Why?', '--synthesize', 'llama3.2:3b'], /--synthesize takes no value; name the chair with --chair llama3\.2:3b/],
    ['--concurrency abc', ['batch', 'specs/', '--query', 'q?', '--concurrency', 'abc'], /Expected --concurrency to be an integer ≥ 1, got "abc"; e\.g\. --concurrency 2/],
    ['--concurrency 1.5', ['batch', 'specs/', '--query', 'q?', '--concurrency', '1.5'], /Expected --concurrency to be an integer ≥ 1, got "1\.5"/],
    ['an empty --chunk-tokens', ['batch', 'specs/', '--query', 'q?', '--chunk-tokens', ''], /Expected --chunk-tokens to be an integer ≥ 50, got ""/],
    ['--limit twice', ['runs', '--limit', '2', '--limit', '3'], /Give --limit once/],
    ['--timeout soon', ['ask', 'q?', '--sandbox', '--timeout', 'soon'], /Expected --timeout to be an integer ≥ 1, got "soon"; e\.g\. --timeout 30000/],
    ['an unknown --format', ['sql', '-c', 'SELECT 1', '--format', 'xml'], /Expected --format to be one of table, csv, json, markdown, got "xml"/],
    ['sql -c with a query name too', ['sql', 'model_latency', '-c', 'SELECT 1'], /not two of them/],
    ['an empty sql -c', ['sql', '-c', ' '], /-c needs SQL text, e\.g\. quorum sql -c "SELECT/],
  ])('%s', async (_what, args, message) => {
    expectUsageError(await cli([...args, '--out', join(dir, 'never')]), message);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});

describe('the question', () => {
  it('--synthesize never takes the question: `ask --synthesize "What is X?"` asks "What is X?" and has a chair answer', async () => {
    const out = join(dir, 'synth');
    const run = await cli(['ask', '--synthesize', 'What is X?', ...SANDBOX, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as ConsensusDocument;
    expect(doc.query).toBe('What is X?');
    expect(doc.synthesis).toMatchObject({ model: expect.any(String), text: expect.any(String) });
  });

  it('--chair MODEL and --synthesize=MODEL name the chair', async () => {
    const chair = 'qwen/qwen3-235b-a22b:free'; // a member of the sandbox panel
    for (const flags of [['--chair', chair], [`--synthesize=${chair}`]]) {
      const run = await cli(['ask', 'What is X?', ...flags, ...SANDBOX, '--out', join(dir, 'chair')]);
      expect(run.code, run.stderr).toBe(0);
      const doc = JSON.parse(run.stdout) as ConsensusDocument;
      expect(doc.query).toBe('What is X?');
      expect(doc.synthesis?.model).toBe(chair);
    }
  });

  it.each([[['-']], [['--query-file', '-']], [['--query-file=-']]])('`ask %j` reads the question from stdin', async (how) => {
    const out = join(dir, 'stdin');
    const run = await cli(['ask', ...how, ...SANDBOX, '--out', out], { input: '  What does stdin say?\n' });
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as ConsensusDocument).query).toBe('What does stdin say?');
  });

  it('--query-file reads a question far longer than a command line takes (1 MB)', async () => {
    const question = `Which of these terms matter? ${'term '.repeat(210_000)}`.trim();
    expect(Buffer.byteLength(question)).toBeGreaterThan(1_000_000);
    const file = join(dir, 'question.txt');
    writeFileSync(file, `${question}\n`);
    const out = join(dir, 'qfile');
    const run = await cli(['ask', '--query-file', file, ...SANDBOX, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(runLines(out)[0]!.query).toBe(question);
  });

  it('batch takes the question from --query-file too', async () => {
    const docs = join(dir, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'a.md'), '# A\n\nThe protocol is small.\n');
    writeFileSync(join(dir, 'batch-question.txt'), 'What does each part require?\n');
    const out = join(dir, 'batch-qfile');
    const run = await cli(['batch', docs, '--query-file', join(dir, 'batch-question.txt'), '--sandbox', '--rounds', '1', '--json', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(runLines(out).map((r) => r.query)).toEqual(['What does each part require?']);
    expectUsageError(await cli(['batch', docs, '--query', 'Q?', '--query-file', 'x.txt', '--out', join(dir, 'never')]), /Give the question once: with --query or with --query-file, not both/);
  });

  it.each([
    ['binary stdin', ['ask', '-'], Buffer.from([0x57, 0, 0x61]), /The question on stdin looks binary/],
    ['stdin over the 2 MB limit', ['ask', '-'], Buffer.alloc(3 * 1024 * 1024, 0x61), /The question on stdin is over the 2 MB limit/],
    ['empty stdin', ['ask', '-'], '  \n', /The question on stdin is empty/],
    ['a missing --query-file', ['ask', '--query-file', 'nope.txt'], undefined, /--query-file nope\.txt cannot be read \(ENOENT\)/],
    ['a folder as --query-file', ['ask', '--query-file', '.'], undefined, /--query-file \. is a directory/],
    ['a question twice', ['ask', 'Why?', '--query-file', 'q.txt'], undefined, /Give the question once/],
  ])('refuses %s', async (_what, args, input, message) => {
    expectUsageError(await cli([...args, '--sandbox', '--out', join(dir, 'never')], { input, cwd: dir }), message);
  });

  it.each([
    ['ask', ['ask', 'What is X?']],
    ['batch', ['batch', '.', '--query', 'What is X?']],
    ['watch', ['watch', '.', '--query', 'What is X?']],
  ])('%s: the SANDBOX banner comes only after the flags were accepted', async (_what, args) => {
    const run = await cli([...args, '--sandbox', '--quorum', '99', '--out', join(dir, 'never')], { cwd: dir });
    expectUsageError(run, /Expected --quorum to be an integer from 1 to 8, got 99/);
    expect(run.stderr).not.toMatch(/SANDBOX/);
  });
});

describe('--context, repeated', () => {
  it('gives every model all the files, each labelled, as one document', async () => {
    const a = join(dir, 'a.md');
    const b = join(dir, 'b.md');
    writeFileSync(a, 'The first document says the port is 80.\n');
    writeFileSync(b, 'The second document says the port is 443.\n');
    const out = join(dir, 'contexts');
    const run = await cli(['ask', 'Which ports?', '--context', a, '--context', b, ...SANDBOX, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const started = logLines<{ type: string; data: { context?: { source: string; chars: number } } }>(out, 'cloudevents.jsonl').find((e) => e.type === 'quorum.run.started')!;
    expect(started.data.context!.source).toBe(`${a}, ${b}`);
    // Both texts plus a header line for each.
    expect(started.data.context!.chars).toBeGreaterThan(readFileSync(a, 'utf8').length + readFileSync(b, 'utf8').length + 2 * a.length);
  });

  it('checks each file as a single --context is checked', async () => {
    const good = join(dir, 'good.md');
    writeFileSync(good, 'Text.\n');
    mkdirSync(join(dir, 'folder'), { recursive: true });
    expectUsageError(await cli(['ask', 'q?', '--context', good, '--context', join(dir, 'folder'), '--sandbox']), /--context .*folder is a directory/);
  });
});

describe('replay latest, sql -c, --format in any case', () => {
  it('replays the run decided last, and sql -c answers with --format JSON', async () => {
    const out = join(dir, 'replay');
    const first = await cli(['ask', 'What is Raft?', ...SANDBOX, '--out', out]);
    const second = await cli(['ask', 'What is Paxos?', ...SANDBOX, '--out', out]);
    expect([first.code, second.code]).toEqual([0, 0]);
    const latest = (JSON.parse(second.stdout) as ConsensusDocument).runId;

    const replay = await cli(['replay', 'latest', '--quorum', '3', '--json', '--out', out]);
    expect(replay.code, replay.stderr).toBe(0);
    const doc = JSON.parse(replay.stdout) as ConsensusDocument;
    expect(doc.replayOf).toBe(latest);
    expect(doc.quorum.configured).toBe(3);

    const sql = await cli(['sql', '-c', 'SELECT query FROM consensus WHERE replay_of IS NULL ORDER BY started_at', '--format', 'JSON', '--out', out]);
    expect(sql.code, sql.stderr).toBe(0);
    expect(JSON.parse(sql.stdout)).toEqual([{ query: 'What is Raft?' }, { query: 'What is Paxos?' }]);

    const writes = await cli(['sql', '-c', 'DROP VIEW consensus', '--out', out]);
    expectUsageError(writes, /-c: refused/);
  });

  it('replay latest in a folder with no run says so', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expectUsageError(await cli(['replay', 'latest', '--out', empty]), /No run decided in .*empty yet/);
  });
});

describe('small things (issue 12, item 10)', () => {
  it('a resumed batch with nothing left never shows `nothing-to-do` as a status word (--json keeps the outcome)', async () => {
    const docs = join(dir, 'done-docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'a.md'), '# A\n\nThe protocol is small.\n');
    const args = ['batch', docs, '--query', 'What?', '--sandbox', '--rounds', '1', '--out', join(dir, 'done')];
    expect((await cli(args)).code).toBe(0);
    const again = await cli([...args, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/nothing-to-do/);
    expect(again.stderr).toMatch(/already decided every chunk; nothing to resume/);
    const json = await cli([...args, '--resume', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ outcome: 'nothing-to-do' });
  });

  it("watch reports a skipped file once, as `Skipped <file>: <why>`, not `skipped: Skipped …`", async () => {
    const inbox = join(dir, 'inbox');
    mkdirSync(inbox);
    writeFileSync(join(inbox, 'x.md'), Buffer.from('abc\0def'));
    writeFileSync(join(inbox, 'a.md'), '# A\n\nThe protocol is small.\n');
    const run = await new Promise<CliRun>((resolve, reject) => {
      const child = spawn(process.execPath, [join(bin, 'quorum'), 'watch', inbox, '--query', 'What?', '--sandbox', '--rounds', '1', '--out', join(dir, 'watched')], {
        env: { PATH: `${bin}:${process.env.PATH}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        // Both files handled (the folder's files are researched at start): Ctrl-C.
        if (/Skipped/.test(stdout) && /a\.md: /.test(stdout)) child.kill('SIGINT');
      });
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
    expect(run.code).toBe(130);
    expect(run.stdout).toMatch(/^Skipped x\.md: looks binary/m);
    expect(run.stdout).not.toMatch(/skipped: Skipped/);
  });
});
