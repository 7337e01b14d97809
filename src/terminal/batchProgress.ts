import type { RunStatus } from '../types.js';

export interface ChunkReport {
  source: string;
  index: number;
  chunkId: string;
  /** A run status, or why the chunk has no fresh consensus. */
  status: RunStatus | 'skipped' | 'already-done' | 'failed';
  claims?: number;
  calls?: number;
  durationMs?: number;
  message?: string;
  /** Failure kinds of this chunk's calls, by model. */
  failures?: { model: string; kind: string }[];
  /** What the chunk's calls used. */
  usage?: { calls: number; inputTokens: number; outputTokens: number; cost: number };
}

export interface BatchTotals {
  chunks: number;
  consensus: number;
  degraded: number;
  quorumLost: number;
  failed: number;
  skippedFiles: number;
  alreadyDone: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
}

export const emptyTotals = (): BatchTotals => ({ chunks: 0, consensus: 0, degraded: 0, quorumLost: 0, failed: 0, skippedFiles: 0, alreadyDone: 0, calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 });

/**
 * The batch's progress: on a TTY one bar redrawn in place (chunks done/total, ETA, calls per
 * minute, failures per model); elsewhere one plain line per chunk, so logs stay greppable.
 */
export class BatchProgress {
  private done = 0;
  private readonly startedAt = Date.now();
  private readonly failuresByModel = new Map<string, Map<string, number>>();
  private calls = 0;
  private drawn = false;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream,
    private readonly tty = Boolean(stream.isTTY),
  ) {}

  chunk(report: ChunkReport): void {
    // A skipped file is not a chunk: it is reported, but the count of chunks does not move.
    if (report.status === 'skipped') {
      this.stream.write(`${this.tty && this.drawn ? '\r\x1b[2K' : ''}${report.message}\n`);
      if (this.tty) this.draw();
      return;
    }
    this.done++;
    this.calls += report.calls ?? 0;
    for (const f of report.failures ?? []) {
      const kinds = this.failuresByModel.get(f.model) ?? new Map<string, number>();
      kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
      this.failuresByModel.set(f.model, kinds);
    }
    if (this.tty) this.draw();
    else this.stream.write(`${this.line(report)}\n`);
  }

  /** Ends the bar's line so later output starts below it. */
  close(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  private line(r: ChunkReport): string {
    const where = `${r.source}#${r.index}`;
    const what =
      r.status === 'skipped'
        ? `skipped (${r.message})`
        : r.status === 'already-done'
          ? 'already decided (resume)'
          : r.status === 'failed'
            ? `failed: ${r.message}`
            : `${r.status}, ${r.claims ?? 0} claim(s)${r.durationMs !== undefined ? ` in ${(r.durationMs / 1000).toFixed(1)} s` : ''}`;
    return `chunk ${this.done}/${this.total} ${where}: ${what}`;
  }

  private draw(): void {
    const width = 24;
    const share = this.total ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(share * width);
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const eta = this.done > 0 && this.done < this.total ? (elapsed / this.done) * (this.total - this.done) : 0;
    const perMinute = elapsed > 0 ? Math.round((this.calls / elapsed) * 60) : 0;
    const failures = [...this.failuresByModel]
      .map(([model, kinds]) => `${model.split('/').pop()} ${[...kinds].map(([k, n]) => `${k}×${n}`).join(',')}`)
      .join('; ');
    const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total} chunks · ETA ${duration(eta)} · ${perMinute} calls/min${failures ? ` · failures: ${failures}` : ''}`;
    const columns = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[2K${text.length > columns ? `${text.slice(0, columns - 1)}…` : text}`);
    this.drawn = true;
  }
}

/** The summary table printed when a batch ends. */
export function formatTotals(t: BatchTotals, wallMs: number): string {
  const rows: [string, string][] = [
    ['chunks', String(t.chunks)],
    ['consensus', String(t.consensus)],
    ['degraded', String(t.degraded)],
    ['quorum lost', String(t.quorumLost)],
    ['failed', String(t.failed)],
    ['already decided', String(t.alreadyDone)],
    ['files skipped', String(t.skippedFiles)],
    ['model calls', String(t.calls)],
    ['tokens in / out', `${t.inputTokens} / ${t.outputTokens}`],
    ['cost', t.cost.toFixed(6)],
    ['wall time', duration(wallMs / 1000)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n')}\n`;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
