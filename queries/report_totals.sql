-- What the runs add up to: runs and chunks by status, calls and failed calls, attempts, tokens, provider cost and the wall time they span.
-- Runs and their status come from the events (runs view: consensus, degraded, quorum_lost, failed,
-- interrupted, unfinished). A chunk (batch or watch) counts once, with the status of its latest
-- run, so a chunk redone after --resume counts as its redo; `chunk_*` columns count chunks,
-- the others runs. Calls come from model_calls, both rounds (the chair's call is not counted).
-- Token and cost sums are NULL when no provider reported any. Times are epoch ms. The runs view
-- (an aggregate over every event) is computed once (MATERIALIZED) for both of its uses.
WITH run_rows AS MATERIALIZED (
  SELECT chunkid, status, started_at, completed_at, replay_of FROM runs
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
m AS (
  SELECT count(*) AS calls,
         count(*) FILTER (WHERE NOT ok) AS failed_calls,
         sum(attempts) AS attempts,
         sum(input_tokens) AS input_tokens,
         sum(output_tokens) AS output_tokens,
         round(sum(cost), 6) AS cost
  FROM model_calls
)
SELECT r.*, c.*, m.* FROM r, c, m;
