/**
 * The scenario `quorum sandbox` and `quorum ask --sandbox` serve when no file is given: the
 * built-in panel's eight free models, simulated. Without a document every claim is about the
 * sandbox itself, so nobody mistakes a simulated answer for real knowledge; with one
 * (`--context`, a batch chunk) they answer from its sentences, each with its own omissions and
 * planted mistakes (`fromDocument`), so consensus and dissent show on the user's own material.
 */
import { DEFAULT_MEMBERS } from '../panel/defaultPanel.js';
import type { Scenario, SandboxModel } from './scenario.js';

/** The built-in panel's models, one per family, in port order: the sandbox simulates exactly them. */
export const SANDBOX_MODELS: readonly { readonly model: string; readonly family: string }[] = DEFAULT_MEMBERS;

/**
 * Claims most of the simulated panel makes (each by at least 6 of 8 models), so a default
 * quorum of 6 keeps them. Exported for tests and docs.
 */
export const SANDBOX_SHARED_FACTS = [
  'The quorum sandbox serves simulated models, not real ones.',
  'Sandbox answers are generated offline, without network access.',
  'Each sandbox model gives the same answer to the same question every time.',
  'The sandbox speaks the OpenRouter chat completions wire format.',
] as const;

const [SERVES, OFFLINE, SAME, WIRE] = SANDBOX_SHARED_FACTS;

/** Claims only one or two simulated models make: dissent, and two deliberate inventions. */
export const SANDBOX_MINORITY_CLAIMS = {
  moon: 'The sandbox runs on a server on the Moon.',
  free: 'Simulated answers cost nothing.',
  families: 'The sandbox simulates eight model families.',
  latency: 'Sandbox latencies are set by the scenario file.',
  trained: 'The simulated panel was trained on real encyclopedia data.',
  stamped: 'Every sandbox reply is marked as simulated.',
} as const;

const M = SANDBOX_MINORITY_CLAIMS;

const json = (claims: string[]): string => JSON.stringify({ claims });

/**
 * The answers, keyed by family: every format a real panel produces (bare JSON, fenced JSON,
 * bullets, numbered list, prose, JSON after a preamble), with small wording differences.
 */
const ANSWERS: Record<string, string> = {
  'meta-llama': json([SERVES, OFFLINE, SAME, WIRE, M.moon]),
  deepseek: ['```json', JSON.stringify({ claims: [SERVES, OFFLINE, SAME, WIRE, M.free] }, null, 2), '```'].join('\n'),
  google: [
    '- the quorum sandbox serves simulated models, not real ones',
    `- ${OFFLINE}`,
    `- ${WIRE}`,
    `- ${M.families}`,
  ].join('\n'),
  mistralai: [`1. ${SERVES}`, `2. ${OFFLINE}`, `3. ${SAME}`, '4. The sandbox speaks the OpenRouter chat completions wire format', `5. ${M.families}`].join(
    '\n',
  ),
  qwen: `${SERVES} ${OFFLINE} ${SAME} ${M.free}`,
  moonshotai: `Here are the claims:\n${json([SERVES, SAME, WIRE, M.trained])}`,
  'z-ai': ['Claims:', `* ${SERVES}`, `* ${OFFLINE}`, `* ${SAME}`, `* ${WIRE}`, `* ${M.latency}`].join('\n'),
  openai: json([SERVES, OFFLINE, 'Each sandbox model gives the same answer to the same question every time', M.stamped]),
};

/** Distinct small latencies so the live view shows ports finishing one by one. */
const TIMING: Record<string, { latencyMs: number; tokenDelayMs: number }> = {
  'meta-llama': { latencyMs: 120, tokenDelayMs: 8 },
  deepseek: { latencyMs: 240, tokenDelayMs: 6 },
  google: { latencyMs: 60, tokenDelayMs: 5 },
  mistralai: { latencyMs: 90, tokenDelayMs: 7 },
  qwen: { latencyMs: 300, tokenDelayMs: 4 },
  moonshotai: { latencyMs: 180, tokenDelayMs: 6 },
  'z-ai': { latencyMs: 150, tokenDelayMs: 5 },
  openai: { latencyMs: 40, tokenDelayMs: 3 },
};

/**
 * A fresh copy of the default scenario: the eight {@link SANDBOX_MODELS}, each answering any
 * question with simulated claims about the sandbox, 40–300 ms before the first byte. The
 * `openai` family also streams `reasoning` text first, as reasoning models do.
 */
export function defaultScenario(): Scenario {
  const models: SandboxModel[] = SANDBOX_MODELS.map(({ model, family }) => ({
    model,
    family,
    ...(TIMING[family] ?? { latencyMs: 100, tokenDelayMs: 5 }),
    answer: ANSWERS[family] ?? json([SERVES]),
    fromDocument: true,
    ...(family === 'openai'
      ? { reasoning: 'The user asks a question; I am a simulated model, so I state facts about the sandbox.' }
      : {}),
  }));
  return { models };
}
