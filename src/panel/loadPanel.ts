import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { familyOf } from '../models/family.js';
import type { Panel, PanelMember } from '../types.js';
import { DEFAULT_API_KEY_ENV, DEFAULT_BASE_URL, DEFAULT_MEMBERS, DEFAULT_TIMEOUT_MS } from './defaultPanel.js';
import { apiKeyEnvProblem, endpointProblem } from './keyPolicy.js';

const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name (letters, digits, _)')
  .superRefine((name, ctx) => {
    const problem = apiKeyEnvProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
const insecureFlag = z.boolean({ error: 'expected true or false' });
const positiveMs = z.number({ error: 'expected a number of milliseconds' }).int('expected an integer number of ms').positive('expected a positive number of ms');

const memberSchema = z.strictObject({
  port: z.number({ error: 'expected an integer port' }).int('expected an integer port').nonnegative('expected a port ≥ 0').optional(),
  model: z.string({ error: 'expected a model id (a non-empty string)' }).trim().min(1, 'expected a model id (a non-empty string)'),
  family: z.string().trim().min(1, 'expected a non-empty family name').optional(),
  baseURL: url.optional(),
  apiKeyEnv: envName.optional(),
  allowInsecureHttp: insecureFlag.optional(),
  timeoutMs: positiveMs.optional(),
  maxTokens: z.number().int().positive('expected a positive integer').optional(),
  temperature: z.number().min(0, 'expected a temperature from 0 to 2').max(2, 'expected a temperature from 0 to 2').optional(),
});

const retrySchema = z.strictObject({
  maxRetries: z.number().int('expected an integer').min(0, 'expected retries ≥ 0').max(10, 'expected at most 10 retries').optional(),
  baseDelayMs: z.number().int('expected an integer number of ms').min(0, 'expected ms ≥ 0').optional(),
  maxDelayMs: z.number().int('expected an integer number of ms').min(0, 'expected ms ≥ 0').optional(),
  retryAfterCapMs: z.number().int('expected an integer number of ms').min(0, 'expected ms ≥ 0').optional(),
});

const panelSchema = z.strictObject({
  baseURL: url.optional(),
  apiKeyEnv: envName.optional(),
  allowInsecureHttp: insecureFlag.optional(),
  quorum: z.number().int('expected an integer quorum').positive('expected a quorum ≥ 1').optional(),
  timeoutMs: positiveMs.optional(),
  retry: retrySchema.optional(),
  members: z.array(memberSchema, { error: 'expected an array of members' }).min(1, 'expected at least one member'),
});

export type PanelFile = z.infer<typeof panelSchema>;

/** The built-in panel, with `OPENROUTER_BASE_URL` replacing the default base URL when set. */
export function defaultPanel(env: NodeJS.ProcessEnv = process.env): Panel {
  return resolvePanel({ members: DEFAULT_MEMBERS.map((m) => ({ ...m })) }, 'built-in', env);
}

/** Reads, validates and resolves a panel file (JSON or YAML). Errors name file, path and expectation. */
export function loadPanel(file: string, env: NodeJS.ProcessEnv = process.env): Panel {
  let text: string;
  try {
    if (statSync(file).isDirectory()) throw new UsageError(`Panel file ${file} is a directory; give the path of a .json or .yaml file`);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Panel file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); check the path given to --panel`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    const kind = /\.ya?ml$/i.test(file) ? 'YAML' : 'JSON';
    throw new UsageError(`Panel file ${file} is not valid ${kind}: ${firstLine((error as Error).message)}`);
  }
  return parsePanel(raw, file, env);
}

/** Validates an already-parsed panel object; `source` names it in errors. */
export function parsePanel(raw: unknown, source: string, env: NodeJS.ProcessEnv = process.env): Panel {
  const parsed = panelSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? formatPath(issue.path) : '(top level)';
    const message = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` : issue.message;
    throw new UsageError(`Panel file ${source}: ${where}: ${message}`);
  }
  return resolvePanel(parsed.data, source, env);
}

function resolvePanel(file: PanelFile, source: string, env: NodeJS.ProcessEnv): Panel {
  const baseURL = file.baseURL ?? env.OPENROUTER_BASE_URL ?? DEFAULT_BASE_URL;
  const apiKeyEnv = file.apiKeyEnv ?? DEFAULT_API_KEY_ENV;
  const timeoutMs = file.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const fileInsecure = file.allowInsecureHttp ?? false;
  // The panel-wide endpoint serves --free, --suggest and the quota, with the panel-wide key.
  const topProblem = endpointProblem(baseURL, apiKeyEnv, fileInsecure);
  if (topProblem) {
    throw new UsageError(
      file.baseURL === undefined && env.OPENROUTER_BASE_URL !== undefined
        ? `OPENROUTER_BASE_URL=${baseURL} ${topProblem.replace('to the panel file (top level or this member)', 'to the top level of a panel file')}`
        : `Panel file ${source}: baseURL: ${baseURL} ${topProblem.replace(' (top level or this member)', '')}`,
    );
  }
  const n = file.members.length;
  const seen = new Map<number, number>();
  const members: PanelMember[] = file.members.map((m, index) => {
    const port = m.port ?? index;
    const earlier = seen.get(port);
    if (earlier !== undefined) {
      throw new UsageError(`Panel file ${source}: members[${index}].port: port ${port} is already used by members[${earlier}]; give each member its own port`);
    }
    if (port >= n) {
      throw new UsageError(`Panel file ${source}: members[${index}].port: expected a port from 0 to ${n - 1} (one per member), got ${port}`);
    }
    seen.set(port, index);
    const memberURL = m.baseURL ?? baseURL;
    const memberKey = m.apiKeyEnv ?? apiKeyEnv;
    const problem = endpointProblem(memberURL, memberKey, m.allowInsecureHttp ?? fileInsecure);
    if (problem) {
      const where = m.baseURL !== undefined ? `members[${index}].baseURL` : `members[${index}] (baseURL ${file.baseURL === undefined && env.OPENROUTER_BASE_URL !== undefined ? 'from OPENROUTER_BASE_URL' : 'from the top level'})`;
      throw new UsageError(`Panel file ${source}: ${where}: ${memberURL} ${problem}`);
    }
    return {
      port,
      model: m.model,
      family: m.family ?? familyOf(m.model),
      baseURL: m.baseURL ?? baseURL,
      apiKeyEnv: m.apiKeyEnv ?? apiKeyEnv,
      timeoutMs: m.timeoutMs ?? timeoutMs,
      ...(m.maxTokens !== undefined && { maxTokens: m.maxTokens }),
      ...(m.temperature !== undefined && { temperature: m.temperature }),
    };
  });
  if (file.quorum !== undefined && file.quorum > n) {
    throw new UsageError(`Panel file ${source}: quorum: expected an integer from 1 to ${n} (the panel size), got ${file.quorum}`);
  }
  members.sort((a, b) => a.port - b.port);
  return {
    source,
    baseURL,
    apiKeyEnv,
    timeoutMs,
    members,
    ...(file.quorum !== undefined && { quorum: file.quorum }),
    ...(file.retry !== undefined && { retry: file.retry }),
  };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
