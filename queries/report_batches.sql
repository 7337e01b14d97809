-- Each batch: its question, files and chunks, how it ended and the totals its completion event recorded, newest first.
-- From quorum.batch.started / quorum.batch.completed. `outcome` is NULL while a batch has not
-- ended (or was killed); `calls` counts attempts, as the batch summary does. Times are epoch ms.
SELECT batchid,
       query,
       files,
       chunks,
       outcome,
       consensus,
       degraded,
       quorum_lost,
       failed,
       calls,
       input_tokens,
       output_tokens,
       round(cost, 6) AS cost,
       round(wall_ms, 1) AS wall_ms,
       epoch_ms(started_at) AS started_ms,
       epoch_ms(completed_at) AS completed_ms
FROM batches
ORDER BY started_at DESC, batchid;
