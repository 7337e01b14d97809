import type { Sink } from './sink.js';

/** Keeps events in an array, for tests that assert what a pipeline recorded. */
export class InMemorySink<E> implements Sink<E> {
  readonly events: E[] = [];
  /** True once `close()` was called, so tests can check the CLI closed its sinks. */
  closed = false;

  write(event: E): void {
    this.events.push(event);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
