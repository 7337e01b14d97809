import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * A span exporter whose real exporter is loaded on first use. The OTLP exporter pulls in a large
 * module graph (transformer, metrics SDK); loading it only when spans are exported keeps it off
 * the start-up of every command.
 */
export class LazyExporter implements SpanExporter {
  private loaded: Promise<SpanExporter> | undefined;

  constructor(private readonly load: () => Promise<SpanExporter>) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.exporter().then(
      (exporter) => exporter.export(spans, resultCallback),
      (error: unknown) => resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  async shutdown(): Promise<void> {
    // Never loaded means never used: nothing to shut down.
    if (this.loaded) await (await this.loaded).shutdown();
  }

  async forceFlush(): Promise<void> {
    if (this.loaded) await (await this.loaded).forceFlush?.();
  }

  private exporter(): Promise<SpanExporter> {
    this.loaded ??= this.load();
    return this.loaded;
  }
}
