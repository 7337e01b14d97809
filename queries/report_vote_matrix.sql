-- How every port stood on every claim: one row per run, claim and port with its verdict (agree, disagree, unsure, failed or silent).
-- Claims are labelled as in report_claims (c1… consensus, d1… dissent). Two-round runs: the port's
-- vote (a supporter is `agree`; `failed` when it answered round 1 but cast no usable ballot).
-- One round (or no vote round held): `agree` when the port makes the claim, `silent` when it
-- answered without it. A port whose round-1 call failed is `failed` on every claim. `detail`
-- names the failure kind (round 2: the vote call's, or `no usable ballot`), or `proposer` (with
-- `proposer, no ballot` for a proposer that stands by its claim without a usable ballot).
WITH listed AS (
  SELECT runid, panel, failures, abstentions,
         unnest(list_concat(list_transform(claims, (c, i) -> {'kind': 'consensus', 'n': i, 'c': c}),
                            list_transform(dissent, (c, i) -> {'kind': 'dissent', 'n': i, 'c': c}))) AS x
  FROM consensus
),
cells AS (
  SELECT runid, failures, abstentions, x.kind AS kind, x.n AS n, x.c AS c, unnest(range(panel))::INTEGER AS port
  FROM listed
),
judged AS (
  SELECT *,
         list_filter(failures, f -> f.port = port AND f.round IS NULL)[1].kind AS failed_kind,
         list_filter(failures, f -> f.port = port AND f.round = 2)[1].kind AS vote_failed_kind
  FROM cells
)
SELECT runid,
       kind,
       n,
       CASE kind WHEN 'consensus' THEN 'c' ELSE 'd' END || n AS label,
       port,
       CASE
         WHEN failed_kind IS NOT NULL THEN 'failed'
         WHEN c.votes IS NULL THEN CASE WHEN list_contains(c.ports, port) THEN 'agree' ELSE 'silent' END
         WHEN list_contains(c.votes.agree, port) THEN 'agree'
         WHEN list_contains(c.votes.disagree, port) THEN 'disagree'
         WHEN list_contains(c.votes.unsure, port) THEN 'unsure'
         WHEN list_contains(c.votes.abstained, port) THEN 'failed'
         ELSE 'silent'
       END AS verdict,
       CASE
         WHEN failed_kind IS NOT NULL THEN failed_kind
         WHEN c.votes IS NOT NULL AND list_contains(c.votes.abstained, port) THEN coalesce(vote_failed_kind, 'no usable ballot')
         WHEN list_contains(coalesce(c.proposers, []), port) AND list_contains(coalesce(abstentions, []), port) THEN 'proposer, no ballot'
         WHEN list_contains(coalesce(c.proposers, []), port) THEN 'proposer'
       END AS detail
FROM judged
ORDER BY runid, kind, n, port;
