import { type Observable, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/batch/chunker.js';
import { SkipFile } from '../../src/batch/skipFile.js';
import { type ChunkRun, batchPipeline } from '../../src/pipelines/batch.js';
import type { ChunkReport } from '../../src/types.js';
import { newScheduler } from '../helpers/marbles.js';
import { pulledInVirtualTime as inputs } from './pulled.js';

const chunk = (id: string, index = 0): Chunk => ({ id, source: 'notes.md', index, text: `text of ${id}`, tokens: 3, startLine: 1, endLine: 1 });
const decided: ChunkRun = { doc: { status: 'consensus', claims: [], failures: [] }, usage: { calls: 3, inputTokens: 10, outputTokens: 5, cost: 0 } };

/** Reports as `id:status`, so the marbles read as which chunk ended how. */
const brief = (reports: Observable<ChunkReport>) => reports.pipe(map((r) => `${r.chunkId || r.source}:${r.status}`));

describe('batchPipeline', () => {
  it('pulls the next chunk only when a slot frees up', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const runs = { a: cold<ChunkRun>('--(r|)', { r: decided }), b: cold<ChunkRun>('-----(r|)', { r: decided }), c: cold<ChunkRun>('--(r|)', { r: decided }), d: cold<ChunkRun>('-(r|)', { r: decided }) };
      const source = inputs(scheduler, ['a', 'b', 'c', 'd'].map((id) => ({ chunk: chunk(id) })));
      const out = batchPipeline(source.iterable, { concurrency: 2, ask: (c) => runs[c.id as keyof typeof runs], scheduler });
      expectObservable(brief(out)).toBe('--a-c(bd|)', { a: 'a:consensus', b: 'b:consensus', c: 'c:consensus', d: 'd:consensus' });
      expectSubscriptions(runs.a.subscriptions).toBe('^-!');
      expectSubscriptions(runs.b.subscriptions).toBe('^----!');
      expectSubscriptions(runs.c.subscriptions).toBe('--^-!');
      expectSubscriptions(runs.d.subscriptions).toBe('----^!');
      scheduler.flush();
      // a and b at once; c when a ends (2), d when c ends (4), the end of the inputs when b ends (5).
      expect(source.pulls).toEqual([0, 0, 2, 4, 5]);
    });
  });

  it('reports each chunk with its duration on the clock and what its calls used', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = inputs(scheduler, [{ chunk: chunk('a', 4) }]);
      const out = batchPipeline(source.iterable, { concurrency: 1, ask: () => cold('-- 7ms (r|)', { r: decided }), scheduler });
      const report: ChunkReport = { source: 'notes.md', index: 4, chunkId: 'a', status: 'consensus', claims: 0, calls: 3, durationMs: 9, failures: [], usage: decided.usage! };
      expectObservable(out).toBe('-- 7ms (r|)', { r: report });
    });
  });

  it('reports a failing chunk and goes on with the others', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const runs = { a: cold<ChunkRun>('---(r|)', { r: decided }), b: cold<ChunkRun>('-#', undefined, new Error('the endpoint refused')), c: cold<ChunkRun>('-(r|)', { r: decided }) };
      const source = inputs(scheduler, ['a', 'b', 'c'].map((id) => ({ chunk: chunk(id) })));
      const out = batchPipeline(source.iterable, { concurrency: 2, ask: (c) => runs[c.id as keyof typeof runs], scheduler });
      expectObservable(out.pipe(map((r) => `${r.chunkId}:${r.status}${r.message ? `:${r.message}` : ''}`))).toBe('-bc(a|)', {
        a: 'a:consensus',
        b: 'b:failed:the endpoint refused',
        c: 'c:consensus',
      });
    });
  });

  it('stops on a fatal error: pulls no more chunks and cancels those in flight', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const spent = new Error('quota spent');
      const runs = { a: cold<ChunkRun>('-----(r|)', { r: decided }), b: cold<ChunkRun>('--#', undefined, spent), c: cold<ChunkRun>('-(r|)', { r: decided }) };
      const source = inputs(scheduler, ['a', 'b', 'c'].map((id) => ({ chunk: chunk(id) })));
      const out = batchPipeline(source.iterable, { concurrency: 2, ask: (c) => runs[c.id as keyof typeof runs], isFatal: (e) => e === spent, scheduler });
      expectObservable(brief(out)).toBe('--#', undefined, spent);
      expectSubscriptions(runs.a.subscriptions).toBe('^-!');
      expectSubscriptions(runs.c.subscriptions).toBe([]);
      scheduler.flush();
      expect(source.pulls).toEqual([0, 0]);
      expect(source.closed()).toBe(true);
    });
  });

  it('on unsubscription (Ctrl-C) stops pulling, closes the inputs and cancels the chunks in flight', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const runs = { a: cold<ChunkRun>('-(r|)', { r: decided }), b: cold<ChunkRun>('-----(r|)', { r: decided }), c: cold<ChunkRun>('-----(r|)', { r: decided }), d: cold<ChunkRun>('-(r|)', { r: decided }) };
      const source = inputs(scheduler, ['a', 'b', 'c', 'd'].map((id) => ({ chunk: chunk(id) })));
      const out = batchPipeline(source.iterable, { concurrency: 2, ask: (c) => runs[c.id as keyof typeof runs], scheduler });
      expectObservable(brief(out), '---!').toBe('-a-', { a: 'a:consensus' });
      expectSubscriptions(runs.b.subscriptions).toBe('^--!');
      expectSubscriptions(runs.c.subscriptions).toBe('-^-!');
      expectSubscriptions(runs.d.subscriptions).toBe([]);
      scheduler.flush();
      expect(source.pulls).toEqual([0, 0, 1]);
      expect(source.closed()).toBe(true);
    });
  });

  it('reports a chunk the log already decided without asking for it again', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const runs = { a: cold<ChunkRun>('-(r|)', { r: decided }), b: cold<ChunkRun>('-(r|)', { r: decided }) };
      const source = inputs(scheduler, ['a', 'b'].map((id) => ({ chunk: chunk(id) })));
      const out = batchPipeline(source.iterable, { concurrency: 1, ask: (c) => runs[c.id as keyof typeof runs], isDone: (id) => id === 'a', scheduler });
      expectObservable(brief(out)).toBe('a(b|)', { a: 'a:already-done', b: 'b:consensus' });
      expectSubscriptions(runs.a.subscriptions).toBe([]);
    });
  });

  it('reports a file that cannot be read as skipped, not as a chunk', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = inputs(scheduler, [{ skip: new SkipFile('photo.png', 'binary', 'Skipped photo.png: looks binary'), source: 'photo.png' }, { chunk: chunk('a') }]);
      const out = batchPipeline(source.iterable, { concurrency: 1, ask: () => cold('-(r|)', { r: decided }), scheduler });
      expectObservable(brief(out)).toBe('s(a|)', { s: 'photo.png:skipped', a: 'a:consensus' });
    });
  });

  it('rejects a concurrency below 1 when it is built', () => {
    const scheduler = newScheduler();
    expect(() => batchPipeline(inputs(scheduler, []).iterable, { concurrency: 0, ask: () => { throw new Error('never asked'); } })).toThrow(/concurrency to be an integer ≥ 1, got 0/);
  });
});
