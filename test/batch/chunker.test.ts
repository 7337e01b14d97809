import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChunkOptions, SkipFile, chunkFile, chunkId, chunkLines, estimateTokens, sourcePath } from '../../src/batch/chunker.js';
import { readTextLines } from '../../src/batch/readTextLines.js';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const chunksOf = (text: string, options: Partial<ChunkOptions> = {}) => collect(chunkLines(text.split('\n'), { source: 'spec.md', ...options }));

/** Everything but whitespace: what chunking must neither lose nor repeat (without overlap). */
const ink = (text: string) => text.replace(/\s+/g, '');

let sentenceNo = 0;
/** `count` sentences numbered across the file, about 6 tokens each. */
const sentences = (count: number) => Array.from({ length: count }, () => `Sentence ${++sentenceNo} is here.`).join(' ');

const FENCE = ['```python', '# a comment, not a heading', '', 'def f():', '', '    return 1  # neither', '## nor this', '```'].join('\n');

describe('chunkLines', () => {
  it('starts each large section at its heading, with the heading path', async () => {
    const doc = `# Intro\n\n${sentences(10)}\n\n## Scope\n\n${sentences(10)}\n\n## Goals\n\n${sentences(10)}\n\n# Design\n\n${sentences(10)}\n`;
    const chunks = await chunksOf(doc, { maxTokens: 100 });
    expect(chunks.map((c) => c.text.split('\n')[0])).toEqual(['# Intro', '## Scope', '## Goals', '# Design']);
    expect(chunks.map((c) => c.heading)).toEqual(['Intro', 'Intro > Scope', 'Intro > Goals', 'Design']);
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(chunks.map((c) => [c.startLine, c.endLine])).toEqual([[1, 3], [5, 7], [9, 11], [13, 15]]);
  });

  it('lets small sections share a chunk and ends it before the highest-level heading once half full', async () => {
    const doc = [`# A`, sentences(8), `## A.1`, sentences(8), `# B`, sentences(8), `## B.1`, sentences(8)].join('\n\n');
    const chunks = await chunksOf(doc, { maxTokens: 150 });
    expect(chunks.map((c) => c.text.split('\n')[0])).toEqual(['# A', '# B']);
    expect(chunks[0]!.text).toContain('## A.1');
  });

  it('splits a section at paragraph boundaries, and a paragraph over the budget between sentences', async () => {
    const paragraphs = [sentences(8), sentences(8), sentences(40)];
    const doc = `# Title\n\n${paragraphs.join('\n\n')}\n`;
    const chunks = await chunksOf(doc, { maxTokens: 110 });
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(110);
    // The two short paragraphs stay whole; the long one is cut after a full stop.
    expect(chunks[0]!.text).toBe(`# Title\n\n${paragraphs[0]}\n\n${paragraphs[1]}`);
    for (const c of chunks.slice(1)) expect(c.text).toMatch(/^Sentence \d+ is here\..*\.$/s);
    expect(ink(chunks.map((c) => c.text).join(''))).toBe(ink(doc));
  });

  it('cuts a paragraph with no sentence ends at line ends, and one endless word between characters', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => `item ${i} without a full stop`);
    const word = 'x'.repeat(5000);
    const chunks = await chunksOf(`${lines.join('\n')}\n\n${word}\n`, { maxTokens: 50 });
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(50);
    const listChunks = chunks.filter((c) => c.text.startsWith('item'));
    for (const c of listChunks) expect(c.text.split('\n').every((l) => /^item \d+ without a full stop$/.test(l))).toBe(true);
    expect(ink(chunks.map((c) => c.text).join(''))).toBe(ink(lines.join('') + word));
  });

  it('never splits a code fence, whatever # lines and blank lines it holds', async () => {
    const doc = `# Setup\n\n${sentences(6)}\n\n${FENCE}\n\n${sentences(6)}\n\n~~~~\n# still code\n\n~~~\n~~~~\n`;
    for (const maxTokens of [16, 30, 60, 1500]) {
      const chunks = await chunksOf(doc, { maxTokens });
      expect(chunks.filter((c) => c.text.includes(FENCE))).toHaveLength(1);
      expect(chunks.filter((c) => c.text.includes('~~~~\n# still code\n\n~~~\n~~~~'))).toHaveLength(1);
      expect(chunks.every((c) => c.heading === 'Setup')).toBe(true);
    }
  });

  it('gives a fence over the budget a chunk of its own, with the heading before it', async () => {
    const code = ['```ts', ...Array.from({ length: 30 }, (_, i) => `const v${i} = compute(${i});`), '```'].join('\n');
    const doc = `# Intro\n\n${sentences(3)}\n\n## Example\n\n${code}\n\n${sentences(3)}\n`;
    const chunks = await chunksOf(doc, { maxTokens: 100 });
    const big = chunks.filter((c) => c.tokens > 100);
    expect(big).toHaveLength(1);
    expect(big[0]!.text).toBe(`## Example\n\n${code}`);
    expect(big[0]!.heading).toBe('Intro > Example');
    expect(chunks[0]!.text).toMatch(/^# Intro\n\nSentence \d+ is here\./);
    expect(chunks[0]!.text).not.toContain('## Example');
  });

  it('cuts a fence over maxFenceTokens at line ends into parts that are each a closed code block', async () => {
    const body = Array.from({ length: 200 }, (_, i) => (i % 10 === 0 ? '' : `row ${i}: # value ${i * 7}`));
    const doc = ['Intro line.', '', '~~~ text', ...body, '~~~', '', 'Outro line.'].join('\n');
    const chunks = await chunksOf(doc, { maxTokens: 60, maxFenceTokens: 120 });
    const parts = chunks.filter((c) => c.text.startsWith('~~~ text'));
    expect(parts.length).toBeGreaterThan(5);
    // Each part is a closed code block (the last one may share its chunk with the next paragraph).
    const blocks = parts.map((p) => p.text.split('\n').slice(0, p.text.split('\n').indexOf('~~~') + 1));
    for (const [i, p] of parts.entries()) {
      expect(p.tokens).toBeLessThanOrEqual(60);
      expect(blocks[i]!.length).toBeGreaterThan(2);
    }
    // Every body line is in exactly one part, in order, at the line the chunk says.
    expect(blocks.flatMap((b) => b.slice(1, -1))).toEqual(body);
    for (const p of parts.slice(1, -1)) expect(doc.split('\n').slice(p.startLine - 1, p.endLine)).toEqual(p.text.split('\n').slice(1, -1));
  });

  it('runs an unclosed fence to the end of the file', async () => {
    const doc = `Before.\n\n\`\`\`sh\necho one\n\n# not a heading\necho two\n`;
    const chunks = await chunksOf(doc, { maxTokens: 1500 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toBe('Before.\n\n```sh\necho one\n\n# not a heading\necho two');
    expect(chunks[0]!.heading).toBeUndefined();
  });

  it('reads setext headings and closed ATX headings', async () => {
    const doc = `Guide\n=====\n\n${sentences(12)}\n\nUsage ##\n-----\n\n${sentences(12)}\n\n### Flags ###\n\n${sentences(12)}\n`;
    const chunks = await chunksOf(doc, { maxTokens: 90 });
    expect(chunks.map((c) => c.heading)).toEqual(['Guide', 'Guide > Usage ##', 'Guide > Usage ## > Flags']);
  });

  it('treats plain text as paragraphs only: # lines and fences are text', async () => {
    const doc = `# not a heading\n${sentences(10)}\n\n\`\`\`\n${sentences(10)}\n\n${sentences(10)}\n`;
    const chunks = await chunksOf(doc, { maxTokens: 80, format: 'text' });
    expect(chunks.every((c) => c.heading === undefined)).toBe(true);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(80);
  });

  it('repeats the end of each chunk at the start of the next, up to overlapTokens', async () => {
    const doc = `# Overlap\n\n${sentences(20)}\n\n${sentences(20)}\n\n${sentences(20)}\n`;
    const chunks = await chunksOf(doc, { maxTokens: 80, overlapTokens: 20 });
    expect(chunks.length).toBeGreaterThan(3);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!.text;
      const next = chunks[i]!.text;
      // The first sentence of the next chunk is one of the previous chunk's last sentences.
      const first = /^Sentence (\d+) is here\./.exec(next);
      expect(first).not.toBeNull();
      const overlap = next.slice(0, next.indexOf(/Sentence (\d+) is here\.$/.exec(prev)![0]) + /Sentence (\d+) is here\.$/.exec(prev)![0].length);
      expect(prev.endsWith(overlap)).toBe(true);
      expect(estimateTokens(overlap)).toBeLessThanOrEqual(20);
      expect(estimateTokens(overlap)).toBeGreaterThan(5);
      expect(chunks[i]!.tokens).toBeLessThanOrEqual(80);
    }
    // Without overlap the same text comes out with nothing repeated.
    const plain = await chunksOf(doc, { maxTokens: 80 });
    expect(ink(plain.map((c) => c.text).join(''))).toBe(ink(doc));
  });

  it('repeats no heading or code fence as overlap', async () => {
    const doc = `# A\n\n${sentences(12)}\n\n${FENCE}\n\n# B\n\n${sentences(12)}\n`;
    const chunks = await chunksOf(doc, { maxTokens: 100, overlapTokens: 40 });
    expect(chunks.filter((c) => c.text.includes(FENCE))).toHaveLength(1);
    expect(chunks.filter((c) => c.text.includes('# A'))).toHaveLength(1);
  });

  it('keeps every chunk within the budget and loses no text (property)', async () => {
    const word = fc.constantFrom('alpha', 'beta', 'gamma', 'quorum', 'panel', 'claim', '42', 'x', 'überall', '数据', 'chunk-id');
    const sentence = fc.array(word, { minLength: 1, maxLength: 14 }).map((ws) => `${ws.join(' ')}.`);
    const paragraph = fc.array(fc.array(sentence, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }).map((ls) => ls.map((l) => l.join(' ')).join('\n'));
    const heading = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.array(word, { minLength: 1, maxLength: 4 })).map(([l, ws]) => `${'#'.repeat(l)} ${ws.join(' ')}`);
    const fence = fc.array(fc.oneof(sentence, fc.constant(''), fc.constant('# hash')), { maxLength: 12 }).map((ls) => ['```', ...ls, '```'].join('\n'));
    const doc = fc.array(fc.oneof({ weight: 5, arbitrary: paragraph }, { weight: 2, arbitrary: heading }, { weight: 1, arbitrary: fence }), { minLength: 1, maxLength: 25 });
    await fc.assert(
      fc.asyncProperty(doc, fc.integer({ min: 16, max: 300 }), async (blocks, maxTokens) => {
        const text = blocks.join('\n\n');
        const chunks = await chunksOf(text, { maxTokens, maxFenceTokens: 1e9 });
        expect(ink(chunks.map((c) => c.text).join(''))).toBe(ink(text));
        for (const c of chunks) {
          if (c.tokens > maxTokens) expect(c.text).toMatch(/^(#[^\n]*\n+)*```\n[^]*```$/);
          expect(c.startLine).toBeLessThanOrEqual(c.endLine);
        }
        for (const f of blocks.filter((b) => b.startsWith('```'))) expect(chunks.some((c) => c.text.includes(f))).toBe(true);
        expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
      }),
      { numRuns: 150 },
    );
  });

  it('says which line range each chunk comes from', async () => {
    const doc = `# One\n\n\n${sentences(5)}\n${sentences(5)}\n\n## Two\n\n${sentences(30)}\n`;
    const lines = doc.split('\n');
    const chunks = await chunksOf(doc, { maxTokens: 70 });
    for (const c of chunks) {
      const span = lines.slice(c.startLine - 1, c.endLine).filter((l) => l !== '').join('\n');
      expect(ink(span)).toContain(ink(c.text));
    }
  });

  it('checks its options when called', () => {
    expect(() => chunkLines([], { source: 'a.md', maxTokens: 8 })).toThrow('Expected maxTokens to be an integer ≥ 16, got 8');
    expect(() => chunkLines([], { source: 'a.md', maxTokens: 100, overlapTokens: 51 })).toThrow(
      'Expected overlapTokens to be an integer from 0 to 50 (half of maxTokens), got 51',
    );
    expect(() => chunkLines([], { source: 'a.md', maxTokens: 100, maxFenceTokens: 50 })).toThrow('Expected maxFenceTokens to be an integer ≥ maxTokens (100), got 50');
  });
});

describe('estimateTokens', () => {
  it('weighs characters as documented', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1); // 4 letters × 1/4
    expect(estimateTokens('abcd efgh')).toBe(3); // 8/4 + one space run 1/4, rounded up
    expect(estimateTokens('123456')).toBe(2); // 6 digits × 1/3
    expect(estimateTokens('a'.repeat(40) + ' \n\t  '.repeat(1))).toBe(11);
    expect(estimateTokens('数据数据')).toBe(5); // 4 × 5/4
    expect(estimateTokens('😀😀')).toBe(4);
    expect(estimateTokens('{}();')).toBe(3); // 5 × 1/2
  });

  it('never counts a text above the sum of its parts (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(estimateTokens(a + b)).toBeLessThanOrEqual(estimateTokens(a) + estimateTokens(b));
      }),
    );
  });
});

describe('chunkId', () => {
  it('is the first 16 hex digits of sha256(source NUL text)', () => {
    expect(chunkId('specs/a.md', 'hello')).toMatch(/^[0-9a-f]{16}$/);
    expect(chunkId('specs/a.md', 'hello')).toBe('4f3dea917c72a01f');
  });

  it('gives the same ids on every run, and others when the text or the source differs', async () => {
    const doc = `# A\n\n${sentences(30)}\n\n# B\n\n${sentences(30)}\n`;
    const first = await chunksOf(doc, { maxTokens: 100 });
    const second = await chunksOf(doc, { maxTokens: 100 });
    expect(second.map((c) => c.id)).toEqual(first.map((c) => c.id));
    expect(new Set(first.map((c) => c.id)).size).toBe(first.length);
    const elsewhere = await chunksOf(doc, { maxTokens: 100, source: 'other/spec.md' });
    expect(elsewhere.map((c) => c.text)).toEqual(first.map((c) => c.text));
    for (let i = 0; i < first.length; i++) expect(elsewhere[i]!.id).not.toBe(first[i]!.id);
    const edited = await chunksOf(doc.replace('Sentence', 'Statement'), { maxTokens: 100 });
    expect(edited[0]!.id).not.toBe(first[0]!.id);
    expect(edited.slice(1).map((c) => c.id)).toEqual(first.slice(1).map((c) => c.id));
  });
});

describe('sourcePath', () => {
  it('is relative to the working directory with forward slashes', () => {
    expect(sourcePath('/work/specs/a.md', '/work')).toBe('specs/a.md');
    expect(sourcePath('./specs//a.md', '/work')).toBe('specs/a.md');
    expect(sourcePath('specs\\sub\\a.md', '/work')).toBe('specs/sub/a.md');
  });
});

describe('chunkFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'quorum-chunker-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('drops a BOM and reads CRLF as LF: same chunks, same ids', async () => {
    const doc = `# Title\n\n${sentences(20)}\n\n## Part\n\n${sentences(20)}\n`;
    const lf = await collect(chunkFile(file('lf.md', doc), { source: 'doc.md', maxTokens: 80 }));
    const crlf = await collect(chunkFile(file('crlf.md', `\uFEFF${doc.replace(/\n/g, '\r\n')}`), { source: 'doc.md', maxTokens: 80 }));
    expect(crlf).toEqual(lf);
    expect(crlf.some((c) => c.text.includes('\r') || c.text.includes('\uFEFF'))).toBe(false);
    expect(lf[0]!.heading).toBe('Title');
  });

  it('names chunks after the path relative to the working directory', async () => {
    const chunks = await collect(chunkFile(file('named.md', 'Hello there.\n')));
    expect(chunks[0]!.source).toBe(sourcePath(join(dir, 'named.md')));
    expect(chunks[0]!.source).not.toContain('\\');
  });

  it('reads .txt as plain text', async () => {
    const chunks = await collect(chunkFile(file('notes.txt', '# not a heading\n\nSome text.\n')));
    expect(chunks[0]!.heading).toBeUndefined();
  });

  it('does not carry overlap from one file into the next', async () => {
    const a = await collect(chunkFile(file('a.md', `${sentences(40)}\n`), { maxTokens: 60, overlapTokens: 20 }));
    const b = await collect(chunkFile(file('b.md', `Another file starts here.\n`), { maxTokens: 60, overlapTokens: 20 }));
    expect(a.length).toBeGreaterThan(1);
    expect(b.map((c) => c.text)).toEqual(['Another file starts here.']);
  });

  const skipped = async (path: string): Promise<{ error: SkipFile; yielded: number }> => {
    let yielded = 0;
    try {
      for await (const _ of chunkFile(path)) yielded++;
    } catch (error) {
      if (error instanceof SkipFile) return { error, yielded };
      throw error;
    }
    throw new Error(`${path} was not skipped`);
  };

  it.each([
    ['a PNG', 'binary', 'logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])],
    ['UTF-16 text', 'binary', 'utf16.md', Buffer.from('\uFEFF# Title\n', 'utf16le')],
    ['Latin-1 text', 'invalid-utf8', 'latin1.md', Buffer.from('# Caf\xe9\n', 'latin1')],
    ['an overlong encoding', 'invalid-utf8', 'overlong.md', Buffer.from([0x23, 0x20, 0xc0, 0xaf, 0x0a])],
    ['a UTF-16 surrogate in UTF-8', 'invalid-utf8', 'surrogate.md', Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x0a])],
    ['a file cut inside a character', 'invalid-utf8', 'cut.md', Buffer.from([0x61, 0xe2, 0x82])],
    ['an empty file', 'empty', 'empty.md', ''],
    ['whitespace and a BOM', 'empty', 'blank.md', '\uFEFF  \r\n\n\t\n'],
  ])('skips %s as %s', async (_what, reason, name, content) => {
    const { error, yielded } = await skipped(file(name, content));
    expect(error.reason).toBe(reason);
    expect(error.path).toBe(sourcePath(join(dir, name)));
    expect(error.message).toMatch(/^Skipped .+: /);
    expect(yielded).toBe(0);
  });

  it('skips a missing file and a directory as unreadable', async () => {
    expect((await skipped(join(dir, 'missing.md'))).error.reason).toBe('unreadable');
    mkdirSync(join(dir, 'folder.md'));
    expect((await skipped(join(dir, 'folder.md'))).error.reason).toBe('unreadable');
  });

  it('skips a file whose bad bytes come late, before yielding any of its chunks', async () => {
    const good = `${sentences(20)}\n\n`.repeat(2000); // ~ 1 MB of good text first
    const late = await skipped(file('late-nul.md', Buffer.concat([Buffer.from(good), Buffer.from([0])])));
    expect(late).toMatchObject({ yielded: 0, error: { reason: 'binary' } });
    const lateUtf8 = await skipped(file('late-bad.md', Buffer.concat([Buffer.from(good), Buffer.from([0xff, 0x0a])])));
    expect(lateUtf8).toMatchObject({ yielded: 0, error: { reason: 'invalid-utf8' } });
    expect(lateUtf8.error.message).toContain(`byte ${Buffer.byteLength(good)}`);
  });

  it('reads multi-byte characters and CRLF that straddle read boundaries', async () => {
    // 64 KB reads: put a 4-byte emoji and a CRLF across every boundary by varying the prefix.
    const line = `${'ü'.repeat(7)}😀 ${'数'.repeat(5)}`;
    const text = Array.from({ length: 20_000 }, (_, i) => `${'a'.repeat(i % 7)}${line}`).join('\r\n');
    const lines = await collect(readTextLines(file('straddle.txt', text)));
    expect(lines).toEqual(text.split('\r\n'));
  });

  it('yields a line over maxLineChars in parts', async () => {
    const lines = await collect(readTextLines(file('long-line.txt', `${'ab'.repeat(50)}\nshort\n`), { maxLineChars: 30 }));
    expect(lines.slice(0, 4)).toEqual(['ab'.repeat(15), 'ab'.repeat(15), 'ab'.repeat(15), 'ab'.repeat(5)]);
    expect(lines[4]).toBe('short');
  });

  describe('a 100 MB file', () => {
    let big: string;
    let bytes = 0;
    beforeAll(() => {
      // One ~1 MB piece of sections, paragraphs and code fences, written 100 times over: the
      // test never holds the file either.
      big = join(dir, 'big.md');
      const code = ['```ts', ...Array.from({ length: 8 }, (_, l) => `const value${l} = compute(${l}, "code");`), '```', ''];
      const out: string[] = [];
      for (let section = 1; section <= 1800; section++) {
        out.push(`## Section ${section}`, '');
        for (let p = 0; p < 6; p++) {
          for (let l = 0; l < 5; l++) out.push(`Line ${l} of paragraph ${p} in section ${section} says something about the batch input.`);
          out.push('');
        }
        if (section % 5 === 0) out.push(...code);
      }
      const piece = Buffer.from(`${out.join('\n')}\n`);
      const fd = openSync(big, 'w');
      for (bytes = 0; bytes < 100 * 1024 * 1024; bytes += piece.length) writeSync(fd, piece);
      closeSync(fd);
    });

    it('streams through with flat memory', async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      gc();
      const base = process.memoryUsage();
      let peakHeap = 0;
      let peakBuffers = 0;
      let count = 0;
      let over = 0;
      const started = performance.now();
      for await (const chunk of chunkFile(big)) {
        count++;
        if (chunk.tokens > 1500) over++;
        if (count % 100 === 0) {
          const now = process.memoryUsage();
          peakHeap = Math.max(peakHeap, now.heapUsed - base.heapUsed);
          peakBuffers = Math.max(peakBuffers, now.arrayBuffers - base.arrayBuffers);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `100 MB: ${count} chunks in ${seconds.toFixed(1)} s (${(bytes / 1048576 / seconds).toFixed(0)} MB/s), ` +
          `peak heap growth ${(peakHeap / 1048576).toFixed(1)} MB, buffers ${(peakBuffers / 1048576).toFixed(1)} MB`,
      );
      expect(bytes).toBeGreaterThanOrEqual(100 * 1024 * 1024);
      expect(count).toBeGreaterThan(15_000);
      expect(over).toBe(0);
      expect(peakHeap).toBeLessThan(60 * 1048576);
      expect(peakBuffers).toBeLessThan(8 * 1048576);
    }, 60_000);
  });
});
