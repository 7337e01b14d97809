-- Views over one artifacts folder that every query in this folder reads (run this file first).
--
-- `quorum sql` runs it with the variable `artifacts` set to --out. In the plain duckdb CLI:
--   duckdb -c "SET VARIABLE artifacts = './artifacts'" -c ".read queries/views.sql" -c ".read queries/model_latency.sql"
-- (or the same three lines in one interactive session). Views read the files when queried, so
-- they always see the latest lines; nothing here writes to the artifacts.
--
-- Every source is one append-only JSONL log (docs/CONTRACTS.md, "The run log"): runs.jsonl and
-- answers.jsonl hold what runs decided and what each port replied; the per-run files under
-- runs/<id>/ are views of those lines and are never read here, so a folder whose runs/ was
-- deleted (or never written: batch and watch skip it) answers the same.
--
-- A source with no file yet makes its views fail in the plain CLI ("No files found"). `quorum sql`
-- instead lists such sources in `empty_sources` and points them at `empty_file`, an empty file
-- outside the artifacts folder, so their views have no rows.
--
-- Field names are the ones src/events.ts, src/types.ts, src/runlog/lines.ts,
-- src/tracing/jsonlSpanExporter.ts and src/sinks/blackboard.ts define. Torn or garbage JSONL lines
-- are read as all-NULL rows (ignore_errors) and dropped by the views' WHERE clauses.

SET VARIABLE artifacts = coalesce(getvariable('artifacts'), './artifacts');
SET VARIABLE empty_sources = coalesce(getvariable('empty_sources'), []::VARCHAR[]);

SET VARIABLE events_file = CASE WHEN list_contains(getvariable('empty_sources'), 'events') THEN getvariable('empty_file') ELSE getvariable('artifacts') || '/cloudevents.jsonl' END;
SET VARIABLE spans_file = CASE WHEN list_contains(getvariable('empty_sources'), 'spans') THEN getvariable('empty_file') ELSE getvariable('artifacts') || '/traces.jsonl' END;
SET VARIABLE blackboard_file = CASE WHEN list_contains(getvariable('empty_sources'), 'blackboard') THEN getvariable('empty_file') ELSE getvariable('artifacts') || '/blackboard.jsonl' END;
SET VARIABLE runs_log_file = CASE WHEN list_contains(getvariable('empty_sources'), 'runs_log') THEN getvariable('empty_file') ELSE getvariable('artifacts') || '/runs.jsonl' END;
SET VARIABLE answers_file = CASE WHEN list_contains(getvariable('empty_sources'), 'answers') THEN getvariable('empty_file') ELSE getvariable('artifacts') || '/answers.jsonl' END;

-- events: cloudevents.jsonl, one CloudEvent per row. `data` holds every field of every event
-- type (src/events.ts); a field an event type does not have is NULL. `data.status` is text: the
-- run's status on run/consensus events, the HTTP status (as text) on quorum.model.failed.
-- `data.quorum` is the run's quorum arithmetic; on quorum.batch.started it is a plain number and
-- reads as NULL (see `batches`). Batch events carry the batch id as their runid and batchid.
CREATE OR REPLACE VIEW events AS
SELECT id, source, type, "time", runid, port, chunkid, batchid, traceparent,
       substr(traceparent, 4, 32) AS trace_id,
       data
FROM read_json(getvariable('events_file'), format = 'newline_delimited', records = true, ignore_errors = true,
  columns = {
    specversion: 'VARCHAR', id: 'VARCHAR', source: 'VARCHAR', type: 'VARCHAR', time: 'TIMESTAMPTZ',
    datacontenttype: 'VARCHAR', runid: 'VARCHAR', port: 'INTEGER', chunkid: 'VARCHAR', batchid: 'VARCHAR', traceparent: 'VARCHAR',
    data: 'STRUCT(
      query VARCHAR,
      panel STRUCT(source VARCHAR, size INTEGER, members STRUCT(port INTEGER, model VARCHAR, family VARCHAR)[]),
      quorum STRUCT(configured INTEGER, required INTEGER, responders INTEGER, panel INTEGER, minResponders INTEGER),
      context STRUCT(source VARCHAR, chars BIGINT),
      sandbox BOOLEAN, rounds INTEGER, timeoutMs BIGINT, replayOf VARCHAR, supersedes VARCHAR[],
      port INTEGER, model VARCHAR, family VARCHAR, latencyMs DOUBLE, attempts INTEGER,
      inputTokens BIGINT, outputTokens BIGINT, cost DOUBLE, claims INTEGER, chars BIGINT,
      finishReason VARCHAR, responseId VARCHAR, kind VARCHAR, message VARCHAR, status VARCHAR,
      dissent INTEGER, failures INTEGER, durationMs DOUBLE, exitCode INTEGER,
      round INTEGER, ok BOOLEAN, candidates INTEGER, agree INTEGER, disagree INTEGER, unsure INTEGER, same INTEGER,
      files INTEGER, chunks INTEGER, resumed BOOLEAN, alreadyDone INTEGER, concurrency INTEGER, outcome VARCHAR,
      consensus INTEGER, degraded INTEGER, quorumLost INTEGER, failed INTEGER, skippedFiles INTEGER, calls INTEGER, wallMs DOUBLE
    )'
  })
WHERE type IS NOT NULL AND runid IS NOT NULL;

-- model_calls: one row per call to a panel port, from the events. Round 1 is the question
-- (quorum.model.responded / quorum.model.failed), round 2 the vote (quorum.vote.cast). `ok` is
-- false for a failed call, and for a vote whose ballot could not be read (kind `malformed`).
-- The chair's call (`ask --synthesize`) has no port and no event; it is in `spans` (role 'chair').
-- This is what quorum counts as a call everywhere (terminal, summary.md, report): one row here,
-- whatever its retries; `attempts` are the requests, retries included. `batchid` is the batch of
-- the call's run (NULL outside a batch).
CREATE OR REPLACE VIEW model_calls AS
SELECT runid, chunkid, batchid, "time", coalesce(port, data.port) AS port, data.model AS model, data.family AS family,
       CASE WHEN type = 'quorum.vote.cast' THEN 2 ELSE 1 END AS round,
       CASE type WHEN 'quorum.model.responded' THEN true WHEN 'quorum.model.failed' THEN false
                 ELSE coalesce(data.ok, false) END AS ok,
       data.kind AS kind, data.message AS message,
       data.latencyMs AS latency_ms, data.attempts AS attempts,
       data.inputTokens AS input_tokens, data.outputTokens AS output_tokens, data.cost AS cost,
       trace_id
FROM events
WHERE type IN ('quorum.model.responded', 'quorum.model.failed', 'quorum.vote.cast');

-- members: each run's panel seats (from quorum.run.started), to name the model behind a port.
CREATE OR REPLACE VIEW members AS
SELECT runid, m.port AS port, m.model AS model, m.family AS family
FROM (SELECT runid, unnest(data.panel.members) AS m FROM events WHERE type = 'quorum.run.started');

-- runs: one row per run id seen in the events. `status` is the run.completed status (also
-- `failed` or `interrupted`), else the consensus status, else `unfinished`. `slowest_*` is the
-- round-1 call (answer or failure) with the longest latency: the port the run waited for. Should
-- an event ever be recorded twice for a run, the latest one's fields win (arg_max over "time").
CREATE OR REPLACE VIEW runs AS
SELECT runid,
       any_value(chunkid) AS chunkid,
       any_value(batchid) AS batchid,
       min("time") FILTER (WHERE type = 'quorum.run.started') AS started_at,
       max("time") FILTER (WHERE type = 'quorum.run.completed') AS completed_at,
       arg_max(data.query, "time") FILTER (WHERE type = 'quorum.run.started') AS query,
       arg_max(data.context.source, "time") FILTER (WHERE type = 'quorum.run.started') AS context_source,
       arg_max(data.panel.size, "time") FILTER (WHERE type = 'quorum.run.started') AS panel_size,
       arg_max(data.rounds, "time") FILTER (WHERE type = 'quorum.run.started') AS rounds,
       arg_max(data.sandbox, "time") FILTER (WHERE type = 'quorum.run.started') AS sandbox,
       arg_max(data.replayOf, "time") FILTER (WHERE type = 'quorum.run.started') AS replay_of,
       coalesce(arg_max(data.status, "time") FILTER (WHERE type = 'quorum.run.completed'),
                arg_max(data.status, "time") FILTER (WHERE type = 'quorum.consensus.reached'),
                'unfinished') AS status,
       arg_max(data.durationMs, "time") FILTER (WHERE type = 'quorum.run.completed') AS duration_ms,
       arg_max(data.exitCode, "time") FILTER (WHERE type = 'quorum.run.completed') AS exit_code,
       arg_max(coalesce(port, data.port), data.latencyMs) FILTER (WHERE type IN ('quorum.model.responded', 'quorum.model.failed')) AS slowest_port,
       arg_max(data.model, data.latencyMs) FILTER (WHERE type IN ('quorum.model.responded', 'quorum.model.failed')) AS slowest_model,
       max(data.latencyMs) FILTER (WHERE type IN ('quorum.model.responded', 'quorum.model.failed')) AS slowest_ms,
       max("time") FILTER (WHERE type IN ('quorum.model.responded', 'quorum.model.failed')) AS round1_done_at,
       max("time") FILTER (WHERE type = 'quorum.vote.cast') AS round2_done_at,
       max("time") FILTER (WHERE type = 'quorum.consensus.reached') AS consensus_at
FROM events
WHERE type NOT LIKE 'quorum.batch.%'
GROUP BY runid;

-- batches: one row per `quorum batch` (its quorum.batch.started / quorum.batch.completed events).
-- Its runs are the `runs` rows with this batchid. A batch that was resumed has several of each:
-- `started_at` is the first start, the other fields are the latest event's (arg_max over "time"),
-- so a batch interrupted and then resumed to the end reads `completed`. `outcome` and
-- `completed_at` are NULL while a batch has not ended: no completion event yet, or a resume
-- started after the latest one. The counts (consensus … cost) are the latest session's alone, as
-- its completion event recorded them; report_batches counts the whole batch from batch_chunks and
-- model_calls, by the one definition the terminal summary and the report use.
CREATE OR REPLACE VIEW batches AS
SELECT batchid, started_at,
       CASE WHEN ended THEN completed_at END AS completed_at,
       query, files, chunks,
       CASE WHEN ended THEN outcome END AS outcome,
       consensus, degraded, quorum_lost, failed, calls, input_tokens, output_tokens, cost, wall_ms
FROM (
  SELECT batchid,
         min("time") FILTER (WHERE type = 'quorum.batch.started') AS started_at,
         max("time") FILTER (WHERE type = 'quorum.batch.completed') AS completed_at,
         coalesce(max("time") FILTER (WHERE type = 'quorum.batch.completed') >= max("time") FILTER (WHERE type = 'quorum.batch.started'), true) AS ended,
         arg_max(data.query, "time") FILTER (WHERE type = 'quorum.batch.started') AS query,
         arg_max(data.files, "time") FILTER (WHERE type = 'quorum.batch.started') AS files,
         max(data.chunks) AS chunks,
         arg_max(data.outcome, "time") FILTER (WHERE type = 'quorum.batch.completed') AS outcome,
         arg_max(data.consensus, "time") FILTER (WHERE type = 'quorum.batch.completed') AS consensus,
         arg_max(data.degraded, "time") FILTER (WHERE type = 'quorum.batch.completed') AS degraded,
         arg_max(data.quorumLost, "time") FILTER (WHERE type = 'quorum.batch.completed') AS quorum_lost,
         arg_max(data.failed, "time") FILTER (WHERE type = 'quorum.batch.completed') AS failed,
         arg_max(data.calls, "time") FILTER (WHERE type = 'quorum.batch.completed') AS calls,
         arg_max(data.inputTokens, "time") FILTER (WHERE type = 'quorum.batch.completed') AS input_tokens,
         arg_max(data.outputTokens, "time") FILTER (WHERE type = 'quorum.batch.completed') AS output_tokens,
         arg_max(data.cost, "time") FILTER (WHERE type = 'quorum.batch.completed') AS cost,
         arg_max(data.wallMs, "time") FILTER (WHERE type = 'quorum.batch.completed') AS wall_ms
  FROM events
  WHERE type LIKE 'quorum.batch.%' AND batchid IS NOT NULL
  GROUP BY batchid
);

-- spans: traces.jsonl, one finished OTel span per row, with the attributes queries use pulled out.
CREATE OR REPLACE VIEW spans AS
SELECT traceId AS trace_id, spanId AS span_id, parentSpanId AS parent_span_id, name, kind,
       startTime AS start_time, endTime AS end_time, durationMs AS duration_ms,
       status.code AS status_code, status.message AS status_message,
       attributes."quorum.run_id" AS run_id,
       attributes."quorum.port" AS port,
       attributes."gen_ai.request.model" AS model,
       attributes."quorum.round" AS round,
       attributes."quorum.role" AS role,
       attributes."error.type" AS error_type,
       attributes, events, resource, scope
FROM read_json(getvariable('spans_file'), format = 'newline_delimited', records = true, ignore_errors = true,
  columns = {
    traceId: 'VARCHAR', spanId: 'VARCHAR', parentSpanId: 'VARCHAR', name: 'VARCHAR', kind: 'VARCHAR',
    startTime: 'TIMESTAMPTZ', endTime: 'TIMESTAMPTZ', durationMs: 'DOUBLE',
    status: 'STRUCT(code VARCHAR, message VARCHAR)',
    attributes: 'STRUCT(
      "quorum.run_id" VARCHAR, "quorum.status" VARCHAR, "quorum.panel.size" INTEGER,
      "quorum.quorum.configured" INTEGER, "quorum.sandbox" BOOLEAN,
      "quorum.chunk.id" VARCHAR, "quorum.chunk.source" VARCHAR,
      "quorum.round" INTEGER, "quorum.port" INTEGER, "quorum.family" VARCHAR, "quorum.role" VARCHAR,
      "quorum.attempts" INTEGER, "quorum.cost" DOUBLE, "quorum.candidates" INTEGER,
      "gen_ai.operation.name" VARCHAR, "gen_ai.provider.name" VARCHAR,
      "gen_ai.request.model" VARCHAR, "gen_ai.response.model" VARCHAR, "gen_ai.response.id" VARCHAR,
      "gen_ai.response.finish_reasons" VARCHAR[],
      "gen_ai.usage.input_tokens" BIGINT, "gen_ai.usage.output_tokens" BIGINT,
      "gen_ai.request.max_tokens" INTEGER, "gen_ai.request.temperature" DOUBLE,
      "error.type" VARCHAR, "server.address" VARCHAR, "server.port" INTEGER
    )',
    events: 'JSON', resource: 'JSON', scope: 'VARCHAR'
  })
WHERE traceId IS NOT NULL AND name IS NOT NULL;

-- blackboard: blackboard.jsonl, one coordination signal per finished run (src/sinks/blackboard.ts).
-- `pull` is runs/<runId>/consensus.md when that file was written, else runs.jsonl#<runId>.
CREATE OR REPLACE VIEW blackboard AS
SELECT ts, mark, pull, msg, type, hive, gen, port,
       coalesce(nullif(regexp_extract(pull, '(^|/)runs/([^/]+)/', 2), ''),
                nullif(regexp_extract(pull, '(^|/)runs\.jsonl#(.+)$', 2), '')) AS runid
FROM read_json(getvariable('blackboard_file'), format = 'newline_delimited', records = true, ignore_errors = true,
  columns = {
    ts: 'TIMESTAMPTZ', mark: 'VARCHAR', pull: 'VARCHAR', msg: 'VARCHAR', type: 'VARCHAR',
    hive: 'VARCHAR', gen: 'VARCHAR', port: 'VARCHAR'
  })
WHERE mark IS NOT NULL;

-- consensus: one row per line of runs.jsonl, i.e. per decided run: the consensus document
-- (ConsensusDocument in src/types.ts) plus the RunLine fields of src/runlog/lines.ts. A run
-- interrupted before it was decided has no row here (see `runs`). `responders` lists the ports
-- that answered round 1: the agreement matrix's non-null rows. `models` is the whole panel
-- (port, model, family), answering or not; `batch_id` the batch the run belongs to; `truncated`
-- the ports whose round-1 answer was cut at the model's output limit (empty when none).
CREATE OR REPLACE VIEW consensus AS
SELECT runId AS runid, query, chunk.source AS chunk_source, chunk.id AS chunk_id, status,
       quorum.configured AS configured, quorum.required AS required, quorum.responders AS responder_count,
       quorum.panel AS panel, quorum.minResponders AS min_responders,
       list_filter(range(quorum.panel)::INTEGER[],
                   p -> NOT list_contains(list_transform(list_filter(failures, f -> f.round IS NULL), f -> f.port), p)) AS responders,
       claims, dissent, failures, agreement,
       coalesce(rounds, 1) AS rounds, abstentions, candidates,
       startedAt AS started_at, finishedAt AS finished_at, sandbox, replayOf AS replay_of, supersedes,
       synthesis.model AS synthesis_model, synthesis.text AS synthesis_text, synthesis.error AS synthesis_error,
       batchId AS batch_id, models, panelSource AS panel_source,
       coalesce(truncated, []::INTEGER[]) AS truncated
FROM read_json(getvariable('runs_log_file'), format = 'newline_delimited', records = true, ignore_errors = true,
  columns = {
    runId: 'VARCHAR', query: 'VARCHAR', chunk: 'STRUCT(source VARCHAR, id VARCHAR)', status: 'VARCHAR',
    quorum: 'STRUCT(configured INTEGER, required INTEGER, responders INTEGER, panel INTEGER, minResponders INTEGER)',
    claims: 'STRUCT(text VARCHAR, support INTEGER, ports INTEGER[], proposers INTEGER[], ids VARCHAR[],
                    votes STRUCT(agree INTEGER[], disagree INTEGER[], unsure INTEGER[], abstained INTEGER[]))[]',
    dissent: 'STRUCT(text VARCHAR, support INTEGER, ports INTEGER[], proposers INTEGER[], ids VARCHAR[],
                     votes STRUCT(agree INTEGER[], disagree INTEGER[], unsure INTEGER[], abstained INTEGER[]))[]',
    failures: 'STRUCT(port INTEGER, model VARCHAR, kind VARCHAR, attempts INTEGER, message VARCHAR, round INTEGER)[]',
    agreement: 'DOUBLE[][]', rounds: 'INTEGER', abstentions: 'INTEGER[]', candidates: 'INTEGER',
    startedAt: 'TIMESTAMPTZ', finishedAt: 'TIMESTAMPTZ', sandbox: 'BOOLEAN', replayOf: 'VARCHAR', supersedes: 'VARCHAR[]',
    synthesis: 'STRUCT(model VARCHAR, text VARCHAR, error VARCHAR)',
    models: 'STRUCT(port INTEGER, model VARCHAR, family VARCHAR)[]', batchId: 'VARCHAR', panelSource: 'VARCHAR',
    truncated: 'INTEGER[]'
  })
WHERE runId IS NOT NULL AND status IS NOT NULL;

-- batch_chunks: one row per batch and decided chunk, with the chunk's latest run line (a chunk
-- redone counts once) and its verdict. The verdict is the one definition src/report/outcome.ts
-- holds for the terminal summary, summary.md and the report: `quorum_lost` when the quorum was
-- lost; `no_claims` when no claim reached the quorum, whatever the status (a degraded run with no
-- consensus claim concluded nothing); else the status, `consensus` or `degraded`. A batch's chunks
-- with no row here are undecided (see report_batches).
CREATE OR REPLACE VIEW batch_chunks AS
SELECT batch_id AS batchid, chunk_source AS source, chunk_id,
       arg_max(runid, finished_at) AS runid,
       arg_max(status, finished_at) AS status,
       arg_max(CASE WHEN status = 'quorum_lost' THEN 'quorum_lost' WHEN len(claims) = 0 THEN 'no_claims' ELSE status END, finished_at) AS verdict,
       arg_max(len(claims), finished_at) AS consensus_claims,
       arg_max(len(dissent), finished_at) AS dissent
FROM consensus
WHERE batch_id IS NOT NULL AND chunk_id IS NOT NULL
GROUP BY batch_id, chunk_source, chunk_id;

-- claims: every claim of every decided run, consensus and dissent alike, one row each.
-- `ports` are the ports that stand behind it (support = len(ports)); `proposers` (two-round
-- runs) the ports that put it forward in round 1. `n` is its 1-based place in its list.
CREATE OR REPLACE VIEW claims AS
SELECT runid, chunk_source, chunk_id, status, replay_of, finished_at,
       x.kind AS kind, x.n AS n, x.text AS text, x.support AS support, x.ports AS ports, x.proposers AS proposers
FROM (
  SELECT runid, chunk_source, chunk_id, status, replay_of, finished_at,
         unnest(list_concat(
           list_transform(claims, (c, i) -> {'kind': 'consensus', 'n': i, 'text': c.text, 'support': c.support, 'ports': c.ports, 'proposers': c.proposers}),
           list_transform(dissent, (c, i) -> {'kind': 'dissent', 'n': i, 'text': c.text, 'support': c.support, 'ports': c.ports, 'proposers': c.proposers}))) AS x
  FROM consensus
);

-- answers: answers.jsonl, one row per usable reply of one port: round 1 the answer to the
-- question, round 2 the reply to the vote with the ballot read from it (`ballot`: JSON object
-- candidate id -> agree | disagree | unsure | same:cK; NULL when unreadable, and in round 1).
-- Failed calls have no row (they are in model_calls). A replay's lines are a copy of its
-- source's under the replay's run id.
CREATE OR REPLACE VIEW answers AS
SELECT runId AS runid, round, port, model, family, latencyMs AS latency_ms, attempts,
       usage.inputTokens AS input_tokens, usage.outputTokens AS output_tokens, usage.cost AS cost,
       finishReason AS finish_reason, responseId AS response_id, text, ballot
FROM read_json(getvariable('answers_file'), format = 'newline_delimited', records = true, ignore_errors = true,
  columns = {
    runId: 'VARCHAR', round: 'INTEGER', port: 'INTEGER', model: 'VARCHAR', family: 'VARCHAR', latencyMs: 'DOUBLE', attempts: 'INTEGER',
    usage: 'STRUCT(inputTokens BIGINT, outputTokens BIGINT, cost DOUBLE)',
    finishReason: 'VARCHAR', responseId: 'VARCHAR', text: 'VARCHAR', ballot: 'JSON'
  })
WHERE runId IS NOT NULL AND round IN (1, 2);

-- responses: each answering port's raw round-1 answer (answers, round 1).
CREATE OR REPLACE VIEW responses AS
SELECT runid, port, model, family, latency_ms, attempts, input_tokens, output_tokens, cost,
       finish_reason, response_id, text
FROM answers
WHERE round = 1;

-- votes: each voter's raw round-2 reply and the ballot read from it (answers, round 2).
CREATE OR REPLACE VIEW votes AS
SELECT runid, port, model, family, latency_ms, attempts, input_tokens, output_tokens, cost,
       finish_reason, response_id, text, ballot
FROM answers
WHERE round = 2;
