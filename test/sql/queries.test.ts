import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { listQueries, QUERIES_DIR } from '../../src/sql/catalog.js';
import { formatResult } from '../../src/sql/format.js';
import { readResult } from '../../src/sql/values.js';
import type { ConsensusDocument } from '../../src/types.js';
import { tempDir } from '../helpers/cli.js';
import { buildFixture, consensusDocs, events as readEvents, type Fixture, modelCalls, quantileCont, round } from './fixture.js';
import { runSql } from './runSql.js';

let fx: Fixture;
/** The queries this issue bundles (other features add their own files to queries/). */
const MINE = ['agreement_matrix', 'claim_support', 'consensus_rate', 'lone_dissenters', 'model_failures', 'model_latency', 'slowest_chunks', 'tokens_cost'];

beforeAll(async () => {
  fx = await buildFixture();
}, 180_000);

function sqlFile(text: string): string {
  const path = join(tempDir('quorum-sql-q-'), 'query.sql');
  writeFileSync(path, text);
  return path;
}

/** Runs a bundled query (or a .sql file) over `out` and returns its rows (json format). */
async function rows(name: string, out = fx.out, extra: string[] = []): Promise<Record<string, any>[]> {
  const run = await runSql([name, '--out', out, '--format', 'json', ...extra]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Record<string, any>[];
}

const notReplay = (d: ConsensusDocument) => !d.replayOf;
const allClaims = (d: ConsensusDocument) => [...d.claims, ...d.dissent];

describe('the fixture runs', () => {
  it('made the runs the queries are checked against', () => {
    expect(fx.docs.map((d) => d.runId).sort()).toEqual([fx.runs.A, fx.runs.B, fx.runs.C, ...fx.runs.D, fx.runs.E].sort());
    const byId = new Map(fx.docs.map((d) => [d.runId, d]));
    expect(byId.get(fx.runs.A)!.status).toBe('consensus');
    expect(byId.get(fx.runs.B)!.failures).toEqual([expect.objectContaining({ port: 5, kind: 'http', attempts: 3 })]);
    expect(byId.get(fx.runs.C)!.failures).toEqual([
      expect.objectContaining({ port: 2, kind: 'malformed', round: 2 }),
      expect.objectContaining({ port: 3, kind: 'http', round: 2 }),
      expect.objectContaining({ port: 6, kind: 'timeout' }),
    ]);
    expect(byId.get(fx.runs.E)!.replayOf).toBe(fx.runs.A);
  });
});

describe('bundled queries over the fixture', () => {
  it('model_latency: answered calls and p50/p95/max per model and port, as the events give them', async () => {
    const got = await rows('model_latency');
    const calls = modelCalls(fx.events).filter((c) => c.ok);
    const ports = [...new Set(calls.map((c) => c.port))].sort();
    const expected = ports.map((port) => {
      const mine = calls.filter((c) => c.port === port).map((c) => c.latencyMs);
      return {
        model: `family${port}/model-${port}`,
        port,
        calls: mine.length,
        p50_ms: round(quantileCont(mine, 0.5), 1),
        p95_ms: round(quantileCont(mine, 0.95), 1),
        max_ms: Math.max(...mine),
      };
    });
    expect(got).toHaveLength(8);
    const sorted = [...got].sort((a, b) => a.port - b.port);
    // Quantiles rounded to 0.1 ms may differ by one step: DuckDB and JavaScript round a float
    // that lands on .x5 (39.95 is 39.9499… in binary) each their own way.
    const near = (value: number) => ({ asymmetricMatch: (x: unknown) => typeof x === 'number' && Math.abs(x - value) <= 0.1 + 1e-9, toString: () => `≈${value}` });
    expect(sorted).toEqual(expected.map((e) => ({ ...e, p50_ms: near(e.p50_ms), p95_ms: near(e.p95_ms) })));
    // Slowest first; port 7 answers 600 ms late in every call.
    expect(got.map((r) => r.p50_ms)).toEqual([...got.map((r) => r.p50_ms)].sort((a, b) => b - a));
    expect(got.find((r) => r.port === 7)!.p50_ms).toBeGreaterThanOrEqual(600);
    // A: 8 + 8 calls; B: 8 (port 5 failed); C: 7 + 5 readable ballots; D: 2 × 7. Port 0 answered
    // every one of its calls: A 2, B 1, C 2, D 2.
    expect(got.find((r) => r.port === 0)!.calls).toBe(7);
    expect(got.find((r) => r.port === 5)!.calls).toBe(4); // A 2, C 2; B and both chunks failed
    expect(got.find((r) => r.port === 6)!.calls).toBe(5); // A 2, B 1, D 2; hung in C
    expect(got.find((r) => r.port === 2)!.calls).toBe(6); // its garbage ballot in C is not an answer
  });

  it('model_failures: the failing models with kind, count, vote-round share and rate', async () => {
    const got = await rows('model_failures');
    const byKey = Object.fromEntries(got.map((r) => [`${r.port}:${r.kind}`, r]));
    expect(Object.keys(byKey).sort()).toEqual(['2:malformed', '3:http', '5:http', '6:timeout']);
    expect(byKey['5:http']).toMatchObject({ model: 'family5/model-5', failures: 3, vote_round: 0, runs: 3, calls: 7, rate: round(3 / 7, 3) });
    expect(byKey['5:http']!.last_message).toMatch(/HTTP 502/);
    expect(byKey['6:timeout']).toMatchObject({ model: 'family6/model-6', failures: 1, vote_round: 0, runs: 1, calls: 6, rate: round(1 / 6, 3) });
    expect(byKey['3:http']).toMatchObject({ model: 'family3/model-3', failures: 1, vote_round: 1, runs: 1, calls: 7 });
    expect(byKey['3:http']!.last_message).toMatch(/503/);
    expect(byKey['2:malformed']).toMatchObject({ model: 'family2/model-2', failures: 1, vote_round: 1, runs: 1, calls: 7 });
    // Most failures first.
    expect(got[0]).toMatchObject({ port: 5, kind: 'http' });
    // The same counts straight from the events.
    for (const r of got) {
      const failed = modelCalls(fx.events).filter((c) => !c.ok && c.port === r.port && (c.kind ?? 'unknown') === r.kind);
      expect(r.failures).toBe(failed.length);
    }
  });

  it('agreement_matrix: pooled Jaccard per pair of ports over the runs where both answered (replays left out)', async () => {
    const got = await rows('agreement_matrix');
    const docs = fx.docs.filter(notReplay);
    expect(got).toHaveLength(28);
    for (const r of got) {
      let runs = 0;
      let shared = 0;
      let either = 0;
      for (const d of docs) {
        const failed = new Set(d.failures.filter((f) => f.round === undefined).map((f) => f.port));
        if (failed.has(r.port_a) || failed.has(r.port_b)) continue;
        runs++;
        for (const c of allClaims(d)) {
          const a = c.ports.includes(r.port_a);
          const b = c.ports.includes(r.port_b);
          if (a && b) shared++;
          if (a || b) either++;
        }
      }
      expect(r, `pair ${r.port_a}-${r.port_b}`).toEqual({
        port_a: r.port_a,
        model_a: `family${r.port_a}/model-${r.port_a}`,
        port_b: r.port_b,
        model_b: `family${r.port_b}/model-${r.port_b}`,
        runs,
        shared,
        either,
        agreement: round(shared / either, 3),
      });
    }
    // Ports 5 and 6 answered together only in A: B and both chunks lost 5, C lost 6.
    expect(got.find((r) => r.port_a === 5 && r.port_b === 6)!.runs).toBe(1);
    expect(got.find((r) => r.port_a === 0 && r.port_b === 1)!.runs).toBe(5);
  });

  it('agreement_matrix: for a single run, exactly consensus.json agreement[a][b]', async () => {
    const [doc] = consensusDocs(fx.single);
    const got = await rows('agreement_matrix', fx.single);
    expect(got).toHaveLength(28);
    for (const r of got) expect(r.agreement, `pair ${r.port_a}-${r.port_b}`).toBe(doc!.agreement[r.port_a]![r.port_b]);
  });

  it('consensus_rate: one row per run with its status, consensus and dissent counts, oldest first', async () => {
    const got = await rows('consensus_rate');
    const docs = [...fx.docs].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    expect(got.map((r) => r.runid)).toEqual(docs.map((d) => d.runId));
    for (const [i, d] of docs.entries()) {
      expect(got[i]).toMatchObject({
        runid: d.runId,
        chunk: d.chunk?.source ?? null,
        chunk_id: d.chunk?.id ?? null,
        status: d.status,
        responders: d.quorum.responders,
        panel: 8,
        required: d.quorum.required,
        consensus: d.claims.length,
        dissent: d.dissent.length,
        rate: round(d.claims.length / (d.claims.length + d.dissent.length), 3),
        failures: d.failures.length,
        rounds: d.rounds ?? 1,
        replay_of: d.replayOf ?? null,
      });
    }
    const byId = Object.fromEntries(got.map((r) => [r.runid, r]));
    expect(byId[fx.runs.A]).toMatchObject({ status: 'consensus', responders: 8, consensus: 3, dissent: 8, rate: 0.273 });
    expect(byId[fx.runs.B]).toMatchObject({ status: 'degraded', responders: 7, consensus: 3, dissent: 7, rate: 0.3 });
    expect(byId[fx.runs.E]).toMatchObject({ replay_of: fx.runs.A, required: 8 });
    for (const id of fx.runs.D) expect(byId[id].chunk).toMatch(/[ab]\.md/);
  });

  it('claim_support: the histogram of support over every non-replay claim', async () => {
    const got = await rows('claim_support');
    const claims = fx.docs.filter(notReplay).flatMap((d) => [...d.claims.map((c) => ({ c, k: 'consensus' })), ...d.dissent.map((c) => ({ c, k: 'dissent' }))]);
    const supports = [...new Set(claims.map((x) => x.c.support))].sort((a, b) => a - b);
    expect(got).toEqual(
      supports.map((support) => {
        const at = claims.filter((x) => x.c.support === support);
        return {
          support,
          claims: at.length,
          consensus: at.filter((x) => x.k === 'consensus').length,
          dissent: at.filter((x) => x.k === 'dissent').length,
          share: round(at.length / claims.length, 3),
        };
      }),
    );
    // Every port's lone claim: 8 in A, 7 in B, C and each chunk.
    expect(got.find((r) => r.support === 1)).toMatchObject({ claims: 36, consensus: 0, dissent: 36 });
  });

  it('tokens_cost: calls, tokens and cost per run and model match the scenario usage', async () => {
    const got = await rows('tokens_cost');
    const calls = modelCalls(fx.events);
    const keys = [...new Set(calls.map((c) => `${c.runid}|${c.port}`))].sort();
    expect(got.map((r) => `${r.runid}|${r.port}`)).toEqual(keys);
    for (const r of got) {
      const mine = calls.filter((c) => c.runid === r.runid && c.port === r.port);
      const answered = mine.filter((c) => c.inputTokens !== undefined);
      expect(r).toEqual({
        runid: r.runid,
        port: r.port,
        model: `family${r.port}/model-${r.port}`,
        calls: mine.length,
        input_tokens: answered.length ? answered.reduce((s, c) => s + c.inputTokens!, 0) : null,
        output_tokens: answered.length ? answered.reduce((s, c) => s + c.outputTokens!, 0) : null,
        cost: answered.length ? round(answered.reduce((s, c) => s + c.cost!, 0), 6) : null,
      });
    }
    // From the scenario: port p reports 100 + p prompt tokens, 40 + p completion tokens and 0.0001·p per call.
    const a3 = got.find((r) => r.runid === fx.runs.A && r.port === 3)!;
    expect(a3).toMatchObject({ calls: 2, input_tokens: 206, output_tokens: 86, cost: 0.0006 });
    expect(got.find((r) => r.runid === fx.runs.B && r.port === 5)).toMatchObject({ calls: 1, input_tokens: null, cost: null });
    // The replay called no model: it has no rows.
    expect(got.some((r) => r.runid === fx.runs.E)).toBe(false);
  });

  it('slowest_chunks: runs by duration with phases and the port each waited for', async () => {
    const got = await rows('slowest_chunks');
    const completed = fx.events.filter((e) => e.type === 'quorum.run.completed');
    expect(got.map((r) => r.runid)).toEqual(
      [...completed].sort((a, b) => b.data.durationMs - a.data.durationMs || a.runid.localeCompare(b.runid)).map((e) => e.runid),
    );
    for (const r of got) {
      const mine = fx.events.filter((e) => e.runid === r.runid);
      expect(r.duration_ms).toBe(mine.find((e) => e.type === 'quorum.run.completed')!.data.durationMs);
      const round1 = mine.filter((e) => e.type === 'quorum.model.responded' || e.type === 'quorum.model.failed');
      const slowest = Math.max(...round1.map((e) => e.data.latencyMs), -1);
      if (round1.length) {
        expect(r.slowest_ms).toBe(slowest);
        expect(round1.find((e) => e.data.latencyMs === slowest)!.port).toBe(r.slowest_port);
        expect(r.slowest_model).toBe(`family${r.slowest_port}/model-${r.slowest_port}`);
      }
      expect(r.round1_ms === null || r.round1_ms >= 0).toBe(true);
    }
    // Two-round runs have a vote phase; one-round runs do not.
    expect(got.find((r) => r.runid === fx.runs.A)!.vote_ms).toBeGreaterThan(0);
    expect(got.find((r) => r.runid === fx.runs.B)!.vote_ms).toBeNull();
    for (const id of fx.runs.D) expect(got.find((r) => r.runid === id)).toMatchObject({ chunk: expect.stringMatching(/[ab]\.md/), chunk_id: expect.any(String) });
  });

  it('lone_dissenters: claims only one port stands behind, by port (replays left out)', async () => {
    const got = await rows('lone_dissenters');
    const docs = fx.docs.filter(notReplay);
    expect([...got].sort((a, b) => a.port - b.port)).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((port) => {
        const made = docs.flatMap((d) => allClaims(d).filter((c) => c.ports.includes(port)).map((c) => ({ d, c })));
        const lone = made.filter((x) => x.c.ports.length === 1);
        return {
          port,
          model: `family${port}/model-${port}`,
          lone_claims: lone.length,
          claims: made.length,
          lone_share: round(lone.length / made.length, 3),
          runs: new Set(made.map((x) => x.d.runId)).size,
          example: lone.sort((a, b) => b.d.finishedAt.localeCompare(a.d.finishedAt))[0]!.c.text,
        };
      }),
    );
    // panelScenario gives each port one claim no other port makes: one lone claim per run it answered.
    expect(got.find((r) => r.port === 0)).toMatchObject({ lone_claims: 5, example: 'Model zero likes turtles a lot.' });
    expect(got.find((r) => r.port === 5)).toMatchObject({ lone_claims: 2 });
    expect(got.find((r) => r.port === 6)).toMatchObject({ lone_claims: 4 });
  });

  it('covers every query this issue bundles', () => {
    expect(listQueries().map((q) => q.name)).toEqual(expect.arrayContaining(MINE));
  });

  it('reads the logs, never the per-run files: without runs/ every query and view answers the same', async () => {
    const copy = join(tempDir('quorum-sql-noruns-'), 'artifacts');
    cpSync(fx.out, copy, { recursive: true });
    rmSync(join(copy, 'runs'), { recursive: true });
    for (const q of listQueries()) expect(await rows(q.name, copy), q.name).toEqual(await rows(q.name));
    for (const view of ['consensus', 'claims', 'answers', 'responses', 'votes']) {
      const sql = sqlFile(`SELECT * FROM ${view} ORDER BY ALL`);
      const here = await rows(sql);
      expect(here.length, view).toBeGreaterThan(0);
      expect(await rows(sql, copy), view).toEqual(here);
    }
  });

  it('the views hold exactly the logged lines: one consensus row per run line, responses and votes split by round', async () => {
    const lines = readFileSync(join(fx.out, 'answers.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { runId: string; round: number; port: number; ballot?: unknown });
    const key = (r: Record<string, any>) => `${r.runId ?? r.runid}|${r.port}`;
    const consensus = await rows(sqlFile('SELECT runid, batch_id, models, panel_source FROM consensus ORDER BY runid'));
    expect(consensus.map((r) => r.runid)).toEqual(fx.docs.map((d) => d.runId));
    for (const r of consensus) {
      const doc = fx.docs.find((d) => d.runId === r.runid)!;
      expect(r.models).toEqual(doc.models);
      expect(r.batch_id).toBe(doc.batchId ?? null);
    }
    expect(consensus.filter((r) => fx.runs.D.includes(r.runid)).every((r) => typeof r.batch_id === 'string')).toBe(true);
    const responses = await rows(sqlFile('SELECT runid, port FROM responses ORDER BY runid, port'));
    expect(responses.map(key)).toEqual(lines.filter((l) => l.round === 1).map(key).sort());
    const votes = await rows(sqlFile('SELECT runid, port, ballot FROM votes ORDER BY runid, port'));
    expect(votes.map(key)).toEqual(lines.filter((l) => l.round === 2).map(key).sort());
    // C's port 2 replied to the vote with garbage: a reply with no readable ballot.
    expect(votes.find((v) => v.runid === fx.runs.C && v.port === 2)?.ballot ?? null).toBeNull();
    expect(votes.filter((v) => v.runid === fx.runs.A)).toHaveLength(8);
  });

  it('the same files answer the same in a plain DuckDB session (views.sql, then the query)', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run(`SET VARIABLE artifacts = '${fx.out.replace(/'/g, "''")}'`);
      await db.run(readFileSync(join(QUERIES_DIR, 'views.sql'), 'utf8'));
      for (const q of listQueries().filter((q) => MINE.includes(q.name))) {
        const plain = JSON.parse(formatResult(readResult(await db.run(readFileSync(q.path, 'utf8'))), 'json'));
        expect(plain, q.name).toEqual(await rows(q.name));
      }
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });

  it('events in the fixture are the ones the queries read', async () => {
    expect((await readEvents(fx.out)).length).toBe(fx.events.length);
    expect(readFileSync(join(fx.out, 'cloudevents.jsonl'), 'utf8').trim().split('\n')).toHaveLength(fx.events.length);
  });
});
