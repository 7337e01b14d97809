import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandBraces, isGlob, segmentRegExp } from '../../src/batch/glob.js';
import { resolveInputs } from '../../src/batch/inputs.js';
import { UsageError } from '../../src/errors.js';

/**
 * root/
 *   README.md  weird[1].md  outside/o.md
 *   specs/ a.md b.markdown c.txt image.png notes.json .hidden.md .drafts/x.md
 *          node_modules/pkg/readme.md
 *          sub/ d.md f.adoc deep/e.rst
 *          link-in.md -> sub/d.md      loop -> .         (inside: followed, listed once)
 *          link-out -> ../outside      link-out.md -> ../outside/o.md   broken.md -> nowhere
 *   empty/ only.png
 */
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'quorum-inputs-'));
  const files = [
    'README.md', 'weird[1].md', 'outside/o.md',
    'specs/a.md', 'specs/b.markdown', 'specs/c.txt', 'specs/image.png', 'specs/notes.json', 'specs/.hidden.md', 'specs/.drafts/x.md',
    'specs/node_modules/pkg/readme.md', 'specs/sub/d.md', 'specs/sub/f.adoc', 'specs/sub/deep/e.rst', 'empty/only.png',
  ];
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), `# ${f}\n`);
  }
  symlinkSync('sub/d.md', join(root, 'specs/link-in.md'));
  symlinkSync('.', join(root, 'specs/loop'));
  symlinkSync('../outside', join(root, 'specs/link-out'));
  symlinkSync('../outside/o.md', join(root, 'specs/link-out.md'));
  symlinkSync('nowhere.md', join(root, 'specs/broken.md'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const resolve = (patterns: string[], extensions?: string[]) => resolveInputs(patterns, { cwd: root, ...(extensions ? { extensions } : {}) });
const files = async (...patterns: string[]) => (await resolve(patterns)).files;

describe('resolveInputs', () => {
  it('takes a named file whatever its extension', async () => {
    expect(await files('specs/notes.json')).toEqual(['specs/notes.json']);
    expect(await files('./specs/image.png')).toEqual(['specs/image.png']);
  });

  it('walks a folder for text files, skipping dotfiles, dot-folders and node_modules', async () => {
    expect(await files('specs')).toEqual(['specs/a.md', 'specs/b.markdown', 'specs/c.txt', 'specs/sub/d.md', 'specs/sub/deep/e.rst', 'specs/sub/f.adoc']);
    expect(await files('specs/')).toEqual(await files('specs'));
  });

  it('filters a folder by the extensions asked for, in any case', async () => {
    expect((await resolve(['specs'], ['TXT', '.RST'])).files).toEqual(['specs/c.txt', 'specs/sub/deep/e.rst']);
  });

  it('leaves out symlinks leading outside the folder and says so; follows those inside once', async () => {
    const { files: found, skipped } = await resolve(['specs']);
    expect(found).not.toContain('specs/link-out.md');
    expect(found.some((f) => f.startsWith('specs/link-out/') || f.startsWith('specs/loop/'))).toBe(false);
    expect(found.filter((f) => f.endsWith('d.md'))).toEqual(['specs/sub/d.md']);
    expect(skipped).toEqual([
      { path: 'specs/broken.md', reason: 'broken-symlink' },
      { path: 'specs/link-out', reason: 'symlink-outside' },
      { path: 'specs/link-out.md', reason: 'symlink-outside' },
    ]);
  });

  it('follows a symlink the user names', async () => {
    expect(await files('specs/link-out.md')).toEqual(['specs/link-out.md']);
  });

  it('expands ** and {a,b} globs', async () => {
    expect(await files('specs/**/*.md')).toEqual(['specs/a.md', 'specs/sub/d.md']);
    // link-in.md leads inside specs/, to sub/d.md, which this glob reaches by no other path.
    expect(await files('specs/*.{md,txt}')).toEqual(['specs/a.md', 'specs/c.txt', 'specs/link-in.md']);
    expect(await files('**/*.{rst,adoc}')).toEqual(['specs/sub/deep/e.rst', 'specs/sub/f.adoc']);
    expect(await files('{README,specs/a}.md')).toEqual(['README.md', 'specs/a.md']);
    expect(await files('specs/**')).toEqual(await files('specs'));
  });

  it('expands ?, classes and wildcards, never matching a leading dot', async () => {
    expect(await files('specs/?.md')).toEqual(['specs/a.md']);
    expect(await files('specs/[a-b].*')).toEqual(['specs/a.md', 'specs/b.markdown']);
    expect(await files('specs/[!ab].*')).toEqual(['specs/c.txt']);
  });

  it('takes every file a wildcard names, and walks every folder it names', async () => {
    expect(await files('specs/*')).toEqual([
      'specs/a.md', 'specs/b.markdown', 'specs/c.txt', 'specs/image.png', 'specs/notes.json', 'specs/sub/d.md', 'specs/sub/deep/e.rst', 'specs/sub/f.adoc',
    ]);
    expect(await files('specs/.*.md')).toEqual(['specs/.hidden.md']);
    expect(await files('specs/node_modules/*/*.md')).toEqual(['specs/node_modules/pkg/readme.md']);
  });

  it('takes an existing path literally even with glob characters in it', async () => {
    expect(await files('weird[1].md')).toEqual(['weird[1].md']);
  });

  it('lists a file once however many patterns reach it, sorted', async () => {
    expect(await files('specs/sub', 'specs/a.md', 'specs/*.md', 'specs/sub/d.md', 'README.md', join(root, 'specs/a.md'))).toEqual([
      'README.md', 'specs/a.md', 'specs/sub/d.md', 'specs/sub/deep/e.rst', 'specs/sub/f.adoc',
    ]);
  });

  it('gives paths relative to the working directory, with ../ outside it', async () => {
    const r = await resolveInputs(['../README.md', '*.md'], { cwd: join(root, 'specs') });
    expect(r.files).toEqual(['../README.md', 'a.md', 'link-in.md']);
    expect(r.skipped).toEqual([
      { path: 'broken.md', reason: 'broken-symlink' },
      { path: 'link-out.md', reason: 'symlink-outside' },
    ]);
  });

  it.each([
    ['specs/*.pdf', 'No file matches "specs/*.pdf"; check the path or quote the glob'],
    ['missing.md', 'No file matches "missing.md"; check the path or quote the glob'],
    ['specs/**/none-*.md', 'No file matches "specs/**/none-*.md"; check the path or quote the glob'],
    ['empty', 'No file matches "empty": the folder holds no .md, .markdown, .mdx, .txt, .rst or .adoc file outside dot-folders and node_modules'],
    ['', 'Expected a file, folder or glob, got an empty argument'],
  ])('refuses %j, which gives no file, with a UsageError (exit 2)', async (pattern, message) => {
    const error = await resolve(['README.md', pattern]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(message);
  });

  it('refuses a brace pattern that would expand past the limit', async () => {
    const error = await resolve(['{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b,c,d}.md']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^Expected at most 1024 alternatives/);
  });

  it('refuses bad extensions', async () => {
    await expect(resolve(['specs'], ['*.md'])).rejects.toThrow('Expected a file extension like ".md", got "*.md"');
  });
});

describe('glob', () => {
  it('expands braces in order, nested, and leaves braces without alternatives alone', () => {
    expect(expandBraces('a{b,c{d,e}}f')).toEqual(['abf', 'acdf', 'acef']);
    expect(expandBraces('{x}.md')).toEqual(['{x}.md']);
    expect(expandBraces('a{b,c')).toEqual(['a{b,c']);
    expect(expandBraces('a\\{b,c}')).toEqual(['a\\{b,c}']);
    expect(expandBraces('{a,a}')).toEqual(['a']);
    expect(expandBraces('src/{a,b}/x')).toEqual(['src/a/x', 'src/b/x']);
  });

  it('compiles segments with *, ?, classes and escapes', () => {
    const match = (pattern: string, name: string) => segmentRegExp(pattern).test(name);
    expect(match('*.md', 'a.md')).toBe(true);
    expect(match('*.md', '.a.md')).toBe(false);
    expect(match('.*', '.git')).toBe(true);
    expect(match('?.md', 'ab.md')).toBe(false);
    expect(match('?.md', 'é.md')).toBe(true);
    expect(match('[a-c]x', 'bx')).toBe(true);
    expect(match('[!a-c]x', 'bx')).toBe(false);
    expect(match('[^a-c]x', 'dx')).toBe(true);
    expect(match('v[[:digit:]].md', 'v7.md')).toBe(true);
    expect(match('v[[:digit:]].md', 'vx.md')).toBe(false);
    expect(match('[]]', ']')).toBe(true);
    expect(match('\\*.md', '*.md')).toBe(true);
    expect(match('\\*.md', 'a.md')).toBe(false);
    expect(match('a(1)+.md', 'a(1)+.md')).toBe(true);
    expect(match('[a', '[a')).toBe(true);
  });

  it('tells globs from plain paths', () => {
    expect(isGlob('specs/a.md')).toBe(false);
    expect(isGlob('specs/{x}.md')).toBe(false);
    expect(isGlob('specs/*.md')).toBe(true);
    expect(isGlob('specs/{a,b}.md')).toBe(true);
    expect(isGlob('specs/\\*.md')).toBe(false);
  });
});
