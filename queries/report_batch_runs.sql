-- Which runs each batch ran: one row per batch and chunk run, with its chunk and status, in start order.
-- From the events: a run belongs to the batch named by its events' `batchid`. A chunk redone after
-- --resume appears once per run; `status` is as in the runs view.
SELECT batchid,
       runid,
       chunkid,
       status,
       epoch_ms(started_at) AS started_ms
FROM runs
WHERE batchid IS NOT NULL
ORDER BY batchid, started_at, runid;
