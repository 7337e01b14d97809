import { describe, expect, it } from 'vitest';
import { blackboardSignal, MAX_MSG_CHARS } from '../../src/sinks/blackboard.js';

describe('blackboardSignal', () => {
  const identity = { hive: 'research', gen: 3, port: 7 };

  it('makes a signal line with the run status as its mark and consensus.md as its pull', () => {
    expect(
      blackboardSignal({
        status: 'degraded',
        consensusMdPath: 'artifacts/runs/r1/consensus.md',
        summary: '5 claims; 6 of 8 answered',
        identity,
        now: new Date('2025-03-01T12:00:00Z'),
      }),
    ).toEqual({
      ts: '2025-03-01T12:00:00.000Z',
      mark: 'degraded',
      pull: 'artifacts/runs/r1/consensus.md',
      msg: '5 claims; 6 of 8 answered',
      type: 'signal',
      hive: 'research',
      gen: 3,
      port: 7,
    });
  });

  it('keeps the message on one short line', () => {
    const s = blackboardSignal({
      status: 'consensus',
      consensusMdPath: 'x.md',
      summary: `first line\n\tsecond ${'🙂'.repeat(400)}`,
      identity,
    });
    expect(s.msg).not.toMatch(/\n|\t/);
    expect(s.msg.startsWith('first line second 🙂')).toBe(true);
    expect(Array.from(s.msg)).toHaveLength(MAX_MSG_CHARS);
    expect(s.msg.endsWith('🙂…')).toBe(true);
    expect(Number.isNaN(Date.parse(s.ts))).toBe(false);
  });
});
