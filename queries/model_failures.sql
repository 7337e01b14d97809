-- Which model fails, and how: failed calls per model, port and failure kind, with the share of that model's calls and the last message.
-- Round 1 failures are quorum.model.failed events; `vote_round` counts those of round 2
-- (quorum.vote.cast with ok = false: the call failed, or its ballot could not be read, kind
-- `malformed`). `calls` is every call the model's port took in the runs seen, `rate` = failures / calls.
WITH per_kind AS (
  SELECT model, port, ok,
         CASE WHEN ok THEN NULL ELSE coalesce(kind, 'unknown') END AS kind,
         count(*) AS n,
         count(*) FILTER (WHERE round = 2) AS vote_round,
         count(DISTINCT CASE WHEN NOT ok THEN runid END) AS runs,
         arg_max(message, "time") AS last_message
  FROM model_calls
  GROUP BY ALL
),
with_calls AS (
  SELECT *, sum(n) OVER (PARTITION BY model, port) AS calls FROM per_kind
)
SELECT model,
       port,
       kind,
       n AS failures,
       vote_round,
       runs,
       calls,
       round(n / calls, 3) AS rate,
       last_message
FROM with_calls
WHERE NOT ok
ORDER BY failures DESC, port, kind;
