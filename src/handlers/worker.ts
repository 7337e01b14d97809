import { UsageError } from '../errors.js';
import type { WorkerArgs } from '../commands/worker.js';
import type { CliContext } from '../commands/context.js';
import { loadPanel } from '../panel/loadPanel.js';
import { parseQueueURL } from '../queue/connection.js';
import { quorumCommand } from '../render/invocation.js';
import { integerFlag } from '../run/parseOptions.js';
import { runWorker, type WorkerEvent } from '../run/runWorker.js';
import { startSandboxPanel } from '../run/sandboxPanel.js';

/** `quorum worker`: loaded by src/commands/worker.ts when the command runs. */
export async function handler(args: WorkerArgs, ctx: CliContext): Promise<void> {
  if (args.queue === undefined) throw new UsageError(`Give the NATS server to take tasks from, e.g. ${quorumCommand('worker', '--queue', 'nats://127.0.0.1:4222')}`);
  const queue = parseQueueURL(args.queue);
  const concurrency = integerFlag('--concurrency', args.concurrency, { min: 1, example: 2 });
  const ackWaitS = integerFlag('--ack-wait', args['ack-wait'], { min: 1, example: 30 });
  const maxDeliver = integerFlag('--max-deliver', args['max-deliver'], { min: 1, example: 5 });
  const rpm = integerFlag('--rpm', args.rpm, { min: 1, example: 20 });
  const modelRpm = integerFlag('--model-rpm', args['model-rpm'], { min: 1, example: 10 });
  if (args.sandbox && args.panel) throw new UsageError('--sandbox runs its own simulated panel; drop --panel, or drop --sandbox to use your panel');
  const panel = args.panel ? loadPanel(args.panel, ctx.env) : undefined;
  const sandbox = args.sandbox ? await startSandboxPanel() : undefined;
  try {
    if (sandbox) ctx.stderr.write('SANDBOX: simulated models; this worker takes only tasks of --sandbox batches.\n');
    const result = await runWorker({
      queue,
      env: ctx.env,
      signal: ctx.signal,
      ...((panel ?? sandbox) && { panel: panel ?? sandbox!.panel }),
      ...(sandbox && { sandbox: true, sandboxEnv: sandbox.env }),
      ...(concurrency !== undefined && { concurrency }),
      ...(ackWaitS !== undefined && { ackWaitMs: ackWaitS * 1000 }),
      ...(maxDeliver !== undefined && { maxDeliver }),
      ...(rpm !== undefined && { rpm }),
      ...(modelRpm !== undefined && { modelRpm }),
      onEvent: (event) => ctx.stderr.write(`${describe(event, queue.shown)}\n`),
    });
    ctx.stderr.write(`Worker ${result.worker} stopped (${result.reason === 'quota' ? 'the account quota is spent' : 'interrupted'}): ${result.decided} chunk(s) decided, ${result.gaveUp} given up.\n`);
    ctx.exitCode = result.reason === 'quota' ? 1 : 130;
  } finally {
    await sandbox?.close();
  }
}

/** One line per thing the worker did: enough to follow it in a terminal or a service log. */
function describe(e: WorkerEvent, server: string): string {
  switch (e.type) {
    case 'ready':
      return `Worker ${e.worker} taking tasks from ${server} (${e.concurrency} at once; a task goes back after ${Math.round(e.ackWaitMs / 1000)} s without heartbeat, given up after ${e.maxDeliver} deliveries). Ctrl-C to stop.`;
    case 'decided':
      return `decided ${e.batchId} ${e.source} [${e.chunkId}]: ${e.status}, ${e.claims} claim(s), ${(e.ms / 1000).toFixed(1)} s${e.delivery > 1 ? ` (delivery ${e.delivery})` : ''}`;
    case 'retry':
      return `retrying later ${e.batchId} [${e.chunkId}] (delivery ${e.delivery}): ${e.message}`;
    case 'gave-up':
      return `gave up ${e.batchId} [${e.chunkId}] after ${e.delivery} deliveries: ${e.message}`;
    case 'refused':
      return `refused${e.batchId ? ` batch ${e.batchId}` : ''}: ${e.reason}`;
    case 'draining':
      return `Stopping: taking no more tasks; ${e.inFlight} in progress will finish (Ctrl-C again to quit now: they go back to the queue after the ack wait).`;
    case 'disconnected':
      return `Lost the connection to ${server}; reconnecting…`;
    case 'reconnected':
      return `Reconnected to ${server}.`;
    case 'warning':
      return e.message;
    case 'stopped':
      return `Stopping: ${e.reason}`;
  }
}
