import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** nats-server from Debian's package (`apt-get install nats-server`, in /usr/sbin: not on every user's PATH), or NATS_SERVER. */
export const natsServerBinary = process.env.NATS_SERVER ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

/** Why the NATS tests cannot run here, or undefined when nats-server is installed. */
export const natsSkipReason: string | undefined = (() => {
  const probe = spawnSync(natsServerBinary, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'nats-server is not installed (apt-get install nats-server); CI installs it';
  return undefined;
})();

export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The JetStream store: kept across `restart()`, removed by `stop()`. */
  storeDir: string;
  /** Stops the server (SIGTERM, then waits for it to exit) and starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Stops the server and removes its store. */
  stop(): Promise<void>;
  /** The running server's process id (a benchmark reads its CPU time from /proc). */
  readonly pid: number | undefined;
}

export interface NatsServerOptions {
  /** The server's `max_payload` in bytes (default: nats-server's 1 MiB). */
  maxPayload?: number;
}

/** A loopback port free a moment ago; nothing listens on it now (a server that cannot be reached, or one to start). */
export async function closedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** Resolves once the server logs that it is ready for clients; rejects with its output if it exits first. */
function launch(port: number, storeDir: string, o: NatsServerOptions): Promise<ChildProcess> {
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, '--http_port', '0'];
  // max_payload has no command-line flag: a config file holds it, the flags the rest.
  if (o.maxPayload !== undefined) {
    const config = join(storeDir, 'nats.conf');
    writeFileSync(config, `max_payload: ${o.maxPayload}\n`);
    args.push('-c', config);
  }
  const child = spawn(natsServerBinary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        child.stderr!.off('data', onData);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        resolveReady(child);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`));
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

/** One nats-server with JetStream for one test: a free loopback port and a temporary store. */
export async function startNatsServer(o: NatsServerOptions = {}): Promise<NatsServer> {
  const storeDir = mkdtempSync(join(tmpdir(), 'quorum-nats-'));
  const port = await closedPort();
  let child = await launch(port, storeDir, o);
  const stopChild = async () => {
    const gone = exited(child);
    child.kill('SIGTERM');
    await gone;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async restart() {
      await stopChild();
      child = await launch(port, storeDir, o);
    },
    get pid() {
      return child.pid;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) await stopChild();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
