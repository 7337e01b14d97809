-- Which runs (batch chunks) took longest: the 20 slowest, with the time in each phase and the port they waited for.
-- From the events: duration_ms is quorum.run.completed's durationMs; round1_ms runs from the start
-- to the last round-1 answer or failure, vote_ms from there to the last ballot, gather_ms from
-- there to the consensus. The slowest port is the round-1 call with the longest latency.
SELECT runid,
       coalesce(context_source, chunkid) AS chunk,
       chunkid AS chunk_id,
       status,
       round(duration_ms, 1) AS duration_ms,
       epoch_ms(round1_done_at) - epoch_ms(started_at) AS round1_ms,
       epoch_ms(round2_done_at) - epoch_ms(round1_done_at) AS vote_ms,
       epoch_ms(consensus_at) - epoch_ms(coalesce(round2_done_at, round1_done_at)) AS gather_ms,
       slowest_port,
       slowest_model,
       round(slowest_ms, 1) AS slowest_ms
FROM runs
WHERE duration_ms IS NOT NULL
ORDER BY duration_ms DESC, runid
LIMIT 20;
