import { Writable } from 'node:stream';
import stringWidth from 'string-width';
import type { ViewClock } from '../../src/terminal/clock.js';

/**
 * A terminal for the view tests: a real Writable that says it is a TTY `columns` wide and
 * `rows` tall, records every write, and plays them on a simulated screen the way xterm does:
 * characters take their display width, a line longer than the screen wraps onto the next row
 * (after the last column the cursor waits, and the next character wraps), `\n` goes to the
 * next row's start (the TTY driver's onlcr), `\r`, cursor up (clamped at the screen's top row:
 * scrolled-off rows cannot be reached), erase line, erase below. Any other control sequence
 * fails the test: a view must emit only what is interpreted here.
 */
export class FakeTty extends Writable {
  readonly isTTY = true;
  readonly writes: string[] = [];
  /** Every row written so far, scrolled-off ones included; cells hold one grapheme each ('' after a wide one). */
  private readonly buffer: string[][] = [[]];
  private row = 0;
  private col = 0;
  private pendingWrap = false;

  constructor(
    public columns: number,
    public rows = 40,
  ) {
    super({ decodeStrings: false });
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const text = String(chunk);
    this.writes.push(text);
    try {
      this.play(text);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  /**
   * The window made `columns` wide, as tmux and most terminals do it: every row longer than
   * that is rewrapped onto as many rows as it now needs (the cursor stays on its row's start).
   */
  resize(columns: number): void {
    const rows: string[][] = [];
    let cursorRow = 0;
    this.buffer.forEach((cells, i) => {
      if (i === this.row) cursorRow = rows.length + Math.floor(this.col / columns);
      if (cells.length === 0) rows.push([]);
      for (let k = 0; k < cells.length; k += columns) rows.push(cells.slice(k, k + columns));
    });
    this.buffer.splice(0, this.buffer.length, ...rows);
    this.row = cursorRow;
    this.col %= columns;
    this.columns = columns;
    this.pendingWrap = false;
  }

  /** The screen as text: each row trimmed at its end, trailing empty rows dropped. */
  screen(): string[] {
    const rows = this.buffer.map((cells) => cells.join('').replace(/\s+$/, ''));
    while (rows.length && rows[rows.length - 1] === '') rows.pop();
    return rows;
  }

  /** Display width of every row on the screen. */
  widths(): number[] {
    return this.screen().map((r) => stringWidth(r));
  }

  private play(text: string): void {
    const graphemes = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((s) => s.segment);
    for (let i = 0; i < graphemes.length; i++) {
      const g = graphemes[i]!;
      if (g === '\x1b') {
        let seq = '';
        while (i + 1 < graphemes.length && !/[A-Za-z]/.test(seq.slice(-1))) seq += graphemes[++i];
        this.escape(seq);
      } else if (g === '\n' || g === '\r\n') {
        this.newline();
      } else if (g === '\r') {
        this.col = 0;
        this.pendingWrap = false;
      // eslint-disable-next-line no-control-regex -- an unexpected control character is what it rejects
      } else if (/[\u0000-\u001f\u007f]/.test(g)) {
        throw new Error(`unexpected control character ${JSON.stringify(g)} in ${JSON.stringify(text)}`);
      } else {
        this.put(g);
      }
    }
  }

  private escape(seq: string): void {
    const m = /^\[(\d*)([AKJ])$/.exec(seq);
    if (!m) throw new Error(`unexpected escape sequence ESC${seq}`);
    const n = m[1] === '' ? undefined : Number(m[1]);
    this.pendingWrap = false;
    if (m[2] === 'A') this.row = Math.max(this.top(), this.row - (n ?? 1));
    else if (m[2] === 'K') {
      if (n === 2) this.line().length = 0;
      else if (n === undefined || n === 0) this.line().length = Math.min(this.line().length, this.col);
      else throw new Error(`unexpected ESC[${n}K`);
    } else {
      if (n !== undefined && n !== 0) throw new Error(`unexpected ESC[${n}J`);
      this.line().length = Math.min(this.line().length, this.col);
      this.buffer.length = this.row + 1;
    }
  }

  /** The first row still on screen: the cursor cannot go above it. */
  private top(): number {
    return Math.max(0, this.buffer.length - this.rows);
  }

  private line(): string[] {
    return (this.buffer[this.row] ??= []);
  }

  private newline(): void {
    this.row++;
    this.col = 0;
    this.pendingWrap = false;
    this.line();
  }

  private put(g: string): void {
    const w = stringWidth(g);
    if (this.pendingWrap || this.col + w > this.columns) this.newline();
    const line = this.line();
    while (line.length < this.col) line.push(' ');
    line[this.col] = g;
    for (let k = 1; k < w; k++) line[this.col + k] = '';
    this.col += w;
    if (this.col >= this.columns) {
      this.col = this.columns - 1;
      this.pendingWrap = true;
    }
  }
}

/** A clock moved by hand: `advance` runs every timer due on the way, in order. */
export class FakeClock implements ViewClock {
  private t = 0;
  private readonly timers = new Set<{ ms: number; next: number; tick: () => void }>();

  now(): number {
    return this.t;
  }

  every(ms: number, tick: () => void): () => void {
    const timer = { ms, next: this.t + ms, tick };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter((x) => x.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.t = due.next;
      due.next += due.ms;
      due.tick();
    }
    this.t = end;
  }
}
