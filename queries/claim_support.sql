-- How much support claims get: a histogram of claims by the number of ports behind each, split into consensus and dissent.
-- Every claim of every decided run (runs.jsonl) except replays (they re-count recorded answers).
-- `share` is the claims at that support over all claims.
SELECT support,
       count(*) AS claims,
       count(*) FILTER (WHERE kind = 'consensus') AS consensus,
       count(*) FILTER (WHERE kind = 'dissent') AS dissent,
       round(count(*) / sum(count(*)) OVER (), 3) AS share
FROM claims
WHERE replay_of IS NULL
GROUP BY support
ORDER BY support;
