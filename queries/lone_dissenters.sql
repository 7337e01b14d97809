-- Which model is often alone (a hallucination smell): per port, the claims it alone stands behind, out of all the claims it makes.
-- A lone claim has exactly one supporting port in its consensus.json (a dissent of support 1);
-- replays are left out. `lone_share` = lone_claims / claims; `example` is its latest lone claim;
-- `model` is the model on that port in the latest run.
WITH made AS (
  SELECT runid, unnest(ports) AS port, len(ports) AS support, text, finished_at
  FROM claims
  WHERE replay_of IS NULL
),
per_port AS (
  SELECT port,
         count(*) FILTER (WHERE support = 1) AS lone_claims,
         count(*) AS claims,
         count(DISTINCT runid) AS runs,
         arg_max(text, finished_at) FILTER (WHERE support = 1) AS example
  FROM made
  GROUP BY port
),
latest_model AS (
  SELECT port, arg_max(model, runid) AS model FROM members GROUP BY port
)
SELECT p.port,
       m.model,
       p.lone_claims,
       p.claims,
       round(p.lone_claims / p.claims, 3) AS lone_share,
       p.runs,
       p.example
FROM per_port p
LEFT JOIN latest_model m USING (port)
ORDER BY p.lone_claims DESC, lone_share DESC, p.port;
