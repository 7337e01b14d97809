-- What it cost: calls, input and output tokens and provider-reported cost per run and model (both rounds), in run order.
-- From quorum.model.responded and quorum.vote.cast events (failed calls report no usage). Token
-- and cost sums are NULL when the provider reported none; the chair's call records no usage.
-- Run ids begin with their start time, so run order is id order.
SELECT runid,
       port,
       model,
       count(*) AS calls,
       sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens,
       round(sum(cost), 6) AS cost
FROM model_calls
GROUP BY runid, port, model
ORDER BY runid, port, model;
