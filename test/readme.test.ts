/**
 * The README's examples run as pasted (issue 12, item 3), so the README cannot drift from the
 * code again. Whatever README.md holds when the test runs:
 *
 * - every ```json / ```yaml block that is a panel file (it has `members`) loads with the real
 *   binary (`quorum panel --panel FILE`), and one that is a sandbox scenario (`models`) with the
 *   real scenario loader;
 * - every command of every ```sh block runs through the real binary, in README order, in a
 *   temporary folder holding a copy of examples/:
 *   - offline ones (`--sandbox`, and `sql` / `report` / `show` / `replay` / `runs` / plain `panel`
 *     on the artifacts the earlier ones wrote) must exit 0;
 *   - the others need a key or a network: they run with no key and the provider's base URL on a
 *     closed loopback port, and must get past their arguments: any exit but 2, or exit 2 naming
 *     the missing key variable or the unreachable host, never a usage error;
 *   - commands in {@link NOT_RUN} are not run, each for the reason given.
 *
 * README_FILE=<path> checks another file (to try a README change before it lands).
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadScenario } from '../src/sandbox/scenario.js';
import { CLI, tempDir } from './helpers/cli.js';
import { closedPort, natsServerBinary, natsSkipReason } from './helpers/natsServer.js';

const ROOT = resolve(import.meta.dirname, '..');
const README = process.env.README_FILE ? resolve(process.env.README_FILE) : join(ROOT, 'README.md');

/** Commands of ```sh blocks the test does not run, and why. Keep it small. */
const NOT_RUN: { pattern: RegExp; reason: string }[] = [
  { pattern: /^npm (install|i|ci)\b(?!.*-g)/, reason: 'installs the dependencies; the test runs inside an installed clone' },
  { pattern: /^npm (link|install -g|i -g)\b/, reason: 'changes the global npm prefix of the machine running the tests' },
  { pattern: /^npm (test|run test)\b/, reason: 'runs the whole suite, this test included' },
  { pattern: /^npm run (build|bench|eval:matcher)\b/, reason: 'rebuilds dist/ under other tests, or takes minutes' },
  { pattern: /^git clone\b|^cd quorum$/, reason: 'the test already runs in the clone' },
  { pattern: /^(npx )?quorum (watch|sandbox)\b/, reason: 'serves until Ctrl-C (test/cli/watch.test.ts and test/sandbox/port.test.ts cover them)' },
  { pattern: /--queue\b/, reason: 'needs a running nats-server (test/queue/*.test.ts run batch --queue and worker against a real one)' },
  { pattern: /^nats-server\b|^nats sub\b/, reason: 'starts a NATS server, or watches one until Ctrl-C' },
];

/** Subcommands that read only the artifacts folder: they must work offline after a sandbox run. */
const OFFLINE_SUBCOMMANDS = new Set(['sql', 'report', 'show', 'replay', 'runs', 'migrate']);

export interface Block {
  lang: string;
  body: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

/** The fenced code blocks of a markdown text (``` or ~~~, any length), with their info word. */
export function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      body.push(lines[j]!);
    }
    blocks.push({ lang: open[2]!.toLowerCase(), body: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}

/** One command line of a shell block: continuation lines joined, `$ ` prompts and comments gone. */
export function shellCommands(body: string): string[] {
  const joined = body.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.replace(/^\s*\$\s+/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * Splits a command into words as sh would for simple commands: '…' and "…" quotes, backslash
 * escapes, `#` comments. Anything needing a real shell (pipes, redirections, `;`, `&&`, `$(…)`,
 * variables, `~`) is reported, so such a line must be simplified or listed in NOT_RUN.
 */
export function shellWords(line: string): { words: string[] } | { unsupported: string } {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { unsupported: 'an unclosed quote' };
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      let j = i + 1;
      let text = '';
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && /["\\$`]/.test(line[j + 1] ?? '')) text += line[++j];
        else if (line[j] === '$' || line[j] === '`') return { unsupported: 'a substitution inside double quotes' };
        else text += line[j];
      }
      if (j >= line.length) return { unsupported: 'an unclosed quote' };
      word = (word ?? '') + text;
      i = j;
    } else if (ch === '\\') {
      word = (word ?? '') + (line[++i] ?? '');
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (ch === '#' && word === undefined) {
      break;
    } else if (/[|&;<>()`$]/.test(ch) || (ch === '~' && word === undefined)) {
      return { unsupported: `the shell syntax "${ch}"` };
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== undefined) words.push(word);
  return { words };
}

interface Command {
  /** As written in the README. */
  text: string;
  block: Block;
  /** `VAR=value` prefixes. */
  env: Record<string, string>;
  /** The arguments after `quorum` / `npx quorum`; undefined for another program. */
  quorumArgs?: string[];
  unsupported?: string;
}

function parseCommand(text: string, block: Block): Command {
  const parsed = shellWords(text);
  if ('unsupported' in parsed) return { text, block, env: {}, unsupported: parsed.unsupported };
  const words = [...parsed.words];
  const env: Record<string, string> = {};
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split('=');
    env[name!] = value.join('=');
  }
  if (words[0] === 'export' && words.length === 2 && words[1]!.includes('=')) return { text, block, env, quorumArgs: undefined };
  if (words[0] === 'npx' && words[1] === 'quorum') return { text, block, env, quorumArgs: words.slice(2) };
  if (words[0] === 'quorum') return { text, block, env, quorumArgs: words.slice(1) };
  return { text, block, env };
}

/** What the test does with a command. */
type Plan =
  | { kind: 'skip'; reason: string }
  | { kind: 'export'; name: string; value: string }
  | { kind: 'offline'; args: string[] }
  | { kind: 'network'; args: string[] }
  | { kind: 'refuse'; why: string };

function plan(cmd: Command): Plan {
  const listed = NOT_RUN.find((n) => n.pattern.test(cmd.text));
  if (listed) return { kind: 'skip', reason: listed.reason };
  if (cmd.unsupported) return { kind: 'refuse', why: `uses ${cmd.unsupported}; keep README commands simple, or add the line to NOT_RUN with a reason` };
  const exported = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(cmd.text);
  if (exported) return { kind: 'export', name: exported[1]!, value: (shellWords(exported[2]!) as { words: string[] }).words?.[0] ?? '' };
  if (!cmd.quorumArgs) return { kind: 'refuse', why: 'is not a quorum command; add it to NOT_RUN with a reason if it belongs in the README' };
  const args = cmd.quorumArgs;
  const placeholder = args.find((a) => /…|\.\.\.|^<[^>]+>$|<(runId|id|batchId|query)>/.test(a));
  if (placeholder) return { kind: 'refuse', why: `has the placeholder ${placeholder}; a pasted command must run as it is (use \`latest\`, or a real file under examples/)` };
  const sub = args[0] ?? '';
  const panelOffline = sub === 'panel' && !args.some((a) => /^--(check|free|suggest)\b/.test(a));
  if (args.includes('--sandbox') || OFFLINE_SUBCOMMANDS.has(sub) || panelOffline || args.some((a) => /^(-h|--help|--version)$/.test(a))) return { kind: 'offline', args };
  return { kind: 'network', args };
}

/** A folder with a copy of examples/, as a fresh clone has it. */
function workFolder(): string {
  const dir = tempDir('quorum-readme-');
  cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  mkdirSync(join(dir, 'home'));
  return dir;
}

/** Runs the binary in `cwd` (spawnCli has no cwd): the same entry point `npx quorum` starts. */
async function runIn(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

const readme = readFileSync(README, 'utf8');
const blocks = fencedBlocks(readme);
const where = (b: Block) => `${README}:${b.line}`;

describe('README parsing (the test of the test)', () => {
  it('finds fences, joins continuations, splits words like sh and spots shell syntax', () => {
    const md = ['# t', '```sh', 'npx quorum ask "a \\"b\\"" \\', "  --context 'x y.md' # note", '```', '~~~yaml', 'members: []', '~~~', '````', '```', '````'].join('\n');
    const found = fencedBlocks(md);
    expect(found.map((b) => [b.lang, b.line])).toEqual([['sh', 2], ['yaml', 6], ['', 9]]);
    expect(found[2]!.body).toBe('```');
    const [line] = shellCommands(found[0]!.body);
    expect(shellWords(line!)).toEqual({ words: ['npx', 'quorum', 'ask', 'a "b"', '--context', 'x y.md'] });
    expect(shellWords('quorum report --to - | head')).toEqual({ unsupported: 'the shell syntax "|"' });
    expect(shellWords('quorum ask "$(cat q.txt)"')).toEqual({ unsupported: 'a substitution inside double quotes' });
  });

  it('plans commands: offline, network, skipped with a reason, refused', () => {
    const b: Block = { lang: 'sh', body: '', line: 1 };
    const of = (t: string) => plan(parseCommand(t, b)).kind;
    expect(of('npx quorum ask "Q?" --context examples/protocol.md --sandbox')).toBe('offline');
    expect(of('quorum show latest')).toBe('offline');
    expect(of('quorum panel --check')).toBe('network');
    expect(of('npx quorum ask "Q?" --context examples/protocol.md')).toBe('network');
    expect(of('npm install')).toBe('skip');
    expect(of('quorum report --batch <id>')).toBe('refuse');
    expect(of('curl https://example.com')).toBe('refuse');
  });
});

describe(`README examples (${README})`, () => {
  it('has shell examples and a panel example to check', () => {
    expect(blocks.some((b) => /^(sh|bash|shell|console)$/.test(b.lang))).toBe(true);
    expect(blocks.some((b) => /^(json|ya?ml)$/.test(b.lang) && /"?members"?\s*:/.test(b.body))).toBe(true);
  });

  const data = blocks.filter((b) => /^(json|ya?ml)$/.test(b.lang));
  for (const block of data) {
    const isPanel = /"?members"?\s*:/.test(block.body);
    const isScenario = !isPanel && /^\s*"?models"?\s*:/m.test(block.body);
    if (!isPanel && !isScenario) continue;
    it(`${isPanel ? 'panel' : 'scenario'} example at line ${block.line} loads`, async () => {
      const dir = workFolder();
      const file = join(dir, `example.${block.lang === 'json' ? 'json' : 'yaml'}`);
      writeFileSync(file, block.body);
      if (block.lang === 'json') expect(() => JSON.parse(block.body), `${where(block)}: not valid JSON`).not.toThrow();
      else expect(() => parseYaml(block.body), `${where(block)}: not valid YAML`).not.toThrow();
      if (isScenario) {
        await expect(loadScenario(file)).resolves.toBeDefined();
        return;
      }
      const run = await runIn(dir, ['panel', '--panel', file, '--no-quota', '--json'], { PATH: process.env.PATH, HOME: join(dir, 'home') });
      expect(run.stderr, `${where(block)}: the panel example does not load`).toBe('');
      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout) as { members: unknown[] }).members.length).toBeGreaterThan(0);
    });
  }

  describe('shell examples, in README order', () => {
    const commands = blocks.filter((b) => /^(sh|bash|shell|console)$/.test(b.lang)).flatMap((b) => shellCommands(b.body).map((t) => parseCommand(t, b)));
    let dir: string;
    let networkDir: string;
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      dir = workFolder();
      networkDir = workFolder();
      env = { PATH: process.env.PATH, HOME: join(dir, 'home'), OPENROUTER_BASE_URL: `http://127.0.0.1:${await closedPort()}/api/v1` };
    });

    for (const cmd of commands) {
      const p = plan(cmd);
      const title = `line ${cmd.block.line}: ${cmd.text}`;
      if (p.kind === 'skip') {
        // Not a test: these lines are deliberately never run (NOT_RUN says why), so say so once.
        console.info(`README ${title}: not run (${p.reason})`);
        continue;
      }
      it(title, async () => {
        if (p.kind === 'refuse') expect.fail(`${where(cmd.block)}: \`${cmd.text}\` ${p.why}`);
        if (p.kind === 'export') {
          // A key exported in the README is never used: the test holds no key and calls no provider.
          if (!/(KEY|TOKEN)$/i.test(p.name) && p.name !== 'OPENROUTER_BASE_URL') env[p.name] = p.value;
          return;
        }
        const runEnv = { ...env, ...Object.fromEntries(Object.entries(cmd.env).filter(([k]) => !/(KEY|TOKEN)$/i.test(k) && k !== 'OPENROUTER_BASE_URL')) };
        if (p.kind === 'offline') {
          const run = await runIn(dir, p.args, runEnv);
          expect(run.code, `${where(cmd.block)}: \`${cmd.text}\` exited ${run.code}: ${run.stderr.trim()}`).toBe(0);
          return;
        }
        const run = await runIn(networkDir, p.args, runEnv);
        if (run.code === 2) {
          // Only the missing key or the unreachable provider may stop it: never its arguments.
          expect(run.stderr, `${where(cmd.block)}: \`${cmd.text}\` was refused: ${run.stderr.trim()}`).toMatch(/is not set|cannot reach|Cannot reach/);
        }
        expect(run.stderr).not.toMatch(/\n\s+at .*\(/);
      }, 120_000);
    }
  });
});

/**
 * The Scale out steps as a user pastes them on one machine: the README's own nats-server, worker
 * and batch lines, run in a fresh folder (only the port changes, to a free one: 4222 may be taken
 * on a shared machine). The lines are listed in NOT_RUN above because they need the server.
 */
describe.skipIf(Boolean(natsSkipReason))(natsSkipReason ? `README Scale out, pasted (SKIPPED: ${natsSkipReason})` : 'README Scale out, pasted', () => {
  const start = readme.indexOf('\n## Scale out');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const lines = fencedBlocks(section)
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => shellCommands(b.body));
  const pick = (re: RegExp) => {
    const line = lines.find((l) => re.test(l));
    expect(line, `the Scale out section has no line matching ${re}`).toBeDefined();
    return (shellWords(line!) as { words: string[] }).words;
  };

  it('starts a server, a worker and a batch that completes', async () => {
    const server = pick(/^nats-server /);
    const worker = pick(/^npx quorum worker /);
    const batch = pick(/^npx quorum batch /);
    const dir = workFolder();
    const port = await closedPort();
    const env = { PATH: process.env.PATH, HOME: join(dir, 'home') };
    const withPort = (args: string[]) => args.map((a) => a.replace('127.0.0.1:4222', `127.0.0.1:${port}`));
    const { spawn } = await import('node:child_process');
    const nats = spawn(natsServerBinary, [...server.slice(1), '-a', '127.0.0.1', '-p', String(port)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let natsLog = '';
    await new Promise<void>((ready, fail) => {
      const onData = (c: Buffer) => {
        natsLog += c.toString();
        if (natsLog.includes('Server is ready')) ready();
      };
      nats.stderr.on('data', onData);
      nats.stdout.on('data', onData);
      nats.once('exit', () => fail(new Error(`nats-server exited: ${natsLog}`)));
    });
    const w = spawn(process.execPath, [CLI, ...withPort(worker.slice(2))], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let workerLog = '';
    w.stderr.on('data', (c: Buffer) => (workerLog += c.toString()));
    try {
      const run = await runIn(dir, withPort(batch.slice(2)), env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/CONSENSUS — batch \S+ completed/);
      expect(workerLog).toMatch(/^decided /m);
      expect(readFileSync(join(dir, 'artifacts', 'runs.jsonl'), 'utf8')).toContain('"worker":');
    } finally {
      const gone = new Promise((r) => w.once('exit', r));
      w.kill('SIGTERM');
      await gone;
      nats.removeAllListeners('exit');
      const natsGone = new Promise((r) => nats.once('exit', r));
      nats.kill('SIGTERM');
      await natsGone;
    }
  }, 60_000);
});
