-- What each model did and cost: calls, failed calls, attempts, input and output tokens and provider cost per port and model, both rounds.
-- From model_calls (quorum.model.responded / quorum.model.failed / quorum.vote.cast). Failed calls
-- report no usage; token and cost sums are NULL when the provider reported none.
SELECT port,
       model,
       count(*) AS calls,
       count(*) FILTER (WHERE NOT ok) AS failed,
       sum(attempts) AS attempts,
       sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens,
       round(sum(cost), 6) AS cost
FROM model_calls
GROUP BY port, model
ORDER BY port, model;
