-- Which model is often alone (a hallucination smell): per port, the claims it alone stands behind, out of all the claims it makes.
-- A lone claim has exactly one supporting port in its decided run (a dissent of support 1);
-- replays are left out. `lone_share` = lone_claims / claims; `example` is its latest lone claim;
-- `model` is the model on that port in the latest decided run. The runs are read once
-- (MATERIALIZED): the claims and the model names share it.
WITH decided AS MATERIALIZED (
  SELECT runid, replay_of, finished_at, models, list_concat(claims, dissent) AS listed
  FROM consensus
),
claimed AS (
  SELECT runid, finished_at, unnest(listed) AS c
  FROM decided
  WHERE replay_of IS NULL
),
made AS (
  SELECT runid, unnest(c.ports) AS port, len(c.ports) AS support, c.text AS text, finished_at
  FROM claimed
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
  SELECT seat.port AS port, arg_max(seat.model, runid) AS model
  FROM (SELECT runid, unnest(models) AS seat FROM decided)
  GROUP BY seat.port
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
