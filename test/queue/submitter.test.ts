/**
 * `quorum batch --queue` at its edges (issue 14): bad or unreachable queues, the events on the
 * bus, keys that must never travel, Ctrl-C and --resume, and a chunk decided twice. A real
 * nats-server per test, the real `openai` client against the sandbox server on loopback, the CLI
 * in-process (`startCli`) for the submitter and the workers.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type Msg, type NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { type DecidedResult, encodeResult, MESSAGE_VERSION } from '../../src/queue/messages.js';
import { RESULTS_STREAM, TASKS_STREAM, WORKERS_CONSUMER, resultSubject } from '../../src/queue/names.js';
import { ensureStreams, ensureWorkerConsumer } from '../../src/queue/streams.js';
import type { RunLine } from '../../src/runlog/lines.js';
import { panelScenario, runCli, tempDir, writePanel } from '../helpers/cli.js';
import { closedPort, natsSkipReason } from '../helpers/natsServer.js';
import { inputs, queueKit } from '../helpers/queueKit.js';
import { until } from '../helpers/until.js';
import { logLines, runLines } from '../helpers/runLog.js';

type CloudEvent = { id: string; type: string; specversion: string; runid?: string; batchid?: string; chunkid?: string; data: Record<string, unknown> };

const { cleanups, nats, sandbox, client, started } = queueKit();

/** A worker in-process, stopped (Ctrl-C) at the end of the test if the test did not. */
const worker = (args: string[], env: NodeJS.ProcessEnv = {}) => started(['worker', ...args], env);
/** A submitter in-process, interrupted at the end of the test if still running. */
const submit = (args: string[], env: NodeJS.ProcessEnv = {}) => started(['batch', ...args], env);

async function streamMessages(jsmOf: NatsConnection, stream: string): Promise<{ messages: number; lastSeq: number }> {
  const jsm = await jetstreamManager(jsmOf);
  const info = await jsm.streams.info(stream);
  return { messages: info.state.messages, lastSeq: info.state.last_seq };
}

const events = (out: string) => logLines<CloudEvent>(out, 'cloudevents.jsonl');

/** Every file under a folder, as text (the artifacts of a batch). */
function allText(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    text += statSync(path).isDirectory() ? allText(path) : readFileSync(path, 'utf8');
  }
  return text;
}

const ONE_LINE = /^[^\n]+\n?$/;

describe.skipIf(Boolean(natsSkipReason))(`batch --queue: bad queues${natsSkipReason ? ` (skipped: ${natsSkipReason})` : ''}`, () => {
  it.each([
    ['empty', '', /--queue is empty/],
    ['garbage', 'nats://no such host!', /is not a server address|names no host/],
    ['http://', 'http://127.0.0.1:4222', /--queue takes a nats:\/\/ or tls:\/\/ address, got http:/],
  ])('refuses an %s --queue with one line and exit 2, writing nothing', async (_, queue, message) => {
    const dir = tempDir('quorum-queue-bad-');
    const out = join(dir, 'out');
    const run = await runCli(['batch', inputs(dir, 1), '--query', 'Q?', '--sandbox', '--queue', queue, '--out', out]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(ONE_LINE);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/nats:\/\/127\.0\.0\.1:4222/); // what to give instead
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('refuses an unreachable server with one line naming its address, before anything is written', async () => {
    const dir = tempDir('quorum-queue-down-');
    const out = join(dir, 'out');
    const port = await closedPort();
    const run = await runCli(['batch', inputs(dir, 1), '--query', 'Q?', '--sandbox', '--queue', `nats://127.0.0.1:${port}`, '--out', out]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(ONE_LINE);
    expect(run.stderr).toContain(`Cannot reach the NATS server at nats://127.0.0.1:${port}`);
    expect(existsSync(join(out, 'batches.jsonl'))).toBe(false);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('never shows the password of a --queue URL, even when the server cannot be reached', async () => {
    const dir = tempDir('quorum-queue-secret-');
    const port = await closedPort();
    const run = await runCli(['batch', inputs(dir, 1), '--query', 'Q?', '--sandbox', '--queue', `nats://u:s3cr3t-pw@127.0.0.1:${port}`, '--out', join(dir, 'out')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`nats://127.0.0.1:${port}`);
    expect(run.stderr + run.stdout).not.toContain('s3cr3t-pw');
  });
});

describe.skipIf(Boolean(natsSkipReason))(`batch --queue with workers${natsSkipReason ? ` (skipped: ${natsSkipReason})` : ''}`, () => {
  it('publishes every event of the run log on quorum.events.<type>, as structured CloudEvents, batch events included', async () => {
    const server = await nats();
    const watcher = await client(server.url);
    const arrived: { subject: string; contentType: string | undefined; event: CloudEvent }[] = [];
    const sub = watcher.subscribe('quorum.events.>', {
      callback: (_err, m: Msg) => {
        arrived.push({ subject: m.subject, contentType: m.headers?.get('content-type'), event: m.json<CloudEvent>() });
      },
    });
    await watcher.flush();
    const dir = tempDir('quorum-queue-bus-');
    const out = join(dir, 'out');
    const batch = submit([inputs(dir, 3), '--query', 'What does the protocol say?', '--sandbox', '--queue', server.url, '--out', out, '--rounds', '1', '--json']);
    worker(['--queue', server.url, '--sandbox']);
    const done = await batch.done;
    expect(done.code, done.stderr).toBe(0);

    const logged = events(out);
    // The bus is fire and forget: wait until every logged event came (a missing one times out).
    await until('every logged event on the bus', () => {
      const ids = new Set(arrived.map((a) => a.event.id));
      return logged.every((e) => ids.has(e.id));
    });
    sub.unsubscribe();
    expect(new Set(arrived.map((a) => a.event.type))).toEqual(new Set(logged.map((e) => e.type)));
    for (const type of ['quorum.batch.started', 'quorum.batch.completed', 'quorum.run.started', 'quorum.run.completed']) expect(logged.map((e) => e.type)).toContain(type);
    for (const { subject, contentType, event } of arrived) {
      expect(subject).toBe(`quorum.events.${event.type}`);
      expect(contentType).toMatch(/^application\/cloudevents\+json\b/);
      expect(event.specversion).toBe('1.0');
    }
    // The same event, not a look-alike: the bus copy equals the logged one.
    const byId = new Map(arrived.map((a) => [a.event.id, a.event]));
    for (const e of logged) expect(byId.get(e.id)).toEqual(e);
    const batchId = JSON.parse(done.stdout).batchId;
    expect(arrived.filter((a) => a.event.type === 'quorum.batch.completed' && a.event.batchid === batchId)).toHaveLength(1);
  });

  it('never puts a key in a task, a result, the artifacts or the output; the worker calls with its own', async () => {
    const KEY = `sk-test-${'queue'.repeat(3)}-7f3a9c`;
    const scenario = { ...panelScenario(), requireKey: KEY };
    const models = await sandbox(scenario);
    const server = await nats();
    const nc = await client(server.url);
    const results: string[] = [];
    nc.subscribe('quorum.results.>', {
      callback: (_err, m: Msg) => {
        results.push((m.headers?.get('Content-Encoding') === 'gzip' ? gunzipSync(m.data) : Buffer.from(m.data)).toString('utf8'));
      },
    });
    await nc.flush();
    const dir = tempDir('quorum-queue-key-');
    const out = join(dir, 'out');
    const panel = writePanel(dir, models.baseURL, scenario, { apiKeyEnv: 'MY_KEY' });
    const batch = submit([inputs(dir, 2), '--query', 'Q?', '--panel', panel, '--queue', server.url, '--out', out, '--rounds', '1', '--json'], { MY_KEY: KEY });

    // The tasks as they wait on the queue, read before any worker has taken them.
    const jsm = await jetstreamManager(nc);
    await until('both tasks on the queue', async () => (await jsm.streams.info(TASKS_STREAM).catch(() => undefined))?.state.messages === 2);
    const { lastSeq } = await streamMessages(nc, TASKS_STREAM);
    const tasks: string[] = [];
    for (let seq = 1; seq <= lastSeq; seq++) {
      const m = await jsm.streams.getMessage(TASKS_STREAM, { seq });
      if (m) tasks.push(Buffer.from(m.data).toString('utf8') + JSON.stringify(m.header ? [...m.header.keys()].map((k) => m.header!.get(k)) : []));
    }
    expect(tasks).toHaveLength(2);
    expect(tasks.every((t) => t.includes('"apiKeyEnv":"MY_KEY"'))).toBe(true); // the variable's name travels
    for (const t of tasks) expect(t).not.toContain(KEY);

    const w = worker(['--queue', server.url], { MY_KEY: KEY });
    const done = await batch.done;
    expect(done.code, done.stderr).toBe(0);
    // The sandbox answers only the right key: every run reaching consensus proves the worker sent it.
    expect(runLines(out).map((r) => r.status)).toEqual(['consensus', 'consensus']);
    await until('both results seen on the bus', () => results.length >= 2);
    for (const r of results) expect(r).not.toContain(KEY);
    const stopped = await w.stop();
    expect(allText(out)).not.toContain(KEY);
    for (const text of [done.stdout, done.stderr, stopped.stdout, stopped.stderr]) expect(text).not.toContain(KEY);
  });

  it('Ctrl-C stops collecting, workers go on, and --resume commits the rest: one run line per chunk', async () => {
    // Slow enough that the submitter is interrupted with chunks still undecided.
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ latencyMs: 300 })));
    const models = await sandbox(scenario);
    const server = await nats();
    const dir = tempDir('quorum-queue-resume-');
    const out = join(dir, 'out');
    const args = [inputs(dir, 6), '--query', 'Q?', '--panel', writePanel(dir, models.baseURL, scenario), '--queue', server.url, '--out', out, '--rounds', '1', '--grace', '-1', '--json'];
    const batch = submit(args);
    const w = worker(['--queue', server.url, '--concurrency', '1']);
    await until('two chunks committed', () => runLines(out).length >= 2);
    const interrupted = await batch.stop();
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toMatch(/Interrupted: stopped collecting; the batch's tasks stay on the queue/);
    const first = JSON.parse(interrupted.stdout);
    const committedBefore = runLines(out).length;
    expect(committedBefore).toBeLessThan(6);

    const resumed = await runCli(['batch', ...args, '--resume', first.batchId]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary).toMatchObject({ batchId: first.batchId, outcome: 'completed', chunks: 6, alreadyDone: committedBefore, failed: 0 });
    const lines = runLines(out);
    expect(lines).toHaveLength(6);
    expect(new Set(lines.map((l) => l.chunk!.id)).size).toBe(6);
    expect(lines.every((l) => l.batchId === first.batchId && /:\d+$/.test(l.worker ?? ''))).toBe(true);
    await w.stop();
  });

  it('a resume whose results all wait in the stream publishes no task again', async () => {
    const server = await nats();
    const nc = await client(server.url);
    const dir = tempDir('quorum-queue-waiting-');
    const out = join(dir, 'out');
    const args = [inputs(dir, 3), '--query', 'Q?', '--sandbox', '--queue', server.url, '--out', out, '--rounds', '1', '--json'];
    // Submitted and interrupted before any worker ran: the three tasks wait on the queue.
    const batch = submit(args);
    await until('three tasks on the queue', async () => (await streamMessages(nc, TASKS_STREAM).catch(() => undefined))?.messages === 3);
    const interrupted = await batch.stop();
    expect(interrupted.code).toBe(130);
    const { batchId } = JSON.parse(interrupted.stdout);

    // A worker decides them while no submitter collects: the results wait in their stream.
    const w = worker(['--queue', server.url, '--sandbox']);
    await until('three results waiting', async () => (await streamMessages(nc, RESULTS_STREAM)).messages === 3);
    const stopped = await w.stop();
    expect(stopped.stderr.match(/^decided /gm)).toHaveLength(3);
    const tasks = await streamMessages(nc, TASKS_STREAM);
    expect(tasks.messages).toBe(0);

    const resumed = await runCli(['batch', ...args, '--resume', batchId]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ outcome: 'completed', chunks: 3, failed: 0 });
    expect(runLines(out)).toHaveLength(3);
    // Nothing published since: the queue's last sequence is the one the first session left.
    expect(await streamMessages(nc, TASKS_STREAM)).toEqual(tasks);
    expect((await streamMessages(nc, RESULTS_STREAM)).messages).toBe(0);
  });

  /**
   * A chunk decided twice: this test plays two stuck workers. It takes both tasks; the first it
   * drops (no ack, no heartbeat: the real worker gets it after AckWait and decides it), the second
   * it keeps alive, so the batch is still collecting when the stuck worker's late decision of the
   * first chunk comes. Then it lets the second go, and the batch completes.
   */
  async function decideTwice() {
    const server = await nats();
    const nc = await client(server.url);
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await ensureStreams(jsm);
    // The consumer every worker shares, with the AckWait the real worker sets too.
    await ensureWorkerConsumer(jsm, { ackWaitMs: 1_000 });
    const onBus: CloudEvent[] = [];
    nc.subscribe('quorum.events.>', {
      callback: (_err, m: Msg) => {
        onBus.push(m.json<CloudEvent>());
      },
    });
    await nc.flush();

    const dir = tempDir('quorum-queue-twice-');
    const out = join(dir, 'out');
    const batch = submit([inputs(dir, 2), '--query', 'Q?', '--sandbox', '--queue', server.url, '--out', out, '--rounds', '1', '--json']);
    await until('two tasks on the queue', async () => (await streamMessages(nc, TASKS_STREAM)).messages === 2);
    const consumer = await js.consumers.get(TASKS_STREAM, WORKERS_CONSUMER);
    const dropped = await consumer.next({ expires: 5_000 });
    const held = await consumer.next({ expires: 5_000 });
    expect(dropped && held).toBeTruthy();
    const heartbeat = setInterval(() => held!.working(), 250);
    cleanups.push(() => clearInterval(heartbeat));
    const droppedChunk = dropped!.subject.split('.').pop()!;

    const w = worker(['--queue', server.url, '--sandbox', '--ack-wait', '1']);
    const kept = await until('the dropped chunk decided by the worker', () => runLines(out).find((l) => l.chunk?.id === droppedChunk));

    // The stuck worker comes back to life and publishes its own decision of the same chunk.
    const late: DecidedResult = {
      v: MESSAGE_VERSION,
      kind: 'decided',
      batchId: kept.batchId!,
      chunkId: droppedChunk,
      runId: `${kept.runId}-late`,
      worker: 'stuck-host:4242',
      usage: { calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 },
      lines: { run: { ...kept, runId: `${kept.runId}-late`, worker: 'stuck-host:4242' } as RunLine, answers: [], events: [], spans: [], blackboard: [] },
    };
    const { data, headers } = encodeResult(late);
    await js.publish(resultSubject(late.batchId, droppedChunk), data, { msgID: `${late.batchId}.${droppedChunk}.${late.runId}`, ...(headers && { headers }) });
    const superseded = await until('the superseded event in the run log', () => events(out).find((e) => e.type === 'quorum.run.superseded'));

    clearInterval(heartbeat);
    held!.nak();
    const done = await batch.done;
    await w.stop();
    return { out, droppedChunk, kept, late, superseded, done, onBus };
  }

  it('keeps the first decision of a chunk decided twice and records the later one as quorum.run.superseded', async () => {
    const { out, droppedChunk, kept, late, superseded, done } = await decideTwice();
    expect(kept.worker).toMatch(/:\d+$/);
    expect(superseded).toMatchObject({ runid: late.runId, batchid: late.batchId, chunkid: droppedChunk, data: { keptRunId: kept.runId, worker: 'stuck-host:4242', status: kept.status } });
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ outcome: 'completed', chunks: 2, superseded: 1 });
    const lines = runLines(out);
    expect(lines).toHaveLength(2);
    expect(lines.filter((l) => l.chunk?.id === droppedChunk).map((l) => l.runId)).toEqual([kept.runId]);
    expect(events(out).filter((e) => e.type === 'quorum.run.superseded')).toHaveLength(1);
    // Nothing of the dropped run but its superseded event reached the log.
    expect(events(out).some((e) => e.runid === late.runId && e.type !== 'quorum.run.superseded')).toBe(false);
  });

  it('publishes quorum.run.superseded on the bus too, as every CloudEvent of a queued batch', async () => {
    const { superseded, onBus } = await decideTwice();
    // One connection's messages arrive in order: once the submitter's batch.completed (published
    // after any superseded event) is here, a superseded event sent on the bus is here too.
    await until('the batch.completed event on the bus', () => onBus.find((e) => e.type === 'quorum.batch.completed'));
    expect(onBus.filter((e) => e.type === 'quorum.run.superseded').map((e) => e.id), 'quorum.run.superseded is written to cloudevents.jsonl but not published on quorum.events.quorum.run.superseded').toContain(superseded.id);
  });
});
