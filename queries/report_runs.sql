-- What each run asked and how it ended: question, context or chunk, status, quorum arithmetic, claim counts, failures and the port-by-port agreement, oldest first.
-- One row per run decided (a line in runs.jsonl) or seen starting (a quorum.run.started event).
-- `status` is the run line's (consensus / degraded / quorum_lost), else how the events say the run
-- ended (failed, interrupted, unfinished); `has_consensus` says whether the run was decided.
-- `source` is the --context file or the batch chunk's source. `failures` lists both rounds'
-- failures (round 2: the port answered but failed the vote); `synthesis_text` is the chair's answer (`synthesis_error` why there is none); `agreement` is the run's matrix
-- (agreement[a][b], NULL rows for ports with no answer). Times are epoch milliseconds.
SELECT coalesce(c.runid, r.runid) AS runid,
       coalesce(c.batch_id, r.batchid) AS batchid,
       coalesce(c.query, r.query) AS query,
       coalesce(c.chunk_source, r.context_source) AS source,
       coalesce(c.chunk_id, r.chunkid) AS chunk_id,
       coalesce(c.status, r.status) AS status,
       c.runid IS NOT NULL AS has_consensus,
       c.configured,
       c.required,
       c.responder_count AS responders,
       coalesce(c.panel, r.panel_size) AS panel,
       c.min_responders,
       len(c.claims) AS consensus,
       len(c.dissent) AS dissent,
       coalesce(c.rounds, r.rounds) AS rounds,
       c.candidates,
       c.abstentions,
       c.failures,
       c.agreement,
       coalesce(c.sandbox, r.sandbox) AS sandbox,
       coalesce(c.replay_of, r.replay_of) AS replay_of,
       c.synthesis_model,
       c.synthesis_text,
       c.synthesis_error,
       epoch_ms(coalesce(c.started_at, r.started_at)) AS started_ms,
       epoch_ms(c.finished_at) AS finished_ms,
       round(r.duration_ms, 1) AS duration_ms
FROM consensus c
FULL OUTER JOIN runs r ON r.runid = c.runid
ORDER BY coalesce(c.started_at, r.started_at), runid;
