import type { Round } from '../pipelines/ask.js';
import type { ModelOutcome, PanelMember } from '../types.js';
import { duration, systemClock, type ViewClock } from './clock.js';
import { cutToWidth, displayWidth, elideMiddle, oneLine, padToWidth, rowsOf } from './width.js';

/** What a run tells the terminal's live view as ports answer; the recorder calls it, the views implement it. */
export interface LiveHooks {
  streaming(port: number, round: Round): void;
  finished(outcome: ModelOutcome, round: Round): void;
  roundStarted?(round: Round): void;
}

/** What the views write to: stderr, or a fake TTY in tests. */
export interface TerminalStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface LiveViewOptions {
  /** Redraw in place (default: the stream's `isTTY`). */
  tty?: boolean;
  clock?: ViewClock;
  /** How often a waiting port's clock ticks, in ms. Default 1000. */
  tickMs?: number;
}

type PortState = 'waiting' | 'streaming' | 'done' | 'failed';

interface PortLine {
  member: PanelMember;
  state: PortState;
  /** `in 812 ms` when done, the failure kind when failed. */
  detail: string;
  /** A failure's message, one line: shown in what room is left after the kind. */
  message?: string;
}

/** One round's lines: the vote round gets its own block below round 1's, which stays on screen. */
export interface Block {
  round: Round;
  lines: Map<number, PortLine>;
  startedAt: number;
}

/** Terminal width assumed when the stream does not say (never the case on a real TTY). */
const DEFAULT_COLUMNS = 80;
/**
 * Room kept for the state column before model ids are elided: "waiting to vote 12m05s" and
 * "failed: rate_limited" fit whole, and at 80 columns so do ids of up to 41 columns.
 */
const STATE_ROOM = 24;
/** Narrowest the model column gets, however narrow the terminal. */
const MIN_MODEL_WIDTH = 12;

/**
 * One live line per port while a run is in flight. On a TTY the current round's block is
 * redrawn in place, every line cut to the terminal's width so none wraps (a wrapped line would
 * throw the cursor-up redraw off); waiting ports show how long they have waited. When the vote
 * round starts, round 1's lines stay as they ended and the vote round's block is drawn below.
 * Elsewhere (pipes, CI logs) each port prints one plain line when it finishes, so logs stay
 * readable and nothing is printed twice.
 */
export class LiveView implements LiveHooks {
  private readonly blocks: Block[] = [];
  private readonly members: readonly PanelMember[];
  private readonly tty: boolean;
  private readonly clock: ViewClock;
  /** Widths of the lines of the current block's last drawing, to know how far up to go. */
  private drawnWidths: number[] = [];
  private lastDrawing = '';
  private stopTicking: (() => void) | undefined;
  private closed = false;

  constructor(
    members: readonly PanelMember[],
    private readonly stream: TerminalStream,
    options: LiveViewOptions = {},
  ) {
    this.members = members;
    this.tty = options.tty ?? Boolean(stream.isTTY);
    this.clock = options.clock ?? systemClock;
    this.blocks.push(newBlock(1, members, this.clock.now()));
    if (!this.tty) return;
    this.stopTicking = this.clock.every(options.tickMs ?? 1000, () => this.draw());
    this.draw();
  }

  /** The vote round asks the round-1 responders again, in a new block below round 1's. */
  roundStarted(round: Round): void {
    const current = this.current();
    if (this.closed || round <= current.round) return;
    // Round 1's block is drawn one last time as it ended, and then left alone.
    this.draw();
    this.drawnWidths = [];
    this.lastDrawing = '';
    const voters = [...current.lines.values()].filter((l) => l.state === 'done').map((l) => l.member);
    this.blocks.push(newBlock(round, voters, this.clock.now()));
    this.draw();
  }

  streaming(port: number, round: Round = this.current().round): void {
    this.update(port, round, 'streaming', '');
  }

  finished(outcome: ModelOutcome, round: Round = this.current().round): void {
    const detail = outcome.ok ? `in ${Math.round(outcome.latencyMs)} ms` : outcome.kind;
    const message = outcome.ok || !outcome.message ? undefined : oneLine(outcome.message);
    const line = this.update(outcome.port, round, outcome.ok ? 'done' : 'failed', detail, message);
    if (line && !this.tty && !this.closed) this.stream.write(`${plainLine(line, round)}\n`);
  }

  /** Leaves the last drawing on screen; later output goes below it. */
  close(): void {
    if (this.closed) return;
    this.draw();
    this.closed = true;
    this.stopTicking?.();
  }

  private current(): Block {
    return this.blocks[this.blocks.length - 1]!;
  }

  private update(port: number, round: Round, state: PortState, detail: string, message?: string): PortLine | undefined {
    if (this.closed) return undefined;
    // A vote-round outcome before the vote round was announced (never in practice) opens its block.
    if (round > this.current().round) this.roundStarted(round);
    const block = this.blocks.find((b) => b.round === round);
    if (!block) return undefined;
    let line = block.lines.get(port);
    if (!line) {
      // A port the block did not expect (never in practice): shown rather than lost.
      const member = this.members.find((m) => m.port === port);
      if (!member) return undefined;
      line = { member, state: 'waiting', detail: '' };
      block.lines.set(port, line);
    }
    line.state = state;
    line.detail = detail;
    line.message = message;
    if (block === this.current()) this.draw();
    return line;
  }

  private draw(): void {
    if (!this.tty || this.closed) return;
    const columns = this.stream.columns || DEFAULT_COLUMNS;
    const lines = blockLines(this.current(), this.members, columns, this.clock.now(), this.stream.rows);
    const drawing = lines.join('\n');
    if (drawing === this.lastDrawing) return;
    // The rows the last drawing takes now: more than its lines if the terminal was narrowed
    // since and wrapped them.
    const up = this.drawnWidths.reduce((rows, w) => rows + rowsOf(w, columns), 0);
    // Back to the block's first row, erase it and everything below, draw it again.
    this.stream.write(`\r${up > 0 ? `\x1b[${up}A` : ''}\x1b[J${drawing}\n`);
    this.drawnWidths = lines.map(displayWidth);
    this.lastDrawing = drawing;
  }
}

function newBlock(round: Round, members: readonly PanelMember[], now: number): Block {
  return { round, startedAt: now, lines: new Map(members.map((member) => [member.port, { member, state: 'waiting', detail: '' }])) };
}

const ICON: Record<PortState, string> = { waiting: '…', streaming: '~', done: '✓', failed: '✗' };

/**
 * A block's lines for a terminal `columns` wide: port and model columns aligned on display
 * width (the model column as wide as the longest id, unless that would squeeze the state, in
 * which case long ids are elided in the middle), each line cut to `columns - 1` so it never
 * reaches the last column and the terminal never wraps it.
 */
export function blockLines(block: Block, members: readonly PanelMember[], columns: number, now: number, rows?: number): string[] {
  const max = Math.max(1, columns - 1);
  const portWidth = Math.max(...members.map((m) => `port ${m.port}`.length));
  const prefixWidth = 2 + 1 + 1 + portWidth + 2;
  const longest = Math.max(0, ...members.map((m) => displayWidth(oneLine(m.model))));
  // As wide as the longest id, but never more than half the line (a wide terminal still shows
  // failure messages) nor so wide that the state column is squeezed.
  const modelWidth = Math.min(longest, Math.floor(max / 2), Math.max(MIN_MODEL_WIDTH, max - prefixWidth - 2 - STATE_ROOM));
  const seconds = duration((now - block.startedAt) / 1000);
  const all = [...block.lines.values()];
  const header = block.round === 2 ? [cutToWidth(`  vote round: ${block.lines.size} responder(s) vote on the candidate claims`, max)] : [];
  // The cursor cannot go above the screen's top row: a block taller than the screen could not
  // be redrawn, so the ports past what fits are summed up in one line.
  const room = rows && rows > 2 ? rows - 1 - header.length : Infinity;
  const shown = all.length > room ? all.slice(0, Math.max(0, room - 1)) : all;
  const lines = shown.map((line) => {
    const model = padToWidth(elideMiddle(oneLine(line.member.model), modelWidth), modelWidth);
    const start = `  ${ICON[line.state]} ${`port ${line.member.port}`.padEnd(portWidth)}  ${model}  `;
    // Under the vote round's heading a failure need not say it was a vote.
    const state = stateText(line, block.round, seconds, true);
    // A failure's message gets the room left after its kind, so the kind is never what is cut.
    const room = max - displayWidth(start) - displayWidth(state) - 1;
    const message = line.message && room >= 6 ? ` ${cutToWidth(`(${line.message})`, room)}` : '';
    return cutToWidth(start + state + message, max);
  });
  if (shown.length < all.length) lines.push(cutToWidth(`  … ${all.length - shown.length} more port(s): ${tally(all.slice(shown.length))}`, max));
  return [...header, ...lines];
}

function tally(lines: PortLine[]): string {
  const counts = new Map<PortState, number>();
  for (const l of lines) counts.set(l.state, (counts.get(l.state) ?? 0) + 1);
  return (['done', 'failed', 'streaming', 'waiting'] as const)
    .filter((s) => counts.has(s))
    .map((s) => `${counts.get(s)} ${s}`)
    .join(', ');
}

function stateText({ state, detail }: PortLine, round: Round, seconds: string, underHeading = false): string {
  if (state === 'done') return `${round === 2 ? 'voted' : 'done'} ${detail}`;
  if (state === 'failed') return `failed${round === 2 && !underHeading ? ' to vote' : ''}: ${detail}`;
  if (state === 'streaming') return `${round === 2 ? 'voting' : 'streaming'} ${seconds}`;
  return `${round === 2 ? 'waiting to vote' : 'waiting'} ${seconds}`;
}

/** The line a port prints when it finishes, off a TTY: as before this view was redrawn. */
function plainLine(line: PortLine, round: Round): string {
  const message = line.message ? ` (${cutToWidth(line.message, 60)})` : '';
  return `  ${ICON[line.state]} port ${line.member.port}  ${oneLine(line.member.model).padEnd(44)} ${stateText(line, round, '')}${message}`;
}
