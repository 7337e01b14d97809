import { UsageError } from '../errors.js';
import { plannedCalls, quotaWarningFor } from '../panel/quota.js';
import { prepareOutFolder } from '../run/outFolder.js';
import { runAsk } from '../run/runAsk.js';
import { runQuorum } from '../run/validateRun.js';
import { LiveView } from '../terminal/liveView.js';
import { formatResult } from '../terminal/printResult.js';
import type { AskArgs } from '../commands/ask.js';
import type { CliContext } from '../commands/context.js';
import { setUpRun } from './panelSetup.js';
import { readContexts, readQuestion } from './question.js';

/** `quorum ask`: loaded by src/commands/ask.ts when the command runs. */
export async function handler(args: AskArgs, ctx: CliContext): Promise<void> {
  const chairFlag = args.chair !== undefined ? String(args.chair).trim() : undefined;
  if (chairFlag === '') throw new UsageError('--chair needs a model id, e.g. --chair openai/gpt-4o-mini (or drop it: the member that agrees most chairs)');
  const { query, legacyChair } = await readQuestion(
    { words: args.query ?? [], argv: ctx.argv ?? [], ...(args['query-file'] !== undefined && { file: String(args['query-file']) }) },
    ctx.stdin,
  );
  if (legacyChair !== undefined && chairFlag !== undefined && legacyChair !== chairFlag) {
    throw new UsageError(`Two chairs named: --synthesize ${legacyChair} and --chair ${chairFlag}; keep one`);
  }
  const chair = chairFlag ?? legacyChair;
  // --chair alone means "synthesize with this chair".
  const synthesize = args.synthesize || chair !== undefined ? (chair !== undefined ? { model: chair } : {}) : undefined;
  const context = readContexts(args.context);
  const setup = await setUpRun(args, ctx);
  const { panel, env, sandbox, rounds } = setup;
  try {
    // Validated before the SANDBOX banner, so a bad --quorum reads as the only line, not after a banner.
    runQuorum(setup.quorum, panel);
    prepareOutFolder(args.out);
    if (!sandbox) {
      const planned = plannedCalls(panel, { rounds, synthesize: synthesize !== undefined });
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
      ...(synthesize !== undefined && { synthesize }),
      env,
      sandbox: Boolean(sandbox),
      signal: ctx.signal,
      live,
    }).finally(() => live?.close()); // a view left ticking would redraw over the error printed next
    if (result.exitCode === 130) {
      ctx.stderr.write(`Interrupted: run ${result.runId} cancelled; no consensus was written.\n`);
    } else if (result.doc) {
      const columns = (ctx.stdout as NodeJS.WriteStream).columns;
      ctx.stdout.write(args.json ? `${JSON.stringify(result.doc, null, 2)}\n` : formatResult(result.doc, result.runDir, columns || 80));
    }
    ctx.exitCode = result.exitCode;
    if (result.artifactsError) throw result.artifactsError;
  } finally {
    await setup.close();
  }
}
