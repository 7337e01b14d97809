-- Each batch: its question, its chunks and what they concluded, how its latest session ended, and what its calls spent, newest first.
-- Counted as the terminal summary, summary.md and the report count (src/report/outcome.ts): `chunks`
-- the inputs hold; decided chunks by verdict (batch_chunks: consensus, degraded, no_claims,
-- quorum_lost; a chunk redone after --resume counts once); `undecided` the rest, which --resume
-- redoes. `calls` are calls to panel ports in every session of the batch, interrupted runs included
-- (model_calls: one per port and round, whatever its retries); `requests` counts their attempts,
-- retries included; the chair's call is in neither. `outcome` is how the latest session ended
-- (completed, interrupted, stopped), NULL while it runs or when it was killed. Times are UTC.
WITH c AS (
  SELECT batchid,
         count(*) AS decided,
         count(*) FILTER (WHERE verdict = 'consensus') AS consensus,
         count(*) FILTER (WHERE verdict = 'degraded') AS degraded,
         count(*) FILTER (WHERE verdict = 'no_claims') AS no_claims,
         count(*) FILTER (WHERE verdict = 'quorum_lost') AS quorum_lost
  FROM batch_chunks
  GROUP BY batchid
),
m AS (
  SELECT batchid,
         count(*) AS calls,
         count(*) FILTER (WHERE NOT ok) AS failed_calls,
         sum(attempts) AS requests,
         sum(input_tokens) AS input_tokens,
         sum(output_tokens) AS output_tokens,
         round(sum(cost), 6) AS cost
  FROM model_calls
  WHERE batchid IS NOT NULL
  GROUP BY batchid
)
SELECT b.batchid,
       b.query,
       b.files,
       b.chunks,
       b.outcome,
       coalesce(c.decided, 0) AS decided,
       coalesce(c.consensus, 0) AS consensus,
       coalesce(c.degraded, 0) AS degraded,
       coalesce(c.no_claims, 0) AS no_claims,
       coalesce(c.quorum_lost, 0) AS quorum_lost,
       greatest(coalesce(b.chunks, 0) - coalesce(c.decided, 0), 0) AS undecided,
       coalesce(m.calls, 0) AS calls,
       coalesce(m.failed_calls, 0) AS failed_calls,
       m.requests,
       m.input_tokens,
       m.output_tokens,
       m.cost,
       strftime(make_timestamp(epoch_us(b.started_at)), '%Y-%m-%d %H:%M:%S UTC') AS started,
       strftime(make_timestamp(epoch_us(b.completed_at)), '%Y-%m-%d %H:%M:%S UTC') AS completed
FROM batches b
LEFT JOIN c ON c.batchid = b.batchid
LEFT JOIN m ON m.batchid = b.batchid
ORDER BY b.started_at DESC, b.batchid;
