import type { ChunkReport, ModelOutcome } from '../types.js';
import type { BatchActivity } from './batchActivity.js';
import { systemClock, type ViewClock } from './clock.js';
import type { TerminalStream } from './liveView.js';
import { etaSeconds, progressLine, type ProgressState } from './progressLine.js';
import { displayWidth, rowsOf } from './width.js';

export interface BatchProgressOptions {
  /** Redraw in place (default: the stream's `isTTY`). */
  tty?: boolean;
  clock?: ViewClock;
  /** Chunks decided before this process started (a resume): counted as done, never as this process's pace. */
  alreadyDone?: number;
  /** How often the line is redrawn while nothing happens (ETA countdown), in ms. Default 1000. */
  tickMs?: number;
  /** A queued batch: workers make the calls, so the line shows no calls in flight or answers. */
  queued?: boolean;
}

/**
 * The batch's progress: on a TTY one line redrawn in place from the moment the batch starts
 * (chunks done/total, calls in flight, answers so far, failures, an ETA from this process's
 * own pace), cut to the terminal's width; elsewhere one plain line per chunk, so logs stay
 * greppable. Which models failed is the end summary's: the line only counts.
 */
export class BatchProgress implements BatchActivity {
  private readonly tty: boolean;
  private readonly clock: ViewClock;
  private readonly startedAt: number;
  private readonly alreadyDone: number;
  /** Chunks reported so far, resumed ones included: the plain lines' numbering. */
  private reported = 0;
  /** `already-done` reports seen: on a resume they confirm `alreadyDone`. */
  private resumedSeen = 0;
  /** Chunks this process decided (or failed): its pace. */
  private ownDone = 0;
  private lastDoneAt: number;
  private calls = 0;
  private inFlight = 0;
  private answers = 0;
  private failures = 0;
  private drawn = false;
  private lastLine = '';
  private stopTicking: (() => void) | undefined;
  /** Workers make the calls (`--queue`): this process cannot count them in flight. */
  private readonly queued: boolean;

  constructor(
    private readonly total: number,
    private readonly stream: TerminalStream,
    options: BatchProgressOptions = {},
  ) {
    this.tty = options.tty ?? Boolean(stream.isTTY);
    this.clock = options.clock ?? systemClock;
    this.alreadyDone = options.alreadyDone ?? 0;
    this.queued = Boolean(options.queued);
    this.startedAt = this.clock.now();
    this.lastDoneAt = this.startedAt;
    if (!this.tty) return;
    this.stopTicking = this.clock.every(options.tickMs ?? 1000, () => this.draw());
    this.draw();
  }

  chunk(report: ChunkReport): void {
    // A skipped file is not a chunk: it is reported, but the count of chunks does not move.
    if (report.status === 'skipped') {
      this.stream.write(`${this.tty ? this.erase() : ''}${report.message}\n`);
      this.drawn = false;
      if (this.tty) this.draw();
      return;
    }
    this.reported++;
    if (report.status === 'already-done') this.resumedSeen++;
    else {
      this.ownDone++;
      this.lastDoneAt = this.clock.now();
    }
    this.calls += report.calls ?? 0;
    this.failures += report.failures?.length ?? 0;
    if (this.tty) this.draw();
    else this.stream.write(`${this.line(report)}\n`);
  }

  callStarted(): void {
    this.inFlight++;
    this.draw();
  }

  callEnded(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.draw();
  }

  streaming(): void {}

  finished(outcome: ModelOutcome): void {
    if (!outcome.ok) return;
    this.answers++;
    this.draw();
  }

  /** Ends the line so later output starts below it. */
  close(): void {
    this.stopTicking?.();
    this.stopTicking = undefined;
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  /** What the line shows now. */
  state(): ProgressState {
    const now = this.clock.now();
    const done = Math.max(this.alreadyDone, this.resumedSeen) + this.ownDone;
    const minutes = (now - this.startedAt) / 60_000;
    return {
      total: this.total,
      done,
      inFlight: this.queued ? undefined : this.inFlight,
      answers: this.queued ? undefined : this.answers,
      failures: this.failures,
      etaSeconds: etaSeconds({ remaining: this.total - done, ownDone: this.ownDone, startedAt: this.startedAt, lastDoneAt: this.lastDoneAt, now }),
      callsPerMinute: this.ownDone > 0 && minutes > 0 ? this.calls / minutes : undefined,
    };
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
    return `chunk ${this.reported}/${this.total} ${where}: ${what}`;
  }

  /**
   * Back to the start of the line drawn last, erasing it: one row, unless the terminal was
   * narrowed since and rewrapped it onto more.
   */
  private erase(): string {
    if (!this.drawn) return '\r\x1b[2K';
    const up = rowsOf(displayWidth(this.lastLine), this.stream.columns || 80) - 1;
    return up > 0 ? `\r\x1b[${up}A\x1b[J` : '\r\x1b[2K';
  }

  private draw(): void {
    if (!this.tty || !this.stopTicking) return;
    const text = progressLine(this.state(), this.stream.columns || 80);
    if (this.drawn && text === this.lastLine) return;
    this.stream.write(`${this.erase()}${text}`);
    this.lastLine = text;
    this.drawn = true;
  }
}
