import { UsageError } from '../errors.js';
import { plannedCalls, quotaWarningFor } from '../panel/quota.js';
import { readContext } from '../run/readContext.js';
import { runAsk } from '../run/runAsk.js';
import { LiveView } from '../terminal/liveView.js';
import { formatResult } from '../terminal/printResult.js';
import type { AskArgs } from '../commands/ask.js';
import type { CliContext } from '../commands/context.js';
import { setUpRun } from './panelSetup.js';

/** `quorum ask`: loaded by src/commands/ask.ts when the command runs. */
export async function handler(args: AskArgs, ctx: CliContext): Promise<void> {
  const query = String(args.query ?? '').trim();
  if (query === '') throw new UsageError('The query is empty; ask a question, e.g. quorum ask "What are the key concepts in these specs?"');
  const context = args.context !== undefined ? readContext(args.context) : undefined;
  const setup = await setUpRun(args, ctx);
  const { panel, env, sandbox, rounds } = setup;
  try {
    if (!sandbox) {
      const planned = plannedCalls(panel, { rounds, synthesize: args.synthesize !== undefined });
      const warning = await quotaWarningFor(panel, env, planned, { signal: ctx.signal });
      if (warning) ctx.stderr.write(`Warning: ${warning}\n`);
    }
    if (sandbox && !args.json) ctx.stderr.write(`SANDBOX: ${panel.members.length} simulated models at ${sandbox.baseURL}; no real model is asked.\n`);
    const live = args.json ? undefined : new LiveView(panel.members, ctx.stderr);
    const result = await runAsk({
      request: { query, ...(context && { context }) },
      panel,
      out: args.out,
      quorum: setup.quorum,
      graceMs: setup.graceMs,
      rounds,
      ...(args.synthesize !== undefined && { synthesize: args.synthesize.trim() ? { model: args.synthesize.trim() } : {} }),
      env,
      sandbox: Boolean(sandbox),
      signal: ctx.signal,
      live,
    });
    live?.close();
    if (result.exitCode === 130) {
      ctx.stderr.write(`Interrupted: run ${result.runId} cancelled; no consensus was written.\n`);
    } else if (result.doc) {
      ctx.stdout.write(args.json ? `${JSON.stringify(result.doc, null, 2)}\n` : formatResult(result.doc, result.runDir));
    }
    ctx.exitCode = result.exitCode;
    if (result.artifactsError) throw result.artifactsError;
  } finally {
    await setup.close();
  }
}
