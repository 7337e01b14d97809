import type { Round } from '../pipelines/ask.js';
import type { LiveHooks } from '../run/recorder.js';
import type { ModelOutcome, PanelMember } from '../types.js';

interface PortLine {
  member: PanelMember;
  state: 'waiting' | 'streaming' | 'done' | 'failed';
  detail: string;
  round: Round;
}

/**
 * One live line per port while a run is in flight. On a TTY the block is redrawn in place;
 * elsewhere (pipes, CI logs) each port prints one plain line when it finishes, so logs stay
 * readable and nothing is printed twice.
 */
export class LiveView implements LiveHooks {
  private readonly lines = new Map<number, PortLine>();
  private drawn = 0;
  private closed = false;

  constructor(
    members: readonly PanelMember[],
    private readonly stream: NodeJS.WriteStream,
    private readonly tty = Boolean(stream.isTTY),
  ) {
    for (const member of members) this.lines.set(member.port, { member, state: 'waiting', detail: '', round: 1 });
    this.draw();
  }

  /** The vote round asks the round-1 responders again: their lines start over. */
  roundStarted(round: Round): void {
    for (const line of this.lines.values()) {
      if (line.state === 'done') Object.assign(line, { state: 'waiting', detail: '', round });
    }
    this.draw();
  }

  streaming(port: number): void {
    this.update(port, 'streaming', '');
  }

  finished(outcome: ModelOutcome): void {
    const detail = outcome.ok ? `in ${Math.round(outcome.latencyMs)} ms` : `${outcome.kind}${outcome.message ? ` (${truncate(outcome.message, 60)})` : ''}`;
    this.update(outcome.port, outcome.ok ? 'done' : 'failed', detail);
    if (!this.tty) this.stream.write(`${formatLine(this.lines.get(outcome.port)!)}\n`);
  }

  /** Leaves the last drawing on screen; later output goes below it. */
  close(): void {
    this.closed = true;
  }

  private update(port: number, state: PortLine['state'], detail: string): void {
    const line = this.lines.get(port);
    if (!line || this.closed) return;
    line.state = state;
    line.detail = detail;
    this.draw();
  }

  private draw(): void {
    if (!this.tty || this.closed) return;
    const text = [...this.lines.values()].map(formatLine);
    // Move up over the previous drawing, then clear each line as it is rewritten.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.stream.write(up + text.map((t) => `\x1b[2K${t}`).join('\n') + '\n');
    this.drawn = text.length;
  }
}

const ICON: Record<PortLine['state'], string> = { waiting: '…', streaming: '~', done: '✓', failed: '✗' };

function formatLine({ member, state, detail, round }: PortLine): string {
  const done = round === 2 ? 'voted' : 'done';
  const waiting = round === 2 ? (state === 'streaming' ? 'voting' : 'waiting to vote') : state;
  const what = state === 'done' ? `${done} ${detail}` : state === 'failed' ? `failed${round === 2 ? ' to vote' : ''}: ${detail}` : waiting;
  return `  ${ICON[state]} port ${member.port}  ${member.model.padEnd(44)} ${what}`;
}

function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
