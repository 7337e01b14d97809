-- Who agrees with whom: for each pair of ports, the share of claims made by either that both make (Jaccard), over every run where both answered.
-- From the claims (consensus and dissent) of every decided run (runs.jsonl); replays are left out,
-- as they re-count recorded answers. `shared`: claims both ports stand behind; `either`: claims at
-- least one does; agreement = shared / either, which for a single run is its agreement[a][b].
-- One row per pair, port_a < port_b; model_a / model_b are the models on those ports in the latest
-- decided run. The runs are read once (MATERIALIZED): the counts and the model names share it.
WITH decided AS MATERIALIZED (
  SELECT runid, replay_of, responders, models,
         list_concat(list_transform(claims, c -> c.ports), list_transform(dissent, c -> c.ports)) AS made
  FROM consensus
),
per_run AS (
  SELECT responders, made
  FROM decided
  WHERE replay_of IS NULL
),
pairs AS (
  SELECT made,
         unnest(flatten(list_transform(responders, a -> list_transform(list_filter(responders, b -> b > a), b -> {'a': a, 'b': b})))) AS pair
  FROM per_run
),
totals AS (
  SELECT pair.a AS port_a,
         pair.b AS port_b,
         count(*) AS runs,
         sum(len(list_filter(made, ports -> list_contains(ports, pair.a) AND list_contains(ports, pair.b)))) AS shared,
         sum(len(list_filter(made, ports -> list_contains(ports, pair.a) OR list_contains(ports, pair.b)))) AS either
  FROM pairs
  GROUP BY ALL
),
latest_model AS (
  SELECT seat.port AS port, arg_max(seat.model, runid) AS model
  FROM (SELECT runid, unnest(models) AS seat FROM decided)
  GROUP BY seat.port
)
SELECT t.port_a,
       la.model AS model_a,
       t.port_b,
       lb.model AS model_b,
       t.runs,
       t.shared,
       t.either,
       round(CASE WHEN t.either = 0 THEN 0 ELSE t.shared / t.either END, 3) AS agreement
FROM totals t
LEFT JOIN latest_model la ON la.port = t.port_a
LEFT JOIN latest_model lb ON lb.port = t.port_b
ORDER BY t.port_a, t.port_b;
