import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { QuorumEvent } from '../events.js';
import type { Sink } from '../sinks/sink.js';
import { eventSubject } from './names.js';

/**
 * CloudEvents on the bus: each event is published as it happens, in the CloudEvents NATS
 * protocol binding's structured mode (the whole event as JSON, `content-type:
 * application/cloudevents+json`), on `quorum.events.<type>`. Core NATS, fire and forget: a
 * watcher sees events live; the run log stays the record.
 */
export function eventBusSink(nc: NatsConnection): Sink<QuorumEvent> {
  const encoder = new TextEncoder();
  return {
    write(event) {
      const headers = natsHeaders();
      headers.set('content-type', 'application/cloudevents+json; charset=utf-8');
      try {
        nc.publish(eventSubject(event.type), encoder.encode(JSON.stringify(event)), { headers });
      } catch {
        // A closed connection: the event is in the run log all the same.
      }
    },
    async flush() {
      await nc.flush().catch(() => undefined);
    },
    async close() {
      await this.flush();
    },
  };
}

/** Both sinks get every event: the run log's and the bus. */
export function teeSink<E>(a: Sink<E>, b: Sink<E>): Sink<E> {
  return {
    write(event) {
      a.write(event);
      b.write(event);
    },
    async flush() {
      await Promise.all([a.flush(), b.flush()]);
    },
    async close() {
      await Promise.all([a.close(), b.close()]);
    },
  };
}
