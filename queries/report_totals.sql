-- What the runs add up to: runs and chunks by status, calls and failed calls, attempts, tokens, provider cost and the wall time they span.
-- Runs and their status come from the events (runs view: consensus, degraded, quorum_lost, failed,
-- interrupted, unfinished). A chunk (batch or watch) counts once, with the status of its latest
-- run, so a chunk redone after --resume counts as its redo; `chunk_*` columns count chunks,
-- the others runs. `verdict_*` count what was concluded (report_conclusions' rows: run lines, a
-- batch chunk redone counting once with its latest run) by the one verdict of src/report/outcome.ts
-- (no_claims: no claim reached the quorum, whatever the status); `without_result` counts runs with
-- no run line whose chunk no later run of the batch decided (failed, interrupted, unfinished). Calls come
-- from model_calls, both rounds, one per port and round (the chair's call is not counted);
-- `attempts` are the requests, retries included.
-- Token and cost sums are NULL when no provider reported any. Times are epoch ms. The runs view
-- (an aggregate over every event) is computed once (MATERIALIZED) for both of its uses.
WITH run_rows AS MATERIALIZED (
  SELECT runid, batchid, chunkid, status, started_at, completed_at, replay_of FROM runs
),
r AS (
  SELECT count(*) AS runs,
         count(*) FILTER (WHERE status = 'consensus') AS consensus,
         count(*) FILTER (WHERE status = 'degraded') AS degraded,
         count(*) FILTER (WHERE status = 'quorum_lost') AS quorum_lost,
         count(*) FILTER (WHERE status IN ('failed', 'interrupted')) AS failed,
         count(*) FILTER (WHERE status = 'unfinished') AS unfinished,
         count(*) FILTER (WHERE replay_of IS NOT NULL) AS replays,
         epoch_ms(min(started_at)) AS first_started_ms,
         epoch_ms(max(completed_at)) AS last_completed_ms
  FROM run_rows
),
latest AS (
  SELECT chunkid, arg_max(status, started_at) AS status FROM run_rows WHERE chunkid IS NOT NULL GROUP BY chunkid
),
c AS (
  SELECT count(*) AS chunks,
         count(*) FILTER (WHERE status = 'consensus') AS chunk_consensus,
         count(*) FILTER (WHERE status = 'degraded') AS chunk_degraded,
         count(*) FILTER (WHERE status = 'quorum_lost') AS chunk_quorum_lost,
         count(*) FILTER (WHERE status NOT IN ('consensus', 'degraded', 'quorum_lost')) AS chunk_failed
  FROM latest
),
v AS (
  SELECT count(*) FILTER (WHERE verdict = 'consensus') AS verdict_consensus,
         count(*) FILTER (WHERE verdict = 'degraded') AS verdict_degraded,
         count(*) FILTER (WHERE verdict = 'no_claims') AS verdict_no_claims,
         count(*) FILTER (WHERE verdict = 'quorum_lost') AS verdict_quorum_lost
  FROM (SELECT CASE WHEN status = 'quorum_lost' THEN 'quorum_lost' WHEN len(claims) = 0 THEN 'no_claims' ELSE status END AS verdict
        FROM consensus WHERE batch_id IS NULL OR chunk_id IS NULL
        UNION ALL
        SELECT verdict FROM batch_chunks)
),
u AS (
  SELECT count(*) AS without_result
  FROM run_rows r
  WHERE NOT EXISTS (SELECT 1 FROM consensus c WHERE c.runid = r.runid)
    AND NOT EXISTS (SELECT 1 FROM batch_chunks b WHERE b.batchid = r.batchid AND b.chunk_id = r.chunkid)
),
m AS (
  SELECT count(*) AS calls,
         count(*) FILTER (WHERE NOT ok) AS failed_calls,
         sum(attempts) AS attempts,
         sum(input_tokens) AS input_tokens,
         sum(output_tokens) AS output_tokens,
         round(sum(cost), 6) AS cost
  FROM model_calls
)
SELECT r.*, c.*, v.*, u.*, m.* FROM r, c, v, u, m;
