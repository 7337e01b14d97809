/**
 * `--sandbox` with the user's own document (issue 12, item 7), through the real binary: the
 * simulated panel answers from the document's sentences, so consensus is sentences of the
 * document and dissent holds the mistakes the simulated models planted; the same every run.
 * Without a document, the scripted claims about the sandbox stay.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { neutraliseDocument } from '../../src/models/prompt.js';
import { SANDBOX_MODELS, SANDBOX_SHARED_FACTS } from '../../src/sandbox/defaultScenario.js';
import { plantedClaims } from '../../src/sandbox/documentAnswers.js';
import { spawnCli, tempDir } from '../helpers/cli.js';

const EXAMPLES = resolve(import.meta.dirname, '../../examples');
const norm = (s: string): string => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();

interface Claim {
  text: string;
  support: number;
}
interface Consensus {
  status: string;
  claims: Claim[];
  dissent: Claim[];
}

async function askJson(args: string[]): Promise<Consensus> {
  const run = await spawnCli(['ask', ...args, '--sandbox', '--json', '--out', tempDir()]).done;
  expect(run.stderr).not.toMatch(/Error/);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Consensus;
}

/** Every planted mistake of the eight simulated models for this document text. */
function planted(text: string): string[] {
  const doc = neutraliseDocument(text);
  return [...new Set(SANDBOX_MODELS.flatMap((m) => plantedClaims(m.model, doc)))];
}

describe('ask --context FILE --sandbox', () => {
  const file = join(EXAMPLES, 'protocol.md');
  const text = readFileSync(file, 'utf8');

  it('consensus claims are sentences of the document; dissent holds the planted mistakes; the same every run', async () => {
    const args = ['What does the Tidemark protocol guarantee?', '--context', file];
    const [first, second] = await Promise.all([askJson(args), askJson(args)]);
    expect(first.status).toBe('consensus');
    expect(first.claims.length).toBeGreaterThanOrEqual(5);
    for (const c of first.claims) expect(norm(text), c.text).toContain(norm(c.text));
    // Nothing about the sandbox itself leaks into an answer about the user's document.
    for (const fact of SANDBOX_SHARED_FACTS) expect(first.claims.map((c) => c.text)).not.toContain(fact);

    const mistakes = planted(text);
    const dissent = first.dissent.map((d) => d.text);
    for (const m of mistakes) expect(first.claims.map((c) => c.text), m).not.toContain(m);
    expect(mistakes.filter((m) => dissent.includes(m)).length).toBeGreaterThanOrEqual(Math.ceil(mistakes.length / 2));
    // At least one dissenting claim is not in the document at all: an invented or distorted one.
    expect(dissent.some((d) => !norm(text).includes(norm(d)))).toBe(true);

    const shape = (c: Consensus) => ({ claims: c.claims.map((x) => [x.text, x.support]), dissent: c.dissent.map((x) => [x.text, x.support]) });
    expect(shape(second)).toEqual(shape(first));
  }, 60_000);

  it('one round (--rounds 1) shows the same split between the document and the mistakes', async () => {
    const result = await askJson(['What does the Tidemark protocol guarantee?', '--context', file, '--rounds', '1']);
    expect(result.claims.length).toBeGreaterThanOrEqual(5);
    for (const c of result.claims) expect(norm(text)).toContain(norm(c.text));
    expect(result.dissent.some((d) => planted(text).includes(d.text))).toBe(true);
  }, 60_000);

  it('without --context the scripted scenario about the sandbox stays', async () => {
    const result = await askJson(['What is the sandbox?']);
    expect(result.claims.map((c) => c.text).sort()).toEqual([...SANDBOX_SHARED_FACTS].sort());
  }, 60_000);
});

describe('batch --sandbox', () => {
  it('answers every chunk from its own text', async () => {
    const out = tempDir();
    const run = await spawnCli(['batch', EXAMPLES, '--query', 'What do these specs say?', '--sandbox', '--out', out]).done;
    expect(run.code).toBe(0);
    const lines = readFileSync(join(out, 'runs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Consensus & { chunk: { source: string } });
    const sources = lines.map((l) => l.chunk.source.split('/').at(-1)).sort();
    expect(sources).toEqual(['protocol.md', 'storage.md']);
    for (const line of lines) {
      const own = readFileSync(join(EXAMPLES, line.chunk.source.split('/').at(-1)!), 'utf8');
      expect(line.claims.length, line.chunk.source).toBeGreaterThanOrEqual(3);
      for (const c of line.claims) expect(norm(own), c.text).toContain(norm(c.text));
    }
  }, 60_000);
});
