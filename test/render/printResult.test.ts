import { describe, expect, it } from 'vitest';
import { formatResult } from '../../src/terminal/printResult.js';
import type { ConsensusDocument } from '../../src/types.js';

const doc = (over: Partial<ConsensusDocument> = {}): ConsensusDocument => ({
  runId: 'run-1',
  query: 'q',
  chunk: null,
  startedAt: '2025-03-01T12:00:00.000Z',
  finishedAt: '2025-03-01T12:00:01.000Z',
  sandbox: false,
  status: 'consensus',
  quorum: { configured: 2, required: 2, responders: 3, panel: 3, minResponders: 2 },
  claims: [{ text: 'The protocol uses port 8080 by default.', support: 3, ports: [0, 1, 2] }],
  dissent: [],
  failures: [],
  agreement: [],
  ...over,
});

describe('formatResult: an answer cut at the output limit (issue 11, row 10)', () => {
  it('names the cut port in the terminal summary', () => {
    expect(formatResult(doc({ truncated: [2] }), '/tmp/x')).toContain(
      'Truncated: the answer of port 2 was cut at the model\'s output limit (finish_reason "length") or at quorum\'s answer size cap; its last, unfinished claim was dropped.',
    );
    expect(formatResult(doc(), '/tmp/x')).not.toContain('Truncated');
  });
});

describe("formatResult: the chair's answer (issue 12, item 10)", () => {
  const answer = 'The protocol listens on port 8080 by default [c1], every message it sends carries a sequence number so that replays can be detected [c2], and an idle connection is closed after thirty seconds of silence [c3].';

  it('wraps a long paragraph to the terminal width with its indent, losing no word', () => {
    for (const columns of [80, 120]) {
      const text = formatResult(doc({ synthesis: { model: 'chair/model', text: `${answer}\n\nA second paragraph.` } }), '/tmp/x', columns);
      const start = text.indexOf('Answer (by the chair');
      const body = text.slice(start).split('\n').slice(1, text.slice(start).split('\n').indexOf('', 1));
      expect(body.length, `${columns}`).toBeGreaterThan(1);
      for (const line of body) {
        expect(line.length, line).toBeLessThanOrEqual(columns);
        expect(line.startsWith('  '), line).toBe(true);
      }
      expect(body.join(' ').replace(/\s+/g, ' ').trim()).toBe(`${answer} A second paragraph.`);
    }
  });
});
