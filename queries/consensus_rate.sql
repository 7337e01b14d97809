-- How often a quorum agrees: per run (and batch chunk), its status, consensus and dissent claim counts and the consensus share, oldest first.
-- From every decided run (runs.jsonl). `rate` = consensus / (consensus + dissent); quorum_lost
-- runs report every claim as dissent. `replay_of` names the run a replay re-gathered.
SELECT runid,
       chunk_source AS chunk,
       chunk_id,
       status,
       responder_count AS responders,
       panel,
       required,
       len(claims) AS consensus,
       len(dissent) AS dissent,
       round(CASE WHEN len(claims) + len(dissent) = 0 THEN NULL
                  ELSE len(claims) / (len(claims) + len(dissent)) END, 3) AS rate,
       len(failures) AS failures,
       rounds,
       replay_of,
       started_at
FROM consensus
ORDER BY started_at, runid;
