import { UsageError } from '../errors.js';
import { integerFlag } from '../run/parseOptions.js';
import { defaultScenario } from '../sandbox/defaultScenario.js';
import { loadScenario } from '../sandbox/scenario.js';
import { startSandboxServer } from '../sandbox/server.js';
import type { CliContext } from '../commands/context.js';
import type { SandboxArgs } from '../commands/sandbox.js';
import { quorumCommand, shellWord } from '../render/invocation.js';

/** `quorum sandbox`: loaded by src/commands/sandbox.ts when the command runs. */
export async function handler(args: SandboxArgs, ctx: CliContext): Promise<void> {
  const port = integerFlag('--port', args.port, { min: 0 }) ?? 0;
  if (port > 65535) throw new UsageError(`--port ${port} is out of range: a TCP port is 0–65535 (0, or no --port, picks a free one)`);
  const scenario = args.scenario ? await loadScenario(args.scenario) : defaultScenario();
  const server = await startSandboxServer({ scenario, port }).catch((error: unknown) => {
    throw listenError(error, port);
  });
  ctx.stdout.write(
    [
      `SANDBOX: ${scenario.models.length} simulated models (not real ones) at ${server.baseURL}`,
      ...scenario.models.map((m) => `  ${m.model}${m.fault ? `  [fault: ${m.fault}]` : ''}`),
      '',
      'Point quorum (or any OpenAI-compatible client) at it; from another terminal, a panel of these models and a question:',
      `  echo ${shellWord(JSON.stringify({ baseURL: server.baseURL, members: scenario.models.map((m) => ({ model: m.model })) }))} > sandbox-panel.json`,
      `  OPENROUTER_API_KEY=sandbox ${quorumCommand('ask', 'What is Raft?', '--panel', 'sandbox-panel.json')}`,
      `(or, with no server to start: ${quorumCommand('ask', 'What is Raft?', '--sandbox')})`,
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

/** Why the sandbox could not listen, as one line; an unexpected error stays as it is (a bug). */
function listenError(error: unknown, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') return new UsageError(`Port ${port} on 127.0.0.1 is in use; give another --port, or none for a free one`);
  if (code === 'EACCES') return new UsageError(`Port ${port} on 127.0.0.1 is not allowed for this user (ports below 1024 need privileges); give another --port, or none for a free one`);
  if (code === 'EADDRNOTAVAIL') return new UsageError(`Cannot listen on 127.0.0.1:${port}: the address is not available`);
  return error;
}
