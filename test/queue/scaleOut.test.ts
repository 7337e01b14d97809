/**
 * The issue's goal for `batch --queue`: 3 workers, 200 chunks, one worker SIGKILLed mid-way and
 * nats-server restarted once → exactly one decided run per chunk in the submitter's folder, no
 * torn line, and every chunk's consensus identical to a local batch over the same inputs against
 * the same scenario. Real processes (the bundled binary), a real nats-server, real signals.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultScenario } from '../../src/sandbox/defaultScenario.js';
import { startSandboxServer } from '../../src/sandbox/server.js';
import type { RunLine } from '../../src/runlog/lines.js';
import { spawnCli, tempDir, writePanel } from '../helpers/cli.js';
import { type NatsServer, natsSkipReason, startNatsServer } from '../helpers/natsServer.js';
import { until } from '../helpers/until.js';

const CHUNKS = 200;
const FILES = 10;

/** Generated specs: one ~30-token section per chunk at --chunk-tokens 50, each saying something different. */
function writeInputs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < FILES; f++) {
    const sections: string[] = [];
    for (let s = 0; s < CHUNKS / FILES; s++) {
      const n = f * 100 + s;
      sections.push(`## Part ${n}\n\nPart ${n} requires a buffer of ${n * 7 + 3} entries. A node in part ${n} retries ${(n % 5) + 2} times before it gives up.\n`);
    }
    writeFileSync(join(dir, `spec-${f}.md`), sections.join('\n'));
  }
}

function runLines(out: string): RunLine[] {
  const text = readFileSync(join(out, 'runs.jsonl'), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunLine);
}

/** What a chunk concluded, independent of run ids, times and which worker decided it. */
function conclusion(run: RunLine) {
  return { status: run.status, claims: run.claims.map((c) => `${c.text} (${c.support})`).sort(), dissent: run.dissent.length };
}

describe.skipIf(Boolean(natsSkipReason))(natsSkipReason ? `scale-out on NATS (SKIPPED: ${natsSkipReason})` : 'scale-out on NATS: 3 workers, a SIGKILL and a server restart', () => {
  let nats: NatsServer;
  let sandbox: Awaited<ReturnType<typeof startSandboxServer>>;
  let dir: string;
  let panel: string;

  beforeAll(async () => {
    nats = await startNatsServer();
    // The default scenario's document answers, quicker, so 200 chunks take seconds.
    const scenario = defaultScenario();
    scenario.models = scenario.models.map((m) => ({ ...m, latencyMs: 15, tokenDelayMs: 0 }));
    sandbox = await startSandboxServer({ scenario });
    dir = tempDir('quorum-scaleout-');
    writeInputs(join(dir, 'specs'));
    panel = writePanel(dir, sandbox.baseURL, scenario);
  });

  afterAll(async () => {
    await nats?.stop();
    await sandbox?.close();
  });

  it('decides every chunk exactly once, as a local batch does', async () => {
    const common = [join(dir, 'specs'), '--query', 'What does each part require?', '--panel', panel, '--chunk-tokens', '50', '--grace=-1'];
    const env = { HOME: dir };
    const workers = [0, 1, 2].map(() => spawnCli(['worker', '--queue', nats.url, '--ack-wait', '2', '--concurrency', '2'], env));
    const submitter = spawnCli(['batch', ...common, '--queue', nats.url, '--out', join(dir, 'queued')], env);
    const decided = () => (submitter.output().stderr.match(/^chunk \d+\/200 /gm) ?? []).length;

    // One worker dies while it holds tasks: its tasks come back after the 2 s AckWait.
    await until('40 chunks decided', () => decided() >= 40, 120_000);
    const victim = workers[0]!;
    await until('the first worker to decide a chunk', () => /^decided /m.test(victim.output().stderr), 120_000);
    victim.child.kill('SIGKILL');
    // The server goes down and comes back on the same store while chunks are in flight.
    await until('90 chunks decided', () => decided() >= 90, 120_000);
    await nats.restart();

    const done = await Promise.race([
      submitter.done,
      new Promise<never>((_, reject) =>
        setTimeout(async () => {
          const tail = (t: string) => t.split('\n').slice(-15).join('\n');
          const { connect } = await import('@nats-io/transport-node');
          const { jetstreamManager } = await import('@nats-io/jetstream');
          const nc = await connect({ servers: nats.url });
          const jsm = await jetstreamManager(nc);
          const infos = JSON.stringify({
            tasks: (await jsm.streams.info('QUORUM_TASKS')).state,
            results: (await jsm.streams.info('QUORUM_RESULTS')).state,
            consumers: await Promise.all(['QUORUM_TASKS', 'QUORUM_RESULTS'].map(async (st) => (await jsm.consumers.list(st).next()).map((c) => ({ name: c.name, pending: c.num_pending, ackPending: c.num_ack_pending, redelivered: c.num_redelivered, waiting: c.num_waiting, delivered: c.delivered })))),
          });
          await nc.close();
          reject(new Error(`the batch did not end: ${infos}\n--- submitter\n${tail(submitter.output().stderr)}\n${workers.map((w, i) => `--- worker ${i}\n${tail(w.output().stderr)}`).join('\n')}`));
        }, 150_000),
      ),
    ]);
    expect(done.stderr).not.toMatch(/Error/);
    expect(done.code, done.stderr.slice(-2000)).toBe(0);
    for (const w of workers.slice(1)) w.child.kill('SIGTERM');
    const ends = await Promise.all(workers.slice(1).map((w) => w.done));
    for (const end of ends) expect(end.stderr).toMatch(/stopped \(interrupted\)/);
    expect((await victim.done).code).not.toBe(0);
    // What the test claims happened did happen: the victim's tasks were decided again elsewhere,
    // and the survivors lost the server and got it back.
    const survivors = ends.map((e) => e.stderr).join('\n');
    expect(survivors).toMatch(/^decided .*\(delivery [2-9]\)$/m);
    expect(survivors).toMatch(/^Lost the connection/m);
    expect(survivors).toMatch(/^Reconnected/m);

    const queued = runLines(join(dir, 'queued'));
    const byChunk = new Map(queued.map((r) => [r.chunk!.id, r]));
    expect(queued).toHaveLength(CHUNKS);
    expect(byChunk.size).toBe(CHUNKS);
    // Decided by the workers, all three took part; none by the submitter.
    expect(queued.every((r) => typeof r.worker === 'string')).toBe(true);
    expect(new Set(queued.map((r) => r.worker)).size).toBe(3);
    // Every log ends with a whole line and parses line by line (no torn line).
    for (const log of ['answers.jsonl', 'cloudevents.jsonl', 'traces.jsonl', 'batches.jsonl', 'blackboard.jsonl']) {
      const text = readFileSync(join(dir, 'queued', log), 'utf8');
      expect(text.endsWith('\n'), log).toBe(true);
      for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
    }
    // Answers are only those of the kept runs.
    const kept = new Set(queued.map((r) => r.runId));
    const answers = readFileSync(join(dir, 'queued', 'answers.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { runId: string });
    expect(answers.every((a) => kept.has(a.runId))).toBe(true);

    const local = spawnCli(['batch', ...common, '--out', join(dir, 'local')], env);
    const localDone = await local.done;
    expect(localDone.code, localDone.stderr.slice(-2000)).toBe(0);
    const localRuns = runLines(join(dir, 'local'));
    expect(localRuns).toHaveLength(CHUNKS);
    const localByChunk = new Map(localRuns.map((r) => [r.chunk!.id, conclusion(r)]));
    for (const run of queued) expect(conclusion(run), run.chunk!.id).toEqual(localByChunk.get(run.chunk!.id));
    // Not a vacuous comparison: the chunks concluded different things.
    expect(new Set(queued.map((r) => JSON.stringify(conclusion(r).claims))).size).toBeGreaterThan(CHUNKS / 2);
  }, 240_000);

  it('a submitter SIGKILLed mid-batch and restarted with --resume collects what the workers decided meanwhile', async () => {
    const common = [join(dir, 'specs'), '--query', 'What does each part require?', '--panel', panel, '--chunk-tokens', '50', '--grace=-1', '--queue', nats.url, '--out', join(dir, 'killed')];
    const env = { HOME: dir };
    const workers = [0, 1].map(() => spawnCli(['worker', '--queue', nats.url, '--ack-wait', '2', '--concurrency', '2'], env));
    const workerDecided = () => workers.reduce((n, w) => n + (w.output().stderr.match(/^decided /gm) ?? []).length, 0);
    const submitter = spawnCli(['batch', ...common], env);
    await until('50 chunks collected', () => (submitter.output().stderr.match(/^chunk \d+\/200 /gm) ?? []).length >= 50, 120_000);
    submitter.child.kill('SIGKILL');
    await submitter.done;
    // The workers go on; their results wait in the stream for the next submitter.
    const atKill = workerDecided();
    await until('30 more chunks decided with no submitter', () => workerDecided() >= atKill + 30, 120_000);
    const before = runLines(join(dir, 'killed')).length;
    const batchId = /^Batch (\S+):/m.exec(submitter.output().stderr)![1]!;

    const resumed = await spawnCli(['batch', ...common, '--resume', batchId, '--json'], env).done;
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.done));
    expect(resumed.code, resumed.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(resumed.stdout) as { outcome: string; chunks: number; alreadyDone: number; consensus: number; failed: number };
    expect(summary).toMatchObject({ outcome: 'completed', chunks: 200, alreadyDone: before, failed: 0 });
    const runs = runLines(join(dir, 'killed'));
    expect(runs).toHaveLength(200);
    expect(new Set(runs.map((r) => r.chunk!.id)).size).toBe(200);
    // The results that waited were committed by the resume, none decided again: each chunk once.
    expect(workerDecided()).toBe(200);
    expect(resumed.stderr).not.toMatch(/Error/);
  }, 180_000);
});
