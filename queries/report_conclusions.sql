-- What every decided run concluded, one row each: its source file and chunk, verdict, consensus claims with their support, dissent and failure counts, and the chair's answer.
-- One row per run line, except that a batch chunk redone after --resume appears once, with its
-- latest run. `verdict` is the one definition of src/report/outcome.ts (see batch_chunks):
-- consensus, degraded, no_claims (no claim reached the quorum) or quorum_lost. `source` is the
-- batch or watch chunk's file, else the run's --context file, else NULL (the question alone).
-- `claims` lists the consensus claims in order as {text, support}; the report shows these rows
-- grouped by source, and summary.md holds the same for one batch.
WITH latest AS (
  SELECT runid FROM consensus WHERE batch_id IS NULL OR chunk_id IS NULL
  UNION ALL
  SELECT runid FROM batch_chunks
)
SELECT c.runid,
       c.batch_id AS batchid,
       coalesce(c.chunk_source, r.context_source) AS source,
       c.chunk_id,
       c.status,
       CASE WHEN c.status = 'quorum_lost' THEN 'quorum_lost' WHEN len(c.claims) = 0 THEN 'no_claims' ELSE c.status END AS verdict,
       c.responder_count AS responders,
       c.panel,
       c.required,
       len(c.claims) AS consensus,
       len(c.dissent) AS dissent,
       len(c.failures) AS failures,
       list_transform(c.claims, x -> {'text': x.text, 'support': x.support}) AS claims,
       c.sandbox,
       c.synthesis_model,
       c.synthesis_text,
       c.synthesis_error,
       strftime(make_timestamp(epoch_us(c.started_at)), '%Y-%m-%d %H:%M:%S UTC') AS started
FROM consensus c
JOIN latest l ON l.runid = c.runid
LEFT JOIN runs r ON r.runid = c.runid
ORDER BY source NULLS LAST, c.started_at, c.runid;
