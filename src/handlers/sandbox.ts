import { integerFlag } from '../run/parseOptions.js';
import { defaultScenario } from '../sandbox/defaultScenario.js';
import { loadScenario } from '../sandbox/scenario.js';
import { startSandboxServer } from '../sandbox/server.js';
import type { CliContext } from '../commands/context.js';
import type { SandboxArgs } from '../commands/sandbox.js';

/** `quorum sandbox`: loaded by src/commands/sandbox.ts when the command runs. */
export async function handler(args: SandboxArgs, ctx: CliContext): Promise<void> {
  const port = integerFlag('--port', args.port, { min: 0 }) ?? 0;
  const scenario = args.scenario ? await loadScenario(args.scenario) : defaultScenario();
  const server = await startSandboxServer({ scenario, port });
  ctx.stdout.write(
    [
      `SANDBOX: ${scenario.models.length} simulated models (not real ones) at ${server.baseURL}`,
      ...scenario.models.map((m) => `  ${m.model}${m.fault ? `  [fault: ${m.fault}]` : ''}`),
      '',
      'Point quorum (or any OpenAI-compatible client) at it:',
      `  OPENROUTER_BASE_URL=${server.baseURL} OPENROUTER_API_KEY=sandbox quorum ask "…" --panel <a panel of these models>`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  ctx.exitCode = 130;
}
