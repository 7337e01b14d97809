import { type Observable, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/batch/chunker.js';
import { skipFile } from '../../src/batch/skipFile.js';
import { type WatchedFile, type WatchPipelineOptions, watchPipeline } from '../../src/pipelines/watch.js';
import type { RunStatus } from '../../src/types.js';
import type { FolderEvent } from '../../src/watch/folderEvents.js';
import { newScheduler } from '../helpers/marbles.js';
import { pulledInVirtualTime } from './pulled.js';

type Run = { runId: string; status: RunStatus };
const chunk = (file: string, index: number): Chunk => ({ id: `${file}#${index}`, source: file, index, text: `part ${index} of ${file}`, tokens: 4, startLine: 1, endLine: 1 });
const events: Record<string, FolderEvent> = {
  a: { type: 'add', path: '/w/a.md' },
  c: { type: 'change', path: '/w/a.md' },
  b: { type: 'add', path: '/w/b.md' },
  u: { type: 'unlink', path: '/w/a.md' },
};

/**
 * A watcher over an in-memory state, with each file's content hash taken from `hashes` in
 * order (one per event) and `chunks` chunks per file. `ask` is the test's.
 */
function watcher(scheduler: TestScheduler, o: { hashes: Record<string, string[]>; chunks?: number; ask: WatchPipelineOptions['ask']; unusable?: string }) {
  const state = new Map<string, WatchedFile>();
  const seen: Record<string, number> = {};
  const options: WatchPipelineOptions = {
    name: (path) => path.slice('/w/'.length),
    hash: (path) => {
      const i = (seen[path] = (seen[path] ?? -1) + 1);
      return of(o.hashes[path]![i]!);
    },
    earlier: (file) => state.get(file),
    remember: (file, researched) => state.set(file, researched),
    chunks: (_path, file) =>
      file === o.unusable
        ? // chunkFile checks the whole file before its first chunk.
          pulledInVirtualTime<Chunk>(scheduler, [], skipFile(file, 'binary')).iterable
        : pulledInVirtualTime(scheduler, Array.from({ length: o.chunks ?? 1 }, (_, i) => chunk(file, i))).iterable,
    ask: o.ask,
  };
  return { options, state };
}

describe('watchPipeline', () => {
  it('researches a new file chunk by chunk, remembers it, and leaves the same content alone', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const asks: Observable<Run>[] = [];
      const { options, state } = watcher(scheduler, {
        hashes: { '/w/a.md': ['h1', 'h1'] },
        chunks: 2,
        ask: (c) => {
          const run = cold<Run>('--(r|)', { r: { runId: `run-${c.id}`, status: 'consensus' } });
          asks.push(run);
          return run;
        },
      });
      expectObservable(watchPipeline(cold('-a----c', events), options)).toBe('-----RU', {
        R: { file: 'a.md', status: 'researched', runIds: ['run-a.md#0', 'run-a.md#1'], statuses: ['consensus', 'consensus'] },
        U: { file: 'a.md', status: 'unchanged' },
      });
      scheduler.flush();
      expect(asks).toHaveLength(2);
      expect(state.get('a.md')).toEqual({ hash: 'h1', runIds: ['run-a.md#0', 'run-a.md#1'] });
    });
  });

  it('a change while the file is researched cancels that research and starts over', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const asks = [cold<Run>('-----(r|)', { r: { runId: 'first', status: 'consensus' } }), cold<Run>('--(r|)', { r: { runId: 'second', status: 'degraded' } })];
      let call = 0;
      const { options } = watcher(scheduler, { hashes: { '/w/a.md': ['h1', 'h2'] }, ask: () => asks[call++]! });
      expectObservable(watchPipeline(cold('a-c', events), options)).toBe('----R', { R: { file: 'a.md', status: 'researched', runIds: ['second'], statuses: ['degraded'] } });
      expectSubscriptions(asks[0]!.subscriptions).toBe('^-!');
      expectSubscriptions(asks[1]!.subscriptions).toBe('--^-!');
    });
  });

  it('links the research of changed content to the runs it replaces', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const supersedes: string[][] = [];
      let call = 0;
      const { options } = watcher(scheduler, {
        hashes: { '/w/a.md': ['h1', 'h2'] },
        ask: (_c, replaced) => {
          supersedes.push(replaced);
          return cold<Run>('-(r|)', { r: { runId: `run${++call}`, status: 'consensus' } });
        },
      });
      expectObservable(watchPipeline(cold('a---c', events), options)).toBe('-R---S', {
        R: { file: 'a.md', status: 'researched', runIds: ['run1'], statuses: ['consensus'] },
        S: { file: 'a.md', status: 'researched', runIds: ['run2'], statuses: ['consensus'], supersedes: ['run1'] },
      });
      scheduler.flush();
      expect(supersedes).toEqual([[], ['run1']]);
    });
  });

  it('researches files side by side; a failing or unusable file is reported and the others go on', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const { options } = watcher(scheduler, {
        hashes: { '/w/a.md': ['h1'], '/w/b.md': ['h2'], '/w/c.md': ['h3'] },
        unusable: 'c.md',
        ask: (c) => (c.source === 'a.md' ? cold<Run>('-#', undefined, new Error('the endpoint refused')) : cold<Run>('---(r|)', { r: { runId: 'b1', status: 'consensus' } })),
      });
      const folder = cold<FolderEvent>('(abx)', { ...events, x: { type: 'add', path: '/w/c.md' } });
      expectObservable(watchPipeline(folder, options)).toBe('SF-R', {
        S: { file: 'c.md', status: 'skipped', message: 'Skipped c.md: looks binary (it contains NUL bytes)' },
        F: { file: 'a.md', status: 'failed', message: 'the endpoint refused' },
        R: { file: 'b.md', status: 'researched', runIds: ['b1'], statuses: ['consensus'] },
      });
    });
  });

  it('ignores a removed file', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      let asked = 0;
      const { options } = watcher(scheduler, { hashes: {}, ask: () => (asked++, cold<Run>('-')) });
      expectObservable(watchPipeline(cold('-u-', events), options)).toBe('---');
      scheduler.flush();
      expect(asked).toBe(0);
    });
  });
});
