import { connect, type NatsConnection } from '@nats-io/transport-node';
import { UsageError } from '../errors.js';

export interface QueueAddress {
  /** What the client connects to, credentials included when the URL had them. */
  server: string;
  /** The address as messages show it: scheme, host and port, never a user or password. */
  shown: string;
}

/**
 * Reads `--queue`: `nats://HOST:PORT` (or `tls://`, or bare `HOST:PORT`). A user and password in
 * the URL are passed to the server but never shown.
 */
export function parseQueueURL(value: string): QueueAddress {
  const text = value.trim();
  if (text === '') throw new UsageError('--queue is empty; give the NATS server, e.g. --queue nats://127.0.0.1:4222');
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `nats://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--queue ${JSON.stringify(text)} is not a server address; give one like nats://127.0.0.1:4222`);
  }
  if (!['nats:', 'tls:'].includes(url.protocol)) throw new UsageError(`--queue takes a nats:// or tls:// address, got ${url.protocol}//…; e.g. --queue nats://127.0.0.1:4222`);
  if (!url.hostname) throw new UsageError(`--queue ${JSON.stringify(text)} names no host; give one like nats://127.0.0.1:4222`);
  const port = url.port || '4222';
  return { server: withScheme, shown: `${url.protocol}//${url.hostname}:${port}` };
}

/**
 * Connects to the queue's server. The first connection fails fast with one line saying what to
 * do; once connected, the client reconnects for ever: a restarted server must not end a batch
 * or a worker.
 */
export async function connectQueue(address: QueueAddress, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: address.server,
      name,
      timeout: 5_000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 10_000,
    });
  } catch (error) {
    const reason = (error as Error).message.replace(/\s*\n\s*/g, ' ');
    throw new UsageError(`Cannot reach the NATS server at ${address.shown} (${reason}); start one with: nats-server -js, or check --queue`);
  }
}
