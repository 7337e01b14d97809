import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach } from 'vitest';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import { panelScenario, startCli } from './cli.js';
import { type NatsServer, type NatsServerOptions, startNatsServer } from './natsServer.js';

/**
 * What the queue tests start, each stopped after its test, last started first (workers and
 * clients before the servers they talk to). Call once at a test file's top level.
 */
export function queueKit() {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    /** Runs at the end of the current test (before what was started earlier). */
    cleanups,
    async nats(o: NatsServerOptions = {}): Promise<NatsServer> {
      const server = await startNatsServer(o);
      cleanups.push(() => server.stop());
      return server;
    },
    async sandbox(scenario = panelScenario()): Promise<SandboxServer> {
      const server = await startSandboxServer({ scenario });
      cleanups.push(() => server.close());
      return server;
    },
    /** A CLI command in-process (startCli), interrupted (Ctrl-C) at the end of the test if still running. */
    started(args: string[], env: NodeJS.ProcessEnv = {}) {
      const c = startCli(args, env);
      let finished = false;
      let stopping: ReturnType<typeof c.stop> | undefined;
      void c.done.then(() => (finished = true));
      const stop = () => (stopping ??= c.stop());
      cleanups.push(() => (finished ? undefined : stop()));
      return { ...c, stop };
    },
    async client(url: string): Promise<NatsConnection> {
      const nc = await connect({ servers: url });
      cleanups.push(() => nc.close());
      return nc;
    },
  };
}

/** A folder of `n` small files: one chunk each, so a test knows the chunk count. */
export function inputs(dir: string, n: number): string {
  const root = join(dir, 'specs');
  mkdirSync(root, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(root, `part-${i}.md`), `Part ${i} of the protocol: the server listens on port 8080 and closes idle connections.\n`);
  return root;
}
