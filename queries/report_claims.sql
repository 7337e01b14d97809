-- Every claim of every run with its support against the votes it needed, the ports behind it and how each voter voted, in the order the run recorded them.
-- Consensus claims first, labelled c1, c2… as in consensus.md, then dissent, d1, d2…. `support` of
-- `panel` ports stand behind it (`ports`); it needed `required`. Two-round runs also give
-- `proposers` and the vote: `agree` (the supporters), `disagree`, `unsure` and `abstained` (answered
-- round 1, cast no usable ballot); these are NULL after one round. Replays are included: a report
-- on a replay shows the replay's own claims.
WITH listed AS (
  SELECT runid, required, panel, responder_count,
         unnest(list_concat(list_transform(claims, (c, i) -> {'kind': 'consensus', 'n': i, 'c': c}),
                            list_transform(dissent, (c, i) -> {'kind': 'dissent', 'n': i, 'c': c}))) AS x
  FROM consensus
)
SELECT runid,
       x.kind AS kind,
       x.n AS n,
       CASE x.kind WHEN 'consensus' THEN 'c' ELSE 'd' END || x.n AS label,
       x.c.text AS text,
       x.c.support AS support,
       required,
       panel,
       responder_count AS responders,
       x.c.ports AS ports,
       x.c.proposers AS proposers,
       x.c.ids AS ids,
       x.c.votes.agree AS agree,
       x.c.votes.disagree AS disagree,
       x.c.votes.unsure AS unsure,
       x.c.votes.abstained AS abstained
FROM listed
ORDER BY runid, x.kind, x.n;
