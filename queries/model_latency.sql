-- Which model is slow: answered calls per model and port (question and vote rounds) with p50/p95/max latency in ms, slowest first.
-- Latency is data.latencyMs of quorum.model.responded and of readable quorum.vote.cast ballots:
-- wall time from the first attempt's start to the answer, retries included. Failed calls are
-- left out (see model_failures); so is the chair's call, which has no port (spans, role 'chair').
SELECT model,
       port,
       count(*) AS calls,
       round(quantile_cont(latency_ms, 0.5), 1) AS p50_ms,
       round(quantile_cont(latency_ms, 0.95), 1) AS p95_ms,
       round(max(latency_ms), 1) AS max_ms
FROM model_calls
WHERE ok AND latency_ms IS NOT NULL
GROUP BY model, port
ORDER BY p50_ms DESC, model, port;
