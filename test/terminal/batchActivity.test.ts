import { afterEach, describe, expect, it } from 'vitest';
import { createOpenAICall } from '../../src/models/openaiCall.js';
import { startSandboxServer, type SandboxServer } from '../../src/sandbox/server.js';
import { type BatchActivity, countingCall } from '../../src/terminal/batchActivity.js';
import type { PanelMember } from '../../src/types.js';

let server: SandboxServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function recorder() {
  const seen: string[] = [];
  const activity: BatchActivity = {
    callStarted: () => seen.push('start'),
    callEnded: () => seen.push('end'),
    streaming: () => {},
    finished: () => {},
  };
  return { seen, activity };
}

describe('countingCall: what "in flight" counts', () => {
  it('counts a real request from its start to its answer, and a cancelled one until its abort, once each', async () => {
    server = await startSandboxServer({ scenario: { models: [{ model: 'acme/fast', answer: '{"claims":["A."]}' }, { model: 'acme/stuck', fault: 'hang' }] } });
    const member = (port: number, model: string): PanelMember => ({ port, model, family: 'acme', baseURL: server!.baseURL, apiKeyEnv: 'KEY', timeoutMs: 10_000 });
    const { seen, activity } = recorder();
    const call = countingCall(createOpenAICall({ env: { KEY: 'sk-test' } }), activity);

    const answered = call(member(0, 'acme/fast'), { query: 'q' }, { signal: new AbortController().signal });
    expect(seen).toEqual(['start']);
    await answered;
    expect(seen).toEqual(['start', 'end']);

    const controller = new AbortController();
    const stuck = call(member(1, 'acme/stuck'), { query: 'q' }, { signal: controller.signal });
    const settled = stuck.then(
      () => 'answered',
      () => 'rejected',
    );
    expect(seen).toEqual(['start', 'end', 'start']);
    controller.abort();
    // Ended at the abort, before the request's promise settles, and not again when it does.
    expect(seen).toEqual(['start', 'end', 'start', 'end']);
    expect(await settled).toBe('rejected');
    expect(seen).toEqual(['start', 'end', 'start', 'end']);
  });

  it('is the call itself when nothing watches', () => {
    const call = createOpenAICall({ env: {} });
    expect(countingCall(call, undefined)).toBe(call);
  });
});
