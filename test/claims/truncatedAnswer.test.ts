/**
 * Issue 11, row 10: an answer the model cut at its output limit (finish_reason `length`) is
 * marked truncated, and its last, unfinished claim is not a claim.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractClaims } from '../../src/claims/extract.js';
import { tally } from '../../src/claims/tally.js';
import { readJsonl } from '../../src/sinks/readJsonl.js';
import type { ConsensusDocument, ModelSuccess } from '../../src/types.js';
import { runCli, tempDir } from '../helpers/cli.js';

const PORT_FACT = 'The protocol uses port 8080 by default.';
const SEQ_FACT = 'Every message carries a sequence number.';
const FRAGMENT = 'Connections close after thirty sec';

describe('extractClaims with truncated: true', () => {
  it('drops a bullet cut mid-sentence, and only with the flag', () => {
    const text = `- ${PORT_FACT}\n- ${SEQ_FACT}\n- ${FRAGMENT}`;
    expect(extractClaims(text)).toEqual([PORT_FACT, SEQ_FACT, FRAGMENT]);
    expect(extractClaims(text, { truncated: true })).toEqual([PORT_FACT, SEQ_FACT]);
  });

  it('drops the cut last sentence of prose', () => {
    expect(extractClaims(`${PORT_FACT} ${SEQ_FACT} ${FRAGMENT}`, { truncated: true })).toEqual([PORT_FACT, SEQ_FACT]);
  });

  it('keeps a last sentence that ended before the cut', () => {
    expect(extractClaims(`- ${PORT_FACT}\n- ${SEQ_FACT}`, { truncated: true })).toEqual([PORT_FACT, SEQ_FACT]);
  });

  it('never throws, and a cut answer yields no more claims than its text holds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const cut = extractClaims(text, { truncated: true });
        expect(cut.length).toBeLessThanOrEqual(Math.max(extractClaims(text).length, 1));
      }),
      { seed: 11, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom('{', '}', '[', ']', '"', "'", ':', ',', ' ', 'claims', 'text', 'Water boils here.', '\n- '), { maxLength: 40 }), (parts) => {
        extractClaims(parts.join(''), { truncated: true });
      }),
      { seed: 11, numRuns: 500 },
    );
  });

  it('drops a JSON string left open, even as the only element', () => {
    expect(extractClaims(`{"claims": ["${FRAGMENT}`)).toEqual([FRAGMENT]);
    expect(extractClaims(`{"claims": ["${FRAGMENT}`, { truncated: true })).toEqual([]);
    expect(extractClaims(`{"claims": [{"text": "${FRAGMENT}`, { truncated: true })).toEqual([]);
    expect(extractClaims(`{"claims": ["${PORT_FACT}", "${FRAGMENT}`, { truncated: true })).toEqual([PORT_FACT]);
    // Closed JSON followed by cut prose: every claim in it was finished.
    expect(extractClaims(`\`\`\`json\n{"claims": ["${PORT_FACT}", "${SEQ_FACT}"]}\n\`\`\`\nNotes that were cu`, { truncated: true })).toEqual([PORT_FACT, SEQ_FACT]);
  });
});

describe('tally of a cut answer', () => {
  const answer = (port: number, text: string, finishReason = 'stop'): ModelSuccess => ({
    ok: true,
    port,
    model: `model-${port}`,
    family: `family-${port}`,
    latencyMs: 100,
    attempts: 1,
    text,
    usage: {},
    finishReason,
  });

  it('marks the port truncated and keeps its fragment out of the claims', () => {
    const result = tally(
      [answer(0, `- ${PORT_FACT}\n- ${SEQ_FACT}`), answer(1, `- ${PORT_FACT}`), answer(2, `- ${PORT_FACT}\n- ${FRAGMENT}`, 'length')],
      { panelSize: 3 },
    );
    expect(result.truncated).toEqual([2]);
    expect([...result.claims, ...result.dissent].map((c) => c.text)).not.toContain(FRAGMENT);
    expect(result.claims.map((c) => [c.text, c.ports])).toEqual([[PORT_FACT, [0, 1, 2]]]);
  });

  it('says nothing of truncation when no answer was cut', () => {
    expect(tally([answer(0, `- ${PORT_FACT}`)], { panelSize: 1 })).not.toHaveProperty('truncated');
  });

  it('names the cut when a cut answer held nothing but its fragment', () => {
    const result = tally([answer(0, `- ${PORT_FACT}`), answer(1, `- ${FRAGMENT}`, 'length')], { panelSize: 2 });
    expect(result.truncated).toEqual([1]);
    expect(result.failures).toEqual([expect.objectContaining({ port: 1, kind: 'malformed', message: 'No claim could be extracted from the answer (cut at the output limit)' })]);
  });
});

describe('quorum ask with an answer cut at the output limit (loopback server)', () => {
  // Three models; `acme/cut` stops at its token limit mid-bullet, streamed like any other.
  const answers: Record<string, { text: string; finish: string }> = {
    'acme/one': { text: `- ${PORT_FACT}\n- ${SEQ_FACT}`, finish: 'stop' },
    'acme/two': { text: `- ${PORT_FACT}\n- ${SEQ_FACT}`, finish: 'stop' },
    'acme/cut': { text: `- ${PORT_FACT}\n- ${FRAGMENT}`, finish: 'length' },
  };
  let server: Server;
  let baseURL = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const { model } = JSON.parse(body) as { model: string };
        const a = answers[model];
        if (!a) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such model","code":404}}');
          return;
        }
        const chunk = (delta: object, finish: string | null) =>
          `data: ${JSON.stringify({ id: `gen-${model}`, object: 'chat.completion.chunk', model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk({ role: 'assistant', content: a.text }, null));
        res.write(chunk({}, a.finish));
        res.end('data: [DONE]\n\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([1, 2])('marks the cut answer in consensus.json, consensus.md and the terminal, and drops its fragment (--rounds %i)', async (rounds) => {
    const dir = tempDir();
    const out = join(dir, 'artifacts');
    const panel = join(dir, 'panel.json');
    writeFileSync(
      panel,
      JSON.stringify({
        baseURL,
        timeoutMs: 5000,
        retry: { maxRetries: 0 },
        members: Object.keys(answers).map((model, port) => ({ port, model, family: model.split('/')[1] })),
      }),
    );
    const run = await runCli(['ask', 'What does the spec say?', '--panel', panel, '--out', out, '--grace', '-1', '--rounds', String(rounds)], {
      OPENROUTER_API_KEY: 'sk-test-0123456789',
    });
    expect(run.stderr).not.toMatch(/Error/);
    const [runId] = readdirSync(join(out, 'runs'));
    const runDir = join(out, 'runs', runId!);
    const doc = JSON.parse(readFileSync(join(runDir, 'consensus.json'), 'utf8')) as ConsensusDocument;
    expect(doc.truncated).toEqual([2]);
    expect([...doc.claims, ...doc.dissent].flatMap((c) => [c.text, ...(c.wordings ?? []).map((w) => w.text)])).not.toContain(FRAGMENT);
    expect(doc.claims.map((c) => c.text)).toContain(PORT_FACT);
    expect(readFileSync(join(runDir, 'consensus.md'), 'utf8')).toContain("**Truncated:** the answer of port 2 was cut at the model's output limit");
    expect(run.stdout).toContain('Truncated: the answer of port 2 was cut');
    // The answer itself is kept verbatim, with its finish reason.
    const answerLines = (await readJsonl<{ port: number; finishReason: string | null; text: string; round?: number }>(join(out, 'answers.jsonl'))).records;
    expect(answerLines.find((a) => a.port === 2 && (a.round ?? 1) === 1)).toMatchObject({ finishReason: 'length', text: answers['acme/cut']!.text });
    expect(existsSync(join(runDir, 'consensus.md'))).toBe(true);
  });
});
