import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from './context.js';
import { numberOptions } from './flags.js';

export interface WorkerArgs {
  queue?: string;
  panel?: string;
  sandbox: boolean;
  concurrency?: string;
  'ack-wait'?: string;
  'max-deliver'?: string;
  rpm?: string;
  'model-rpm'?: string;
}

export function workerCommand(ctx: CliContext): CommandModule<object, WorkerArgs> {
  return {
    command: 'worker',
    describe: 'Decide chunks of queued batches (batch --queue) with your own keys, until Ctrl-C',
    builder: (y: Argv) =>
      numberOptions(
        y
          .option('queue', { type: 'string', describe: 'NATS server with JetStream (nats://HOST:4222), the one the batch was given' })
          .option('panel', { type: 'string', describe: "Panel file for this worker's endpoints; it must seat the batch's models (default: the batch's panel)" })
          .option('sandbox', { type: 'boolean', default: false, describe: 'Simulated models: take only tasks of --sandbox batches' }),
        {
          concurrency: { describe: 'Tasks (chunks) decided at once by this worker (default 2)' },
          'ack-wait': { describe: 'Seconds a task stays with a worker that stopped sending heartbeats before it goes to another (default 30; applies to every worker)' },
          'max-deliver': { describe: 'Deliveries of one task before its chunk is recorded as failed (default 5; applies to every worker)' },
          rpm: { describe: 'Requests per minute for the whole account, shared by every worker using the same key (default: 20 for OpenRouter :free models, else learned)' },
          'model-rpm': { describe: 'Requests per minute for each model' },
        },
      )
        .example('$0 worker --queue nats://127.0.0.1:4222', "decide queued chunks with this machine's OPENROUTER_API_KEY")
        .example('$0 worker --queue nats://127.0.0.1:4222 --sandbox', 'decide the chunks of --sandbox batches, offline') as unknown as Argv<WorkerArgs>,
    handler: async (args) => (await import('../handlers/worker.js')).handler(args, ctx),
  };
}
