import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeLogIo, type LogIo } from '../../src/runlog/logWriter.js';
import { openRunSinks } from '../../src/run/runSinks.js';
import { tempDir } from '../helpers/cli.js';
import { answerLine, runLine } from './fixtures.js';

/** A disk that is full for one log. */
function fullFor(file: string): LogIo {
  const paths = new Map<number, string>();
  return {
    ...nodeLogIo,
    open: async (path, flags) => {
      const fd = await nodeLogIo.open(path, flags);
      paths.set(fd, path);
      return fd;
    },
    write: async (fd, b, o, l) => {
      if (paths.get(fd)?.endsWith(file)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return nodeLogIo.write(fd, b, o, l);
    },
  };
}

describe('openRunSinks', () => {
  it('close() rejects naming the folder when the run line could not be committed, even after spans were flushed', async () => {
    const out = tempDir();
    const sinks = openRunSinks(out, {}, { runFiles: true, writer: { io: fullFor('runs.jsonl') } });
    const span = sinks.tracing.tracer.startSpan('scatter_gather_research');
    span.end();
    sinks.answers.write(answerLine('r1', 0));
    const run = runLine('r1');
    sinks.runs.write(run);
    sinks.renderViews(run, [answerLine('r1', 0)]);
    // A sink's own flush waits but does not report: the owner's close does.
    await expect(sinks.tracing.forceFlush()).resolves.toBeUndefined();
    await expect(sinks.close()).rejects.toThrow(new RegExp(`Could not write the artifacts in ${out}: .*runs\\.jsonl.*ENOSPC`));
    expect(readFileSync(join(out, 'answers.jsonl'), 'utf8')).toContain('"runId":"r1"');
    // No view claims a decision the log does not hold.
    expect(existsSync(join(out, 'runs', 'r1'))).toBe(false);
  });

  it('renders the views after the commit when everything was written', async () => {
    const out = tempDir();
    const sinks = openRunSinks(out, {}, { runFiles: true });
    const run = runLine('r2');
    sinks.runs.write(run);
    sinks.renderViews(run, [answerLine('r2', 0)]);
    await sinks.close();
    expect(JSON.parse(readFileSync(join(out, 'runs', 'r2', 'consensus.json'), 'utf8')).runId).toBe('r2');
    expect(existsSync(join(out, 'runs', 'r2', 'responses', 'port_0.json'))).toBe(true);
  });
});
