/**
 * How a simulated model picks its reply. Kept apart from the HTTP server so it is tested
 * without sockets.
 */
import { claimSimilarity, defaultMatcher, sameClaim } from '../claims/similarity.js';
import { documentReply, promptDocument } from './documentAnswers.js';
import { normaliseWording, type FactGroup, type SandboxModel } from './scenario.js';

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

const normalise = normaliseWording;

/** One candidate of a vote-round prompt. */
export interface VoteCandidate {
  id: string;
  text: string;
}

/**
 * Vote-round candidates: the `[c1] claim text` lines of a user message (DESIGN.md "Vote
 * round"), in order, first occurrence of each id. Lines inside a `<document>…</document>`
 * block are data, not candidates, so a round-1 document cannot pass for a vote prompt.
 */
export function voteCandidates(message: string): VoteCandidate[] {
  const outsideDocuments = message.replace(/<document\b[^>]*>[\s\S]*?(?:<\/document>|$)/gi, '');
  const out: VoteCandidate[] = [];
  const seen = new Set<string>();
  for (const m of outsideDocuments.matchAll(/^\s*\[(c\d+)\]\s+(.+?)\s*$/gm)) {
    if (m[1] && m[2] && !seen.has(m[1])) {
      seen.add(m[1]);
      out.push({ id: m[1], text: m[2] });
    }
  }
  return out;
}

/** The chair's prompt (`--synthesize`) lists the consensus under this header, not candidates. */
const CHAIR_HEADER = /^Consensus claims:\s*$/m;

/** Whether a user message is the chair's prompt (see `buildChairMessages`). */
export function isChairPrompt(message: string): boolean {
  return CHAIR_HEADER.test(message.replace(/<document\b[^>]*>[\s\S]*?(?:<\/document>|$)/gi, '')) && voteCandidates(message).length > 0;
}

/** Whether a user message is a vote-round prompt (it lists at least one `[cN] claim` line). */
export function isVotePrompt(message: string): boolean {
  return !isChairPrompt(message) && voteCandidates(message).length > 0;
}

/** A simulated chair's answer: every consensus claim, cited, and a plain word that it is simulated. */
function chairReply(model: SandboxModel, claims: readonly VoteCandidate[]): string {
  if (model.chairAnswer !== undefined) return model.chairAnswer;
  const body = claims.map((c) => `${c.text.replace(/[.!?]*$/, '')} [${c.id}].`).join(' ');
  return `(Simulated chair ${model.model}.) The panel agrees on the following. ${body}`;
}

/**
 * Minimum `claimSimilarity` at which an own claim that is not the same fact, yet differs by a
 * number or a name, counts as a look-alike the model disagrees with. Below it such a pair is
 * usually just another fact about the same subject ("born in 1879" / "died in 1955" scores
 * 0.36, "boils at 100 degrees" / "freezes at 0 degrees" 0.34), which an honest model is
 * `unsure` about; contradicting look-alikes score 0.42 and up ("born in Ulm" / "born in
 * Munich" 0.43, "Mars has two moons" / "three moons" 0.47, "port 8080" / "port 8081" 0.60).
 */
export const DISAGREE_SIMILARITY = 0.4;

/**
 * The same for a look-alike whose only contradiction signal is a negation. Higher, because
 * the matcher flags negation per claim: a stray "not"/"nothing"/"without" elsewhere in the
 * sentence sets it ("simulates eight model families" / "serves simulated models, not real
 * ones" scores 0.49), while real negated look-alikes score 0.52 and up ("uses port 8080" /
 * "does not use port 8080" 0.79, "serves simulated models, not real ones" / "serves real
 * models" 0.52).
 */
export const DISAGREE_SIMILARITY_NEGATION = 0.5;

/** Whether `candidate` is a contradicting look-alike of the own claim `claim`. */
function contradicts(claim: string, candidate: string): boolean {
  const d = defaultMatcher.compare(claim, candidate);
  if (d.numberConflict || d.nameSwap) return d.similarity >= DISAGREE_SIMILARITY;
  return d.negationMismatch && d.similarity >= DISAGREE_SIMILARITY_NEGATION;
}

/**
 * The honest vote of a model whose own claims are `own` (see `VoteMode` "honest"). With the
 * scenario's declared `facts`, the verdicts come from those declarations alone (`declaredVotes`).
 * Without them (the default scenario, ad-hoc scenarios, `fromDocument` models answering a
 * document nobody annotated) the claim matcher decides: then a test that runs two rounds partly
 * checks the matcher against itself, which is why test scenarios declare their facts.
 */
export function honestVotes(own: readonly string[], candidates: readonly VoteCandidate[], facts?: readonly FactGroup[]): Record<string, string> {
  if (facts !== undefined) return declaredVotes(own, candidates, facts);
  const ownNorm = own.map(normalise);
  // Which candidate first matched each own claim: later matches say `same:<that id>`.
  const firstMatch = new Map<number, string>();
  const votes: Record<string, string> = {};
  for (const c of candidates) {
    const norm = normalise(c.text);
    let best = ownNorm.indexOf(norm);
    if (best < 0) {
      let bestSim = -1;
      own.forEach((claim, i) => {
        if (!sameClaim(claim, c.text)) return;
        const sim = claimSimilarity(claim, c.text);
        if (sim > bestSim) [best, bestSim] = [i, sim];
      });
    }
    if (best >= 0) {
      const earlier = firstMatch.get(best);
      if (earlier === undefined) firstMatch.set(best, c.id);
      votes[c.id] = earlier === undefined ? 'agree' : `same:${earlier}`;
      continue;
    }
    votes[c.id] = own.some((claim) => contradicts(claim, c.text)) ? 'disagree' : 'unsure';
  }
  return votes;
}

/**
 * Votes decided from declared fact groups, never from the matcher: a candidate worded as a fact
 * the voter stated → `agree` (`same:<id>` when an earlier candidate already carried that fact);
 * worded as a fact declared to contradict one it stated → `disagree`; else `unsure`. Texts are
 * compared only after `normaliseWording`. A claim no group lists is a fact of its own, stated only
 * in those words, so a voter still agrees with its own undeclared claim.
 */
export function declaredVotes(own: readonly string[], candidates: readonly VoteCandidate[], facts: readonly FactGroup[]): Record<string, string> {
  const factOfWording = new Map<string, string>();
  for (const f of facts) for (const w of f.wordings) factOfWording.set(normalise(w), f.id);
  // Prefixed so an undeclared claim can never collide with a declared fact id.
  const factOf = (text: string): string => (factOfWording.has(normalise(text)) ? `fact:${factOfWording.get(normalise(text))}` : `text:${normalise(text)}`);
  const against = new Map<string, Set<string>>();
  const oppose = (a: string, b: string) => against.set(a, (against.get(a) ?? new Set()).add(b));
  for (const f of facts) {
    for (const other of f.contradicts ?? []) {
      oppose(`fact:${f.id}`, `fact:${other}`);
      oppose(`fact:${other}`, `fact:${f.id}`);
    }
  }
  const stated = new Set(own.map(factOf));
  const firstCarrier = new Map<string, string>();
  const votes: Record<string, string> = {};
  for (const c of candidates) {
    const fact = factOf(c.text);
    if (stated.has(fact)) {
      const earlier = firstCarrier.get(fact);
      if (earlier === undefined) firstCarrier.set(fact, c.id);
      votes[c.id] = earlier === undefined ? 'agree' : `same:${earlier}`;
    } else {
      votes[c.id] = [...stated].some((s) => against.get(s)?.has(fact)) ? 'disagree' : 'unsure';
    }
  }
  return votes;
}

/**
 * What the model answered in round 1, as seen from a vote prompt: the first `answers` rule
 * matching the prompt without its candidate lines (the prompt repeats the question), else
 * its `answer`.
 */
function roundOneAnswer(model: SandboxModel, votePrompt: string): string {
  const withoutCandidates = votePrompt.replace(/^\s*\[c\d+\]\s+.*$/gm, '');
  for (const rule of model.answers ?? []) {
    if (new RegExp(rule.when, 'i').test(withoutCandidates)) return rule.text;
  }
  // The vote prompt carries the same document as round 1, so the same claims come back.
  return fromDocument(model, votePrompt) ?? baseAnswer(model);
}

/** A `fromDocument` model's answer drawn from the prompt's document; undefined without one. */
function fromDocument(model: SandboxModel, message: string): string | undefined {
  if (!model.fromDocument) return undefined;
  const doc = promptDocument(message);
  return doc ? documentReply(model.model, doc.text) : undefined;
}

/** The reply to a vote-round prompt listing `candidates` (non-empty). */
function voteReply(model: SandboxModel, votePrompt: string, candidates: readonly VoteCandidate[], facts: readonly FactGroup[] | undefined): string {
  if (model.voteAnswer !== undefined) return model.voteAnswer;
  const ids = candidates.map((c) => c.id);
  const all = (vote: (id: string, i: number) => string): Record<string, string> =>
    Object.fromEntries(ids.map((id, i) => [id, vote(id, i)]));
  const own = (): string[] => sandboxClaims(roundOneAnswer(model, votePrompt));
  switch (model.votes ?? 'honest') {
    case 'honest':
      return JSON.stringify({ votes: honestVotes(own(), candidates, facts) });
    case 'agree_all':
      return JSON.stringify({ votes: all(() => 'agree') });
    case 'disagree_all':
      return JSON.stringify({ votes: all(() => 'disagree') });
    case 'same_all':
      return JSON.stringify({ votes: all((_id, i) => (i === 0 ? 'agree' : `same:${ids[0]}`)) });
    case 'garbage':
      return 'I have read the candidate statements carefully. Several of them look plausible to me, but I would rather not give a verdict on each one.';
    case 'partial':
      return JSON.stringify({ votes: honestVotes(own(), candidates.slice(0, Math.ceil(candidates.length / 2)), facts) });
    case 'invalid': {
      let n = 999;
      while (ids.includes(`c${n}`)) n++;
      const unknown = `c${n}`;
      const values = ['maybe', `same:${unknown}`, 'strongly agree'];
      return JSON.stringify({ votes: { ...all((_id, i) => values[i % values.length]!), [unknown]: 'agree' } });
    }
  }
}

/** The model's content when no rule or vote applies. */
function baseAnswer(model: SandboxModel): string {
  return model.answer ?? JSON.stringify({ claims: [`This answer comes from the simulated model ${model.model}.`] });
}

/**
 * The content a simulated model replies with:
 * 0. on the chair's prompt (`Consensus claims:` then `[c1] claim` lines): its `chairAnswer`,
 *    else prose that cites every claim;
 * 1. on a vote-round prompt (lines `[c1] claim`, see `voteCandidates`): its `voteAnswer`, else
 *    `{"votes": {...}}` as its `votes` mode says (default honest: decided from the scenario's
 *    declared `facts` when given, else by the matcher; compared with the claims it gave in round 1, i.e. the `answers` rule matching the question the prompt repeats, else
 *    its `answer`). This comes before `answers` rules on purpose: a vote prompt repeats
 *    the question, so a rule written for round 1 would otherwise fire in round 2 and answer
 *    the vote with claims;
 * 2. the first `answers` rule whose `when` matches the last user message (case-insensitive);
 * 3. with `fromDocument` and a `<document>` in the message: claims drawn from that document
 *    (see documentAnswers.ts), unless it has no sentence to draw from;
 * 4. its `answer`, or a one-claim default naming the model.
 */
export function chooseAnswer(model: SandboxModel, userMessage: string, facts?: readonly FactGroup[]): string {
  const candidates = voteCandidates(userMessage);
  if (candidates.length > 0 && isChairPrompt(userMessage)) return chairReply(model, candidates);
  if (candidates.length > 0) return voteReply(model, userMessage, candidates, facts);
  for (const rule of model.answers ?? []) {
    if (new RegExp(rule.when, 'i').test(userMessage)) return rule.text;
  }
  return fromDocument(model, userMessage) ?? baseAnswer(model);
}

/** Rough token count (4 characters a token), for usage when the scenario gives none. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
