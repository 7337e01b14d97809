import { UsageError } from '../errors.js';
import { defaultPanel, loadPanel } from '../panel/loadPanel.js';
import { resolveApiKeys } from '../run/apiKeys.js';
import { integerFlag } from '../run/parseOptions.js';
import { startSandboxPanel } from '../run/sandboxPanel.js';
import type { Panel } from '../types.js';
import type { CliContext } from '../commands/context.js';
import { quorumCommand } from '../render/invocation.js';

/** Flags every run command shares (ask, batch, watch). */
export interface RunFlags {
  panel?: string;
  quorum?: string;
  rounds?: string;
  grace?: string;
  timeout?: string;
  sandbox: boolean;
}

export interface RunSetup {
  panel: Panel;
  /** The environment with keys resolved (placeholders for loopback, the sandbox's own key). */
  env: NodeJS.ProcessEnv;
  quorum?: number;
  rounds: 1 | 2;
  graceMs?: number;
  /** Set when the panel is the in-process sandbox. */
  sandbox?: { baseURL: string };
  /** Stops the sandbox, if one was started. */
  close(): Promise<void>;
}

/**
 * Parses the shared flags and builds the panel: the sandbox's, the file's, or the built-in one,
 * with `--timeout` applied and every key variable checked. All flag errors come before the
 * sandbox starts, so a bad flag leaves nothing running.
 */
export async function setUpRun(args: RunFlags, ctx: CliContext): Promise<RunSetup> {
  const quorum = integerFlag('--quorum', args.quorum, { min: 1, example: 5 });
  const graceMs = integerFlag('--grace', args.grace, { min: 0, allow: [-1], example: 5000 });
  const timeoutMs = integerFlag('--timeout', args.timeout, { min: 1, example: 30000 });
  const rounds = integerFlag('--rounds', args.rounds ?? '2', { min: 1, example: 2 });
  if (rounds !== 1 && rounds !== 2) throw new UsageError(`Expected --rounds to be 1 or 2, got ${rounds}`);
  if (args.sandbox && args.panel) throw new UsageError('--sandbox runs its own simulated panel; drop --panel, or drop --sandbox to use your panel');
  let panel = args.panel ? loadPanel(args.panel, ctx.env) : args.sandbox ? undefined : defaultPanel(ctx.env);
  const env = panel ? resolveApiKeys(panel, ctx.env, quorumCommand(...withSandbox(ctx.argv ?? []))) : ctx.env;
  const sandbox = args.sandbox ? await startSandboxPanel() : undefined;
  panel = sandbox?.panel ?? panel!;
  if (timeoutMs !== undefined) panel = { ...panel, timeoutMs, members: panel.members.map((m) => ({ ...m, timeoutMs })) };
  return {
    panel,
    env: sandbox ? { ...env, ...sandbox.env } : env,
    rounds,
    ...(quorum !== undefined && { quorum }),
    ...(graceMs !== undefined && { graceMs }),
    ...(sandbox && { sandbox: { baseURL: sandbox.baseURL } }),
    close: async () => sandbox?.close(),
  };
}

/**
 * The user's own command line run offline: `--panel` dropped (the sandbox brings its own),
 * `--sandbox` added. The "API key not set" hint prints it, so it is the very run, only simulated.
 */
export function withSandbox(argv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--panel=') || arg === '--sandbox') continue;
    if (arg === '--panel') {
      i++;
      continue;
    }
    kept.push(arg);
  }
  return [...kept, '--sandbox'];
}
