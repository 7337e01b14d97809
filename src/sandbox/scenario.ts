/**
 * Scenarios for the sandbox: which simulated models exist, what they answer and how they fail.
 *
 * A scenario is plain data (JSON or YAML) so users can script outages for `quorum sandbox
 * --scenario FILE` without writing code, and tests can build one inline.
 *
 * @example
 * ```yaml
 * requireKey: sk-sandbox
 * rateLimit: { requests: 20, windowMs: 10000 }
 * models:
 *   - model: acme/fast:free
 *     family: acme
 *     latencyMs: 50
 *     answers:
 *       - when: "capital of France"
 *         text: '{"claims": ["Paris is the capital of France."]}'
 *     answer: '{"claims": ["This is a simulated answer."]}'
 *   - model: acme/flaky:free
 *     fault: rate_limit
 *     faultTimes: 2      # the first two requests get 429, later ones are answered
 *     retryAfterS: 1
 *   - model: acme/liar:free
 *     answer: '{"claims": ["The protocol uses port 8080 by default."]}'
 *     votes: agree_all   # round 2: agrees with every candidate, whatever it said in round 1
 *   - model: acme/shy:free
 *     voteFault: http_503 # answers round 1, fails every vote-round request
 *   - model: acme/reader:free
 *     fromDocument: true  # with --context (or a batch chunk): answers from the document's sentences
 * catalog:              # what GET /models lists (default: every model above, free, 128k)
 *   - { id: acme/fast:free, context_length: 32768, pricing: { prompt: "0", completion: "0" } }
 *   - { id: acme/paid, context_length: 200000, pricing: { prompt: "0.000003", completion: "0.000015" } }
 * key:                  # GET /key fields (false: the endpoint answers 404)
 *   is_free_tier: true
 *   free_model_daily_requests: { used: 47, limit: 50, remaining: 3 }
 * ```
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** Every failure a simulated model can be told to produce. */
export const FAULTS = [
  /** Accept the request and never answer, until the client gives up and disconnects. */
  'hang',
  /** 429 with `Retry-After` (`retryAfterS`, default 1) and X-RateLimit-* headers. */
  'rate_limit',
  'http_500',
  'http_502',
  'http_503',
  /** 402 with an OpenRouter-style "insufficient credits" body. */
  'http_402',
  /** Destroy the socket without sending any response. */
  'reset',
  /** 200 whose body is not JSON; on a stream, an SSE `data:` line that is not JSON. */
  'malformed',
  /** HTTP 200 whose JSON body is `{"error":{"code":502,...}}`, as OpenRouter sends. */
  'error_in_200',
  /** A stream that sends some content, then a chunk with `error` and finish_reason "error". */
  'midstream_error',
  /** A stream that sends some content, then ends without finish_reason or `data: [DONE]`. */
  'truncated',
  /** A normal response whose content is "". */
  'empty',
  /** 401, as for a revoked key. */
  'auth',
] as const;
export type Fault = (typeof FAULTS)[number];

/**
 * How a simulated model votes in round 2 (DESIGN.md "Vote round"), when it has no `voteAnswer`.
 * The honest vote compares each candidate with the claims of the model's own `answer`.
 */
export const VOTE_MODES = [
  /**
   * Per candidate, when the scenario declares `facts`: as those declarations say (see
   * `Scenario.facts`). Without them: `agree` when one of its own claims states the same fact
   * (`sameClaim`, or the same text); `same:<id>` instead when an earlier candidate already matched that own claim;
   * `disagree` when an own claim is a look-alike that contradicts it (similar wording, but a
   * different number or name, or negated); `unsure` otherwise.
   */
  'honest',
  /** Byzantine: `agree` with every candidate. */
  'agree_all',
  /** `disagree` with every candidate. */
  'disagree_all',
  /** Merge-stuffing attacker: the first candidate `agree`, every other one `same:<first id>`. */
  'same_all',
  /** Prose that holds no JSON at all. */
  'garbage',
  /** Honest votes on the first half of the candidates (rounded up); the rest are missing. */
  'partial',
  /**
   * Well-formed JSON with unusable content: values that are not votes ("maybe"), `same:`
   * pointing to an id not in the list, and an extra vote for an id not in the list.
   */
  'invalid',
] as const;
export type VoteMode = (typeof VOTE_MODES)[number];

/** An answer chosen by matching the question. */
export interface AnswerRule {
  /** Regular expression (case-insensitive) tested against the last user message. */
  when: string;
  /** The content the model replies with when `when` matches. */
  text: string;
}

/** Token counts and cost reported in the response's `usage` (OpenRouter puts `cost` there). */
export interface SandboxUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  cost?: number;
}

/** One simulated model. */
export interface SandboxModel {
  /** Model id clients send, e.g. "meta-llama/llama-3.3-70b-instruct:free". */
  model: string;
  /** Model family, for panels built from the scenario. Defaults to the id's part before "/". */
  family?: string;
  /** Wait before the first byte of the response (or before a fault), in ms. Default 0. */
  latencyMs?: number;
  /** Wait between SSE chunks when streaming, in ms. Default 0. */
  tokenDelayMs?: number;
  /** Content for any question no rule in `answers` matches. */
  answer?: string;
  /**
   * When the prompt carries a document (`--context`, a batch chunk), answer from its sentences
   * instead of `answer`: most of them, with an omission, light rewordings and one or two planted
   * mistakes, all seeded by the model id and the document (see src/sandbox/documentAnswers.ts).
   * `answers` rules still come first. Default false.
   */
  fromDocument?: boolean;
  /**
   * Question-specific answers; the first rule whose `when` matches wins. Not consulted for
   * vote-round prompts (they repeat the question, so a rule would fire by accident): use
   * `voteAnswer` / `votes` to script those.
   */
  answers?: AnswerRule[];
  /** How the model votes in round 2. Default `honest`. Ignored when `voteAnswer` is set. */
  votes?: VoteMode;
  /** Exact reply to every vote-round prompt, e.g. a hand-written `{"votes": {...}}`. Wins over `votes`. */
  voteAnswer?: string;
  /**
   * Text the model streams in `reasoning` deltas (or the message's `reasoning` field) before
   * its content, as reasoning models on OpenRouter do. Clients should ignore it.
   */
  reasoning?: string;
  /** Reply to the chair's prompt (`quorum ask --synthesize`); default: prose citing every claim. */
  chairAnswer?: string;
  /** Fail this way instead of answering. */
  fault?: Fault;
  /** Fail only the first N requests to this model, then answer normally. Default: always fail. */
  faultTimes?: number;
  /**
   * Fail every vote-round request this way, while answering round 1 normally. `fault` (within
   * `faultTimes`) still applies to every request and takes precedence.
   */
  voteFault?: Fault;
  /** Seconds sent in `Retry-After` for `rate_limit` (default 1) and `http_503` (none by default). */
  retryAfterS?: number;
  /** Usage to report; counts default to a chars/4 estimate and cost to 0. */
  usage?: SandboxUsage;
}

/** Account-wide rate limit over chat completions: at most `requests` per fixed `windowMs`. */
export interface SandboxRateLimit {
  requests: number;
  windowMs: number;
}

/**
 * One entry of a scripted `GET /models` list, OpenRouter-shaped. Fields beyond these (e.g. a
 * pasted real OpenRouter answer's `architecture`, `top_provider`) are served as given.
 */
export interface CatalogEntry {
  id: string;
  /** Default `Sandbox: <id>`. */
  name?: string;
  /** Default 131072; `null` as OpenRouter sends for an unknown context. */
  context_length?: number | null;
  /** USD per token as decimal strings, as OpenRouter sends them. Default `{prompt: "0", completion: "0"}`. */
  pricing?: { prompt?: string; completion?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * A scripted `GET /key` answer: these fields replace the generated ones (label "sandbox",
 * usage summed from served costs, is_free_tier true, …). OpenRouter's shape; any other field
 * is served as given.
 */
export interface KeyScript {
  label?: string;
  limit?: number | null;
  limit_remaining?: number | null;
  usage?: number;
  usage_daily?: number;
  is_free_tier?: boolean;
  rate_limit?: { requests: number; interval: string };
  /** OpenRouter's free-model (`:free`) daily request counter for the account, reset at UTC midnight. */
  free_model_daily_requests?: { used: number; limit: number; remaining: number };
  [field: string]: unknown;
}

/**
 * One fact of a scenario, as its author means it: the wordings that state it and the facts it
 * contradicts. Honest voters decide from these declarations, so a test of the claim matcher never
 * gets its votes from that same matcher.
 */
export interface FactGroup {
  id: string;
  /** Claim texts that state this fact; compared ignoring case, punctuation and spacing. */
  wordings: string[];
  /** Ids of facts this one contradicts (either side may declare it). */
  contradicts?: string[];
}

/** What the sandbox serves. */
export interface Scenario {
  models: SandboxModel[];
  /**
   * The facts the models' claims state. With it, an `honest` voter agrees with a candidate worded
   * as a fact it stated (`same:<id>` when an earlier candidate already carried that fact),
   * disagrees with one worded as a fact contradicting one it stated, and is unsure otherwise; an
   * own claim no group lists is a fact of its own, stated only in those words. Without it, honest
   * voters fall back to the claim matcher (see `honestVotes`).
   */
  facts?: FactGroup[];
  /**
   * What `GET /models` lists instead of one free 128k-context entry per model. Listing a model
   * here does not make chat completions serve it: only `models` answer.
   */
  catalog?: CatalogEntry[];
  /**
   * `GET /key`: an object replaces the generated fields it names; `false` answers 404, as a
   * provider without the endpoint does.
   */
  key?: KeyScript | false;
  /** When set, requests whose `Authorization: Bearer` token differs get 401. */
  requireKey?: string;
  rateLimit?: SandboxRateLimit;
  /**
   * Make error bodies quote the bearer token the request carried, as some careless providers
   * do, so tests can check that clients redact keys from error messages. Default false.
   */
  echoKey?: boolean;
}

const nonNegativeInt = z.number().int().nonnegative();

const answerRuleSchema = z.strictObject({
  when: z.string().superRefine((source, ctx) => {
    try {
      new RegExp(source, 'i');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `expected a valid regular expression (${(err as Error).message})` });
    }
  }),
  text: z.string(),
});

const modelSchema = z.strictObject({
  model: z.string().min(1),
  family: z.string().min(1).optional(),
  latencyMs: nonNegativeInt.optional(),
  tokenDelayMs: nonNegativeInt.optional(),
  answer: z.string().optional(),
  fromDocument: z.boolean().optional(),
  answers: z.array(answerRuleSchema).optional(),
  votes: z.enum(VOTE_MODES).optional(),
  voteAnswer: z.string().optional(),
  chairAnswer: z.string().optional(),
  reasoning: z.string().optional(),
  fault: z.enum(FAULTS).optional(),
  faultTimes: nonNegativeInt.optional(),
  voteFault: z.enum(FAULTS).optional(),
  retryAfterS: z.number().nonnegative().optional(),
  usage: z
    .strictObject({
      prompt_tokens: nonNegativeInt.optional(),
      completion_tokens: nonNegativeInt.optional(),
      cost: z.number().nonnegative().optional(),
    })
    .optional(),
});

const priceSchema = z.string().regex(/^-?\d+(\.\d+)?(e-?\d+)?$/i, 'expected a price as a decimal string, e.g. "0" or "0.0000015"');

/** Loose objects: a real OpenRouter answer, pasted in, carries many more fields. */
const catalogEntrySchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().optional(),
  context_length: nonNegativeInt.nullable().optional(),
  pricing: z.looseObject({ prompt: priceSchema.optional(), completion: priceSchema.optional() }).optional(),
});

const keySchema = z.looseObject({
  label: z.string().optional(),
  limit: z.number().nullable().optional(),
  limit_remaining: z.number().nullable().optional(),
  usage: z.number().optional(),
  usage_daily: z.number().optional(),
  is_free_tier: z.boolean().optional(),
  rate_limit: z.strictObject({ requests: z.number().int(), interval: z.string() }).optional(),
  free_model_daily_requests: z.strictObject({ used: nonNegativeInt, limit: nonNegativeInt, remaining: nonNegativeInt }).optional(),
});

/** The zod schema scenarios are validated with. Unknown keys are errors, so typos surface. */
export const scenarioSchema = z
  .strictObject({
    models: z.array(modelSchema).min(1),
    facts: z
      .array(z.strictObject({ id: z.string().min(1), wordings: z.array(z.string().min(1)).min(1), contradicts: z.array(z.string().min(1)).optional() }))
      .optional(),
    catalog: z.array(catalogEntrySchema).optional(),
    // Checked in superRefine below: a union's error would only say "Invalid input".
    key: z.unknown().optional(),
    requireKey: z.string().min(1).optional(),
    rateLimit: z
      .strictObject({ requests: z.number().int().positive(), windowMs: z.number().int().positive() })
      .optional(),
    echoKey: z.boolean().optional(),
  })
  .superRefine((scenario, ctx) => {
    const seen = new Set<string>();
    scenario.models.forEach((m, i) => {
      if (seen.has(m.model)) {
        ctx.addIssue({ code: 'custom', path: ['models', i, 'model'], message: `expected a unique model id, "${m.model}" appears twice` });
      }
      seen.add(m.model);
    });
    if (scenario.key !== undefined && scenario.key !== false) {
      if (scenario.key === null || typeof scenario.key !== 'object' || Array.isArray(scenario.key)) {
        ctx.addIssue({ code: 'custom', path: ['key'], message: 'expected an object of GET /key fields, or false for no /key endpoint' });
      } else {
        const parsed = keySchema.safeParse(scenario.key);
        for (const issue of parsed.error?.issues ?? []) ctx.addIssue({ code: 'custom', path: ['key', ...issue.path], message: issueText(issue) });
      }
    }
    const factIds = new Set(scenario.facts?.map((f) => f.id));
    const wordingOf = new Map<string, string>();
    const ids = new Set<string>();
    scenario.facts?.forEach((fact, i) => {
      if (ids.has(fact.id)) ctx.addIssue({ code: 'custom', path: ['facts', i, 'id'], message: `expected a unique fact id, "${fact.id}" appears twice` });
      ids.add(fact.id);
      fact.wordings.forEach((w, j) => {
        const other = wordingOf.get(normaliseWording(w));
        if (other !== undefined && other !== fact.id) {
          ctx.addIssue({ code: 'custom', path: ['facts', i, 'wordings', j], message: `expected each wording in one fact only, it is also a wording of "${other}"` });
        }
        wordingOf.set(normaliseWording(w), fact.id);
      });
      fact.contradicts?.forEach((id, j) => {
        if (!factIds.has(id)) ctx.addIssue({ code: 'custom', path: ['facts', i, 'contradicts', j], message: `expected the id of a declared fact, "${id}" is none` });
      });
    });
    const listed = new Set<string>();
    scenario.catalog?.forEach((entry, i) => {
      if (listed.has(entry.id)) {
        ctx.addIssue({ code: 'custom', path: ['catalog', i, 'id'], message: `expected a unique model id, "${entry.id}" appears twice` });
      }
      listed.add(entry.id);
    });
  });

/** How fact wordings and claims are compared: case, punctuation and spacing do not count. */
export function normaliseWording(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** `models[2].fault`-style path, the way a user would point at the spot in their file. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(top level)';
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  // zod's own wording ("Invalid input: expected number, received string") is right once the
  // category prefix is gone.
  return issue.message.replace(/^(Invalid input|Invalid option|Too small|Too big|Invalid string|Invalid value): /, '');
}

/**
 * Validates scenario data already parsed from JSON/YAML.
 * @param sourceName names the data in errors, usually the file path.
 * @throws UsageError with one line: `<source>: <path>: <what was expected>`.
 */
export function parseScenario(value: unknown, sourceName: string): Scenario {
  const result = scenarioSchema.safeParse(value);
  if (result.success) return result.data as Scenario;
  const [first, ...rest] = result.error.issues;
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  throw new UsageError(
    first ? `${sourceName}: ${formatPath(first.path)}: ${issueText(first)}${more}` : `${sourceName}: invalid scenario`,
  );
}

/**
 * Reads and validates a scenario file. `.json` is parsed as JSON, anything else as YAML (which
 * also accepts JSON).
 * @throws UsageError naming the file, and the JSON path when the content is wrong.
 */
export async function loadScenario(file: string): Promise<Scenario> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: cannot read scenario file (${code ?? (err as Error).message})`);
  }
  let data: unknown;
  try {
    data = extname(file).toLowerCase() === '.json' ? JSON.parse(raw) : parseYaml(raw);
  } catch (err) {
    const message = (err as Error).message.split('\n')[0] ?? 'parse error';
    throw new UsageError(`${file}: expected valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'} (${message})`);
  }
  return parseScenario(data, file);
}

/** The family a model id implies: "meta-llama/llama-3" → "meta-llama". */
export function familyOf(model: SandboxModel): string {
  return model.family ?? model.model.split('/')[0] ?? model.model;
}
