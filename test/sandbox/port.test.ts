/**
 * `quorum sandbox --port` that cannot be listened on (issue 11, row 13): a port out of range or
 * already taken is bad input, one line and exit 2, never a stack trace. Through the real binary.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';

let busy: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (busy ? busy.close(() => resolve()) : resolve()));
  busy = undefined;
});

function oneErrorLine(stderr: string): string {
  expect(stderr.endsWith('\n')).toBe(true);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^Error: /);
  expect(stderr).not.toMatch(/\n\s+at /);
  return stderr.trim();
}

describe('quorum sandbox --port', () => {
  it.each(['80000', '65536', '99999999'])('%s: out of range, one line, exit 2', async (port) => {
    const run = await spawnCli(['sandbox', '--port', port]).done;
    expect(run.stdout).toBe('');
    expect(oneErrorLine(run.stderr)).toBe(`Error: --port ${port} is out of range: a TCP port is 0–65535 (0, or no --port, picks a free one)`);
    expect(run.code).toBe(2);
  }, 30_000);

  it('a port already in use on 127.0.0.1: one line, exit 2', async () => {
    busy = createServer();
    const port = await new Promise<number>((resolve) => busy!.listen(0, '127.0.0.1', () => resolve((busy!.address() as { port: number }).port)));
    const run = await spawnCli(['sandbox', '--port', String(port)]).done;
    expect(run.stdout).toBe('');
    expect(oneErrorLine(run.stderr)).toBe(`Error: Port ${port} on 127.0.0.1 is in use; give another --port, or none for a free one`);
    expect(run.code).toBe(2);
  }, 30_000);

  it('a free port still serves, and Ctrl-C stops it (exit 130)', async () => {
    const { child, done, output } = spawnCli(['sandbox', '--port', '0']);
    for (let i = 0; i < 200 && !output().stdout.includes('Ctrl-C stops it.'); i++) await new Promise((r) => setTimeout(r, 50));
    const url = /at (http:\/\/127\.0\.0\.1:\d+\/api\/v1)/.exec(output().stdout)?.[1];
    expect(url).toBeDefined();
    expect((await fetch(`${url}/models`)).status).toBeLessThan(500);
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
  }, 30_000);
});
