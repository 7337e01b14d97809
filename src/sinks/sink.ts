/**
 * Where a pipeline's records go. Tapped into a stream, so it must be as small and as safe as
 * OpenTelemetry's `SpanExporter`: `write` is called from `tap()` and never throws (a throw
 * there would end the run); problems surface later from `flush()` or `close()`.
 */
export interface Sink<E> {
  /** Records one event. Never throws; a failure is kept and reported by `flush()`/`close()`. */
  write(event: E): void;
  /** Resolves once everything written so far is durable; rejects with any kept write error. */
  flush(): Promise<void>;
  /** Flushes and releases the sink. Idempotent: the CLI awaits it in `finally`. */
  close(): Promise<void>;
}
