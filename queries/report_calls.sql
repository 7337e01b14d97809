-- Every call to a panel port, one row each: its run, round, outcome (answered or the failure kind), latency, attempts, tokens and cost, in time order.
-- From model_calls (round 1: quorum.model.responded / quorum.model.failed; round 2: quorum.vote.cast,
-- where an unreadable ballot is `malformed`). Latency is wall time from the first attempt to the
-- outcome, retries included; a port cut before it started has latency 0. `time_ms` is epoch ms.
SELECT runid,
       port,
       model,
       round,
       ok,
       CASE WHEN ok THEN 'answered' ELSE coalesce(kind, 'unknown') END AS outcome,
       round(latency_ms, 1) AS latency_ms,
       attempts,
       input_tokens,
       output_tokens,
       cost,
       epoch_ms("time") AS time_ms
FROM model_calls
ORDER BY "time", runid, round, port;
