import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { isLoopbackURL } from '../../src/panel/keyPolicy.js';
import { EMPTY_QUERY, requireQuery, runQuorum } from '../../src/run/validateRun.js';

const panelOf = (n: number, quorum?: number) => ({ members: Array.from({ length: n }, () => ({})) as never[], ...(quorum !== undefined && { quorum }) });

describe('requireQuery', () => {
  it('trims the question and refuses one left blank, with the one message', () => {
    expect(requireQuery('  What is Raft?\n')).toBe('What is Raft?');
    for (const blank of ['', '   ', '\n\t ']) expect(() => requireQuery(blank)).toThrow(new UsageError(EMPTY_QUERY));
  });
});

describe('runQuorum', () => {
  it('takes --quorum, else the panel file, else ceil(0.75·N)', () => {
    expect(runQuorum(3, panelOf(8, 7))).toBe(3);
    expect(runQuorum(undefined, panelOf(8, 7))).toBe(7);
    expect(runQuorum(undefined, panelOf(8))).toBe(6);
  });

  it('refuses a quorum the panel cannot reach, from the flag or the file, with the one message', () => {
    expect(() => runQuorum(3, panelOf(2))).toThrow(new UsageError('Expected --quorum to be an integer from 1 to 2, got 3'));
    expect(() => runQuorum(undefined, panelOf(2, 5))).toThrow(new UsageError('Expected --quorum to be an integer from 1 to 2, got 5'));
  });
});

describe('isLoopbackURL', () => {
  it('is true for 127.0.0.0/8, ::1 and localhost, false for other hosts and for text that is no URL', () => {
    for (const url of ['http://127.0.0.1:11434/v1', 'http://127.1.2.3/v1', 'http://[::1]:8000/v1', 'http://localhost:8080/v1', 'http://LOCALHOST/v1']) expect(isLoopbackURL(url)).toBe(true);
    for (const url of ['https://openrouter.ai/api/v1', 'http://10.0.0.1/v1', 'http://localhost.example.com/v1', 'http://128.0.0.1/v1', 'not a url']) expect(isLoopbackURL(url)).toBe(false);
  });
});
