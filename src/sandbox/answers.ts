/**
 * How a simulated model picks its reply. Kept apart from the HTTP server so it is tested
 * without sockets.
 */
import type { SandboxModel } from './scenario.js';

/** The text of the last `user` message of an OpenAI chat request, "" when there is none. */
export function lastUserMessage(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m: unknown = messages[i];
    if (!m || typeof m !== 'object' || (m as { role?: unknown }).role !== 'user') continue;
    const content = (m as { content?: unknown }).content;
    if (typeof content === 'string') return content;
    // Content may be an array of parts ({type:"text", text}) in the OpenAI format.
    if (Array.isArray(content)) {
      return content
        .map((p: unknown) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : ''))
        .join('');
    }
    return '';
  }
  return '';
}

/**
 * Splits a reply into its claims, the way a lenient reader would: a `claims` array in JSON
 * (bare, fenced or after a preamble), else list items, else sentences.
 */
export function sandboxClaims(text: string): string[] {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) {
    try {
      const parsed: unknown = JSON.parse(text.slice(start, end + 1));
      const claims = (parsed as { claims?: unknown }).claims;
      if (Array.isArray(claims)) return claims.filter((c): c is string => typeof c === 'string');
    } catch {
      // Not JSON after all: fall through to the line-based readings.
    }
  }
  const items = text
    .split('\n')
    .map((l) => /^\s*(?:[-*•]|\d+[.)])\s+(.*\S)/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
  if (items.length > 0) return items;
  return text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const normalise = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/** Vote-round candidates, `[c1] text` lines (DESIGN.md "Vote round"). */
function voteCandidates(message: string): { id: string; text: string }[] {
  const out: { id: string; text: string }[] = [];
  for (const m of message.matchAll(/^\s*\[(c\d+)\]\s+(.+?)\s*$/gm)) {
    if (m[1] && m[2]) out.push({ id: m[1], text: m[2] });
  }
  return out;
}

/** The model's content when no rule or vote applies. */
function baseAnswer(model: SandboxModel): string {
  return model.answer ?? JSON.stringify({ claims: [`This answer comes from the simulated model ${model.model}.`] });
}

/**
 * The content a simulated model replies with:
 * 1. the first `answers` rule whose `when` matches the last user message (case-insensitive);
 * 2. on a vote-round prompt (lines `[c1] claim`), `{"votes": {...}}` agreeing with the
 *    candidates its own `answer` states and `unsure` about the rest;
 * 3. its `answer`, or a one-claim default naming the model.
 */
export function chooseAnswer(model: SandboxModel, userMessage: string): string {
  for (const rule of model.answers ?? []) {
    if (new RegExp(rule.when, 'i').test(userMessage)) return rule.text;
  }
  const candidates = voteCandidates(userMessage);
  if (candidates.length > 0) {
    const own = new Set(sandboxClaims(baseAnswer(model)).map(normalise));
    const votes: Record<string, string> = {};
    for (const c of candidates) votes[c.id] = own.has(normalise(c.text)) ? 'agree' : 'unsure';
    return JSON.stringify({ votes });
  }
  return baseAnswer(model);
}

/** Rough token count (4 characters a token), for usage when the scenario gives none. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
