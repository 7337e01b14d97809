/**
 * `quorum worker` at its edges (issue 14): bad flags, tasks it must refuse, a chunk no delivery
 * can decide, and Ctrl-C while it holds a task. A real nats-server per test, the real `openai`
 * client against the sandbox server on loopback; the CLI in-process, and the real binary where a
 * real signal is needed.
 */
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { TASKS_STREAM, WORKERS_CONSUMER } from '../../src/queue/names.js';
import { panelScenario, runCli, spawnCli, tempDir, writePanel } from '../helpers/cli.js';
import { closedPort, natsSkipReason } from '../helpers/natsServer.js';
import { inputs, queueKit } from '../helpers/queueKit.js';
import { until } from '../helpers/until.js';
import { runLines } from '../helpers/runLog.js';

const { cleanups, nats, sandbox, client, started } = queueKit();

const lines = (text: string, pattern: RegExp) => text.split('\n').filter((l) => pattern.test(l));

describe.skipIf(Boolean(natsSkipReason))(`quorum worker${natsSkipReason ? ` (skipped: ${natsSkipReason})` : ''}`, () => {
  describe('bad flags: one line, exit 2', () => {
    it('asks for --queue with an example when none is given', async () => {
      const run = await runCli(['worker']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^[^\n]+\n?$/);
      expect(run.stderr).toMatch(/worker --queue nats:\/\/127\.0\.0\.1:4222/);
    });

    it('refuses --sandbox with --panel', async () => {
      const dir = tempDir('quorum-worker-flags-');
      const run = await runCli(['worker', '--queue', 'nats://127.0.0.1:4222', '--sandbox', '--panel', join(dir, 'x.json')]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^[^\n]+\n?$/);
      expect(run.stderr).toMatch(/--sandbox runs its own simulated panel; drop --panel/);
    });

    it('names an unreachable server and never its password', async () => {
      const port = await closedPort();
      const run = await runCli(['worker', '--queue', `nats://me:pw-0f9e8d@127.0.0.1:${port}`]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^[^\n]+\n?$/);
      expect(run.stderr).toContain(`Cannot reach the NATS server at nats://127.0.0.1:${port}`);
      expect(run.stderr).not.toContain('pw-0f9e8d');
    });
  });

  describe('refusals', () => {
    it('a --sandbox worker takes no task of a real batch, says so once, and the tasks wait for a real worker', async () => {
      const scenario = panelScenario();
      const models = await sandbox(scenario);
      const server = await nats();
      const nc = await client(server.url);
      const dir = tempDir('quorum-worker-sandbox-');
      const out = join(dir, 'out');
      const batch = started(['batch', inputs(dir, 3), '--query', 'Q?', '--panel', writePanel(dir, models.baseURL, scenario), '--queue', server.url, '--out', out, '--rounds', '1', '--json']);
      const simulated = started(['worker', '--queue', server.url, '--sandbox']);
      const jsm = await jetstreamManager(nc);
      // Each of the three tasks reached the simulated worker (and went back to the queue).
      await until('three tasks delivered', async () => ((await jsm.consumers.info(TASKS_STREAM, WORKERS_CONSUMER).catch(() => undefined))?.delivered.consumer_seq ?? 0) >= 3);
      const refusedRun = await simulated.stop();
      expect(refusedRun.code).toBe(130);
      const refused = lines(refusedRun.stderr, /^refused/);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatch(/^refused batch \S+: this worker runs the simulator \(--sandbox\); batch \S+ asks real models$/);
      expect(refusedRun.stderr).toMatch(/0 chunk\(s\) decided/);
      expect(models.requests).toHaveLength(0);
      expect(runLines(out)).toHaveLength(0);

      // Back on the queue: a real worker decides them.
      started(['worker', '--queue', server.url]);
      const done = await batch.done;
      expect(done.code, done.stderr).toBe(0);
      expect(runLines(out)).toHaveLength(3);
    });

    it('a worker without the batch\'s key variable refuses its tasks, naming the variable once', async () => {
      const server = await nats();
      const nc = await client(server.url);
      const dir = tempDir('quorum-worker-nokey-');
      // A provider that is not on loopback: its key is required (the worker never gets to call it).
      const panel = writePanel(dir, 'https://models.example.invalid/api/v1', panelScenario(), { apiKeyEnv: 'TEAM_KEY' });
      started(['batch', inputs(dir, 3), '--query', 'Q?', '--panel', panel, '--queue', server.url, '--out', join(dir, 'out'), '--json'], { TEAM_KEY: 'sk-submitter-only' });
      const w = started(['worker', '--queue', server.url], { OPENROUTER_API_KEY: 'sk-other' });
      const jsm = await jetstreamManager(nc);
      await until('three tasks delivered', async () => ((await jsm.consumers.info(TASKS_STREAM, WORKERS_CONSUMER).catch(() => undefined))?.delivered.consumer_seq ?? 0) >= 3);
      const info = await jsm.consumers.info(TASKS_STREAM, WORKERS_CONSUMER);
      const run = await w.stop();
      const refused = lines(run.stderr, /^refused/);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatch(/^refused batch \S+: this worker cannot run batch \S+: Environment variable TEAM_KEY is not set \(needed by port 0, family0\/model-0\)$/);
      expect(run.stderr).not.toContain('sk-');
      // Refused, not dropped: all three are still on the queue for a worker that has the key.
      expect(info.num_pending + info.num_ack_pending).toBe(3);
      expect((await jsm.streams.info(TASKS_STREAM)).state.messages).toBe(3);
    });

    it('drops an unreadable task with one line, for good', async () => {
      const server = await nats();
      const nc = await client(server.url);
      const w = started(['worker', '--queue', server.url]);
      await until('the worker ready', () => /taking tasks from/.test(w.output().stderr));
      await jetstream(nc).publish('quorum.tasks.x.y', new TextEncoder().encode('not a task {'));
      await until('the dropped line', () => /dropped/.test(w.output().stderr));
      const jsm = await jetstreamManager(nc);
      // Terminated, not nak'd: once the server has the worker's answer, the task is gone from the
      // queue (not waiting for a redelivery), so it can never come back.
      const info = await until('the task settled', async () => {
        const i = await jsm.consumers.info(TASKS_STREAM, WORKERS_CONSUMER);
        return i.num_ack_pending === 0 && i;
      });
      expect(info).toMatchObject({ num_pending: 0, num_ack_pending: 0, num_redelivered: 0 });
      expect((await jsm.streams.info(TASKS_STREAM)).state.messages).toBe(0);
      const run = await w.stop();
      expect(lines(run.stderr, /^refused/)).toEqual(['refused: a task on quorum.tasks.x.y was dropped: the task is not JSON']);
    });
  });

  it('--max-deliver 2: a chunk no delivery can decide ends failed naming its deliveries; the batch exits 1 and --resume publishes it again', async () => {
    // A run's records larger than the server's max_payload: each delivery fails at the worker.
    const server = await nats({ maxPayload: 12 * 1024 });
    const nc = await client(server.url);
    const scenario = panelScenario();
    const models = await sandbox(scenario);
    const dir = tempDir('quorum-worker-maxdeliver-');
    const out = join(dir, 'out');
    const args = ['batch', inputs(dir, 1), '--query', 'Q?', '--panel', writePanel(dir, models.baseURL, scenario), '--queue', server.url, '--out', out, '--rounds', '1', '--grace', '-1'];
    const w = started(['worker', '--queue', server.url, '--max-deliver', '2']);
    // Without --json: the chunk's line in the progress says why it failed.
    const first = await runCli(args);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/failed: given up after 2 deliveries \(last on \S+:\d+\): the run's records \(\d+ bytes\) exceed the NATS server's max_payload/);
    const summary = { batchId: /^Batch (\S+):/m.exec(first.stderr)![1]! };
    expect(runLines(out)).toHaveLength(0);
    const worker = w.output().stderr;
    expect(lines(worker, /^retrying later .*\(delivery 1\)/)).toHaveLength(1);
    expect(lines(worker, /^gave up .* after 2 deliveries/)).toHaveLength(1);
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info(TASKS_STREAM)).state.last_seq;

    const resumed = started([...args, '--json', '--resume', summary.batchId]);
    await until('the task published again', async () => (await jsm.streams.info(TASKS_STREAM)).state.last_seq > before);
    await until('the second give-up', () => lines(w.output().stderr, /^gave up /).length === 2);
    // The failure is published again; the resumed batch must hear of it and end, not wait for ever.
    const ended = await Promise.race([resumed.done, until('the resumed batch to end', () => false, 60_000).catch((e: Error) => e)]);
    expect(ended, 'the resumed batch never received the second failure of the chunk').not.toBeInstanceOf(Error);
    const again = ended as Awaited<typeof resumed.done>;
    expect(again.code, again.stderr).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ batchId: summary.batchId, chunks: 1, failed: 1 });
  });

  it('a give-up that waited for a resumed batch is put back on the queue, not reported as a failure of this session', async () => {
    const server = await nats({ maxPayload: 12 * 1024 });
    const nc = await client(server.url);
    const scenario = panelScenario();
    const models = await sandbox(scenario);
    const dir = tempDir('quorum-worker-late-giveup-');
    const out = join(dir, 'out');
    const args = ['batch', inputs(dir, 1), '--query', 'Q?', '--panel', writePanel(dir, models.baseURL, scenario), '--queue', server.url, '--out', out, '--rounds', '1', '--grace', '-1'];
    const w = started(['worker', '--queue', server.url, '--max-deliver', '2']);
    const first = started(args);
    await until('the first delivery failing', () => lines(w.output().stderr, /^retrying later .*\(delivery 1\)/).length === 1);
    // The submitter goes away before the worker gives up: the failure waits in the results stream.
    const interrupted = await first.stop();
    expect(interrupted.code).toBe(130);
    const batchId = /^Batch (\S+):/m.exec(interrupted.stderr)![1]!;
    await until('the give-up', () => lines(w.output().stderr, /^gave up /).length === 1);
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info(TASKS_STREAM)).state.last_seq;

    const resumed = started([...args, '--json', '--resume', batchId]);
    // The resume publishes the chunk again (a new task), and its new give-up is what it reports.
    await until('the task published again', async () => (await jsm.streams.info(TASKS_STREAM)).state.last_seq > before);
    const again = await resumed.done;
    expect(again.code, again.stderr).toBe(1);
    expect(lines(w.output().stderr, /^gave up /)).toHaveLength(2);
    expect(JSON.parse(again.stdout)).toMatchObject({ batchId, chunks: 1, failed: 1 });
  });

  it('a task given up while no submitter listened (its worker died on the last delivery) is published again by --resume', async () => {
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ latencyMs: 1500 })));
    const models = await sandbox(scenario);
    const server = await nats();
    const nc = await client(server.url);
    const dir = tempDir('quorum-worker-dead-last-');
    const out = join(dir, 'out');
    const args = ['batch', inputs(dir, 1), '--query', 'Q?', '--panel', writePanel(dir, models.baseURL, scenario), '--queue', server.url, '--out', out, '--rounds', '1', '--grace', '-1'];
    // One delivery only, and a short ack wait: the worker's death is the task's last chance.
    const doomed = spawnCli(['worker', '--queue', server.url, '--max-deliver', '1', '--ack-wait', '1', '--concurrency', '1']);
    cleanups.push(() => (doomed.child.exitCode === null && doomed.child.signalCode === null ? doomed.child.kill('SIGKILL') : undefined));
    const first = started(args);
    await until('the worker asking the models', () => models.requests.length > 0);
    const interrupted = await first.stop();
    const batchId = /^Batch (\S+):/m.exec(interrupted.stderr)![1]!;
    doomed.child.kill('SIGKILL');
    await doomed.done;
    // Another worker pulls; the server, which would have redelivered the task to it, gives the
    // task up instead (its ack wait ran out on the last delivery), with no submitter to hear it.
    started(['worker', '--queue', server.url, '--max-deliver', '1']);
    const jsm = await jetstreamManager(nc);
    await until('the give-up advisory, kept', async () => (await jsm.streams.info('QUORUM_GIVEUPS')).state.messages > 0);
    const resumed = started([...args, '--json', '--resume', batchId]);
    const ended = await Promise.race([resumed.done, until('the resumed batch to end', () => false, 60_000).catch((e: Error) => e)]);
    expect(ended, 'the resumed batch waited for a task no worker would ever get').not.toBeInstanceOf(Error);
    const again = ended as Awaited<typeof resumed.done>;
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ batchId, chunks: 1, consensus: 1, failed: 0 });
    expect(runLines(out)).toHaveLength(1);
  }, 120_000);

  it('Ctrl-C drains: the task held finishes and reaches the batch, then the worker exits 130 with its summary', async () => {
    // Slow models: the run is surely alive when the signal comes.
    const scenario = panelScenario(Array.from({ length: 8 }, () => ({ latencyMs: 1500 })));
    const models = await sandbox(scenario);
    const server = await nats();
    const dir = tempDir('quorum-worker-drain-');
    const out = join(dir, 'out');
    const batch = started(['batch', inputs(dir, 1), '--query', 'Q?', '--panel', writePanel(dir, models.baseURL, scenario), '--queue', server.url, '--out', out, '--rounds', '1', '--grace', '-1', '--json']);
    const w = spawnCli(['worker', '--queue', server.url, '--concurrency', '1']);
    cleanups.push(() => (w.child.exitCode === null && w.child.signalCode === null ? w.child.kill('SIGKILL') : undefined));
    await until('the worker asking the models', () => models.requests.length === 8);
    w.child.kill('SIGINT');
    await until('the draining line', () => /Stopping: taking no more tasks; 1 in progress will finish/.test(w.output().stderr));
    const stopped = await w.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(new RegExp(`Worker \\S+:${w.child.pid} stopped \\(interrupted\\): 1 chunk\\(s\\) decided, 0 given up\\.`));
    // Every call of the run was answered, none cut off by the signal.
    expect(models.requests.every((r) => r.status === 200 && !r.disconnected)).toBe(true);
    const done = await batch.done;
    expect(done.code, done.stderr).toBe(0);
    const [run] = runLines(out);
    expect(run).toMatchObject({ status: 'consensus', worker: expect.stringMatching(new RegExp(`:${w.child.pid}$`)) });
  });
});
