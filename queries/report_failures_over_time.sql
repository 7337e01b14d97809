-- When each model failed, and how: failed calls per model and failure kind in each of 24 equal slices of the time the calls span.
-- From model_calls (both rounds; a vote whose ballot could not be read is `malformed`). `slice` is
-- 0..23; `slice_start_ms` / `slice_end_ms` bound it (epoch ms); `calls` is every call the model made
-- in that slice, failed or not, so `failures / calls` is its failure rate there.
WITH bounds AS (
  SELECT min(epoch_ms("time")) AS t0,
         greatest(1, ceil((max(epoch_ms("time")) - min(epoch_ms("time")) + 1) / 24))::BIGINT AS width
  FROM model_calls
),
sliced AS (
  SELECT m.model, m.ok, m.kind,
         least(23, (epoch_ms(m."time") - b.t0) // b.width) AS slice,
         b.t0, b.width
  FROM model_calls m, bounds b
),
per_slice AS (
  SELECT model, slice, count(*) AS calls FROM sliced GROUP BY model, slice
)
SELECT s.model,
       s.slice,
       any_value(s.t0 + s.slice * s.width) AS slice_start_ms,
       any_value(s.t0 + (s.slice + 1) * s.width) AS slice_end_ms,
       coalesce(s.kind, 'unknown') AS kind,
       count(*) AS failures,
       any_value(p.calls) AS calls
FROM sliced s
JOIN per_slice p USING (model, slice)
WHERE NOT s.ok
GROUP BY s.model, s.slice, coalesce(s.kind, 'unknown')
ORDER BY s.model, s.slice, kind;
