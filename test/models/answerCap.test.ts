/**
 * Issue 11, row 14: an answer over MAX_ANSWER_CHARS is cut at the cap while it arrives (the
 * request aborted, so memory and time stay bounded), marked as cut, and one answer yields at most
 * MAX_CLAIMS_PER_ANSWER claims. The loopback server generates its answers; no fixture is held.
 */
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_CLAIMS_PER_ANSWER, extractClaims } from '../../src/claims/extract.js';
import { tally } from '../../src/claims/tally.js';
import { ModelCallError } from '../../src/errors.js';
import { ANSWER_CAP_FINISH_REASON, MAX_ANSWER_CHARS } from '../../src/models/call.js';
import { createOpenAICall } from '../../src/models/openaiCall.js';
import { readJsonl } from '../../src/sinks/readJsonl.js';
import type { ConsensusDocument, ModelSuccess, PanelMember } from '../../src/types.js';
import { runCli, tempDir } from '../helpers/cli.js';

const KEY = 'sk-test-0123456789abcdef';
const env = { OPENROUTER_API_KEY: KEY };
const REQUEST = { query: 'What does the spec say?' };
const PORT_FACT = 'The protocol uses port 8080 by default.';
const SEQ_FACT = 'Every message carries a sequence number.';
/** What the huge answer would be if read to its end: many times the cap. */
const HUGE_CHARS = 12 * MAX_ANSWER_CHARS;
/** The JSON body that never ends: far more than socket buffers hold. */
const ENDLESS_BYTES = 32_000_000;

/** Distinct filler bullets, each a claim of its own, `size` characters or a little more. */
function filler(from: number, size: number): { text: string; next: number } {
  let text = '';
  let n = from;
  while (text.length < size) text += `- Filler statement number ${n++} asserts nothing of interest here.\n`;
  return { text, next: n };
}

interface Served {
  /** The response closed before the server had written all it meant to. */
  disconnectedEarly: boolean;
  /** Bytes written into the response body before it ended or closed. */
  bytes: number;
}

const sse = (model: string, delta: object, finish: string | null) =>
  `data: ${JSON.stringify({ id: `gen-${model}`, object: 'chat.completion.chunk', model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

/** Writes `pieces` with backpressure, stopping when the client goes away. */
async function pump(res: ServerResponse, served: Served, pieces: () => string | undefined): Promise<boolean> {
  let closed = false;
  res.on('close', () => (closed = true));
  for (let piece = pieces(); piece !== undefined; piece = pieces()) {
    if (closed || res.destroyed) return false;
    served.bytes += Buffer.byteLength(piece);
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  return !(closed || res.destroyed);
}

let server: Server;
let baseURL = '';
const served = new Map<string, Served>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { model, stream } = JSON.parse(body) as { model: string; stream?: boolean };
      const record: Served = { disconnectedEarly: false, bytes: 0 };
      served.set(model, record);
      res.on('close', () => {
        if (!res.writableFinished) record.disconnectedEarly = true;
      });
      void (async () => {
        if (model === 'acme/huge-stream') {
          // 12 MB of distinct bullets in 16 KB chunks, then a normal end.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          let sent = 0;
          let n = 0;
          const whole = await pump(res, record, () => {
            if (sent >= HUGE_CHARS) return undefined;
            const { text, next } = filler(n, 16_384);
            n = next;
            sent += text.length;
            return sse(model, { content: text }, null);
          });
          if (whole) res.end(`${sse(model, {}, 'stop')}data: [DONE]\n\n`);
          return;
        }
        if (model === 'acme/huge-json') {
          // One completion whose content is 1.5 times the cap, as a whole JSON body.
          const content = filler(0, Math.floor(1.5 * MAX_ANSWER_CHARS)).text;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: 'gen-json', object: 'chat.completion', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }] }));
          return;
        }
        if (model === 'acme/endless-json') {
          // A JSON body that goes on and on (chunked, no length stated).
          res.writeHead(200, { 'content-type': 'application/json' });
          let sent = 0;
          let first = true;
          const whole = await pump(res, record, () => {
            if (sent >= ENDLESS_BYTES) return undefined;
            const piece = first ? '{"id":"gen-endless","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"' : 'x'.repeat(16_384);
            first = false;
            sent += piece.length;
            return piece;
          });
          if (whole) res.end('"}}]}');
          return;
        }
        const text = model === 'acme/two' ? `- ${PORT_FACT}\n- ${SEQ_FACT}` : `- ${SEQ_FACT}\n- ${PORT_FACT}`;
        if (stream === false) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: `gen-${model}`, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }] }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(sse(model, { role: 'assistant', content: text }, null));
        res.end(`${sse(model, {}, 'stop')}data: [DONE]\n\n`);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => served.clear());

const member = (model: string): PanelMember => ({ port: 0, model, family: 'acme', baseURL, apiKeyEnv: 'OPENROUTER_API_KEY', timeoutMs: 30_000 });
const hooks = () => ({ signal: new AbortController().signal });

/** Waits until the server has seen the response end or close (the close reaches it a moment later). */
async function settled(model: string): Promise<Served> {
  for (let i = 0; i < 200; i++) {
    const s = served.get(model);
    if (s?.disconnectedEarly) return s;
    await new Promise((r) => setTimeout(r, 10));
  }
  return served.get(model)!;
}

describe('createOpenAICall: an answer over the size cap (issue 11, row 14)', () => {
  it('cuts a streamed answer at the cap, marks it, and aborts the request', async () => {
    const call = createOpenAICall({ env, stream: true });
    const answer = await call(member('acme/huge-stream'), REQUEST, hooks());
    // Before the fix: all 12 MB came back, finish reason "stop".
    expect(answer.text.length).toBeLessThanOrEqual(MAX_ANSWER_CHARS);
    expect(answer.text.length).toBeGreaterThan(MAX_ANSWER_CHARS - 20_000);
    expect(answer.finishReason).toBe(ANSWER_CAP_FINISH_REASON);
    const seen = await settled('acme/huge-stream');
    expect(seen.disconnectedEarly).toBe(true);
    // The server stopped long before its 12 MB: memory and time stay bounded.
    expect(seen.bytes).toBeLessThan(HUGE_CHARS / 2);
  });

  it('cuts an unstreamed answer over the cap and marks it', async () => {
    const call = createOpenAICall({ env, stream: false });
    const answer = await call(member('acme/huge-json'), REQUEST, hooks());
    expect(answer.text.length).toBeLessThanOrEqual(MAX_ANSWER_CHARS);
    expect(answer.text.length).toBeGreaterThan(MAX_ANSWER_CHARS - 100);
    expect(answer.finishReason).toBe(ANSWER_CAP_FINISH_REASON);
  });

  it('keeps an answer under the cap whole, with its own finish reason', async () => {
    for (const stream of [true, false]) {
      const answer = await createOpenAICall({ env, stream })(member('acme/two'), REQUEST, hooks());
      expect(answer).toMatchObject({ text: `- ${PORT_FACT}\n- ${SEQ_FACT}`, finishReason: 'stop' });
    }
  });

  it('refuses an unstreamed body too big for any answer under the cap as it arrives, aborting the request', async () => {
    const call = createOpenAICall({ env, stream: false, maxAnswerChars: 1_000 });
    let error: unknown;
    await call(member('acme/endless-json'), REQUEST, hooks()).catch((e: unknown) => (error = e));
    expect(error).toBeInstanceOf(ModelCallError);
    expect(error).toMatchObject({ kind: 'malformed' });
    expect((error as Error).message).toMatch(/passed \d+ bytes/);
    const seen = await settled('acme/endless-json');
    expect(seen.disconnectedEarly).toBe(true);
    // Loopback socket buffers take a few MB the client never reads; the rest was never sent.
    expect(seen.bytes).toBeLessThan(ENDLESS_BYTES / 2);
  });
});

describe('claims per answer are capped', () => {
  const bullets = (n: number) => Array.from({ length: n }, (_, i) => `- Filler statement number ${i} asserts nothing of interest here.`).join('\n');

  it(`keeps at most ${MAX_CLAIMS_PER_ANSWER} claims of one answer, the first ones`, () => {
    expect(MAX_CLAIMS_PER_ANSWER).toBe(40);
    const claims = extractClaims(bullets(500));
    expect(claims).toHaveLength(MAX_CLAIMS_PER_ANSWER);
    expect(claims[0]).toBe('Filler statement number 0 asserts nothing of interest here.');
    expect(claims.at(-1)).toBe(`Filler statement number ${MAX_CLAIMS_PER_ANSWER - 1} asserts nothing of interest here.`);
    const json = JSON.stringify({ claims: Array.from({ length: 300 }, (_, i) => `Claim number ${i} is a distinct statement.`) });
    expect(extractClaims(json)).toHaveLength(MAX_CLAIMS_PER_ANSWER);
  });

  it('lets one flooding port add no more than the cap to the dissent, and marks it cut', () => {
    const answer = (port: number, text: string, finishReason = 'stop'): ModelSuccess => ({
      ok: true,
      port,
      model: `m${port}`,
      family: `f${port}`,
      latencyMs: 1,
      attempts: 1,
      text,
      usage: {},
      finishReason,
    });
    const result = tally(
      [answer(0, `- ${PORT_FACT}`), answer(1, `- ${PORT_FACT}`), answer(2, `- ${PORT_FACT}\n${bullets(1_000)}\n- Filler statement cut mid`, ANSWER_CAP_FINISH_REASON)],
      { panelSize: 3 },
    );
    expect(result.truncated).toEqual([2]);
    expect(result.dissent.filter((c) => c.ports.includes(2)).length).toBeLessThanOrEqual(MAX_CLAIMS_PER_ANSWER);
    expect(result.claims.map((c) => c.text)).toEqual([PORT_FACT]);
  });
});

describe('quorum ask with a 12 MB answer (loopback server)', () => {
  it('records the answer cut at the cap, marks it truncated, and caps its claims', async () => {
    const dir = tempDir();
    const out = join(dir, 'artifacts');
    const panel = join(dir, 'panel.json');
    const models = ['acme/one', 'acme/two', 'acme/huge-stream'];
    writeFileSync(
      panel,
      JSON.stringify({ baseURL, timeoutMs: 60_000, retry: { maxRetries: 0 }, members: models.map((model, port) => ({ port, model, family: model.split('/')[1] })) }),
    );
    const run = await runCli(['ask', 'What does the spec say?', '--panel', panel, '--out', out, '--grace', '-1', '--rounds', '1'], env);
    expect(run.stderr).not.toMatch(/Error/);
    const [runId] = readdirSync(join(out, 'runs'));
    const runDir = join(out, 'runs', runId!);
    const doc = JSON.parse(readFileSync(join(runDir, 'consensus.json'), 'utf8')) as ConsensusDocument;
    expect(doc.truncated).toEqual([2]);
    // Ports 0 and 1 agree (2 of the 3 votes q needs); the flood is dissent from port 2 alone.
    expect([...doc.claims, ...doc.dissent].filter((c) => c.ports.includes(0)).map((c) => [c.text, c.ports])).toEqual(
      expect.arrayContaining([
        [PORT_FACT, [0, 1]],
        [SEQ_FACT, [0, 1]],
      ]),
    );
    expect([...doc.claims, ...doc.dissent].filter((c) => c.ports.includes(2)).length).toBeLessThanOrEqual(MAX_CLAIMS_PER_ANSWER);
    expect(readFileSync(join(runDir, 'consensus.md'), 'utf8')).toContain('**Truncated:** the answer of port 2 was cut');
    expect(run.stdout).toContain('Truncated: the answer of port 2 was cut');
    const answers = (await readJsonl<{ port: number; finishReason: string | null; text: string }>(join(out, 'answers.jsonl'))).records;
    const huge = answers.find((a) => a.port === 2)!;
    expect(huge.finishReason).toBe(ANSWER_CAP_FINISH_REASON);
    expect(huge.text.length).toBeLessThanOrEqual(MAX_ANSWER_CHARS);
    expect(readFileSync(join(out, 'answers.jsonl')).length).toBeLessThan(3 * MAX_ANSWER_CHARS);
    expect((await settled('acme/huge-stream')).disconnectedEarly).toBe(true);
  }, 60_000);
});
