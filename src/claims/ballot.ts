/** One voter's verdict on one candidate. `same` means "says the same as that candidate". */
export type Vote = 'agree' | 'disagree' | 'unsure' | { same: string };

/** A voter's ballot: candidate id → vote. Missing ids are `unsure`. */
export type Ballot = Map<string, Vote>;

const AGREE = new Set(['agree', 'agrees', 'yes', 'true', 'support', 'supported', 'correct', 'accurate', 'accept']);
const DISAGREE = new Set(['disagree', 'disagrees', 'no', 'false', 'reject', 'incorrect', 'wrong', 'inaccurate', 'contradicted']);

/**
 * Reads a vote-round reply tolerantly (DESIGN.md "Vote round"): JSON in a code fence or with
 * prose around it, `{"votes": {...}}` or the votes object alone, loose spellings of the verdicts.
 * Ids not on the ballot are ignored; anything unreadable is left out, i.e. `unsure`. Returns
 * null when no votes object can be found at all (the voter abstains).
 */
export function parseBallot(text: string, ids: ReadonlySet<string>): Ballot | null {
  const object = findVotesObject(text);
  if (!object) return null;
  const ballot: Ballot = new Map();
  for (const [rawId, rawVote] of Object.entries(object)) {
    const id = normaliseId(rawId);
    if (!id || !ids.has(id)) continue;
    const vote = readVote(rawVote, id, ids);
    if (vote) ballot.set(id, vote);
  }
  return ballot;
}

function readVote(raw: unknown, id: string, ids: ReadonlySet<string>): Vote | undefined {
  if (typeof raw === 'boolean') return raw ? 'agree' : 'disagree';
  if (typeof raw !== 'string') {
    // {"vote": "agree"} or {"verdict": "same", "as": "c2"}: models embellish.
    if (raw && typeof raw === 'object') {
      const o = raw as Record<string, unknown>;
      const verdict = o.vote ?? o.verdict ?? o.value;
      const as = o.same ?? o.as ?? o.sameAs;
      if (typeof as === 'string') return readVote(`same:${as}`, id, ids);
      return readVote(verdict, id, ids);
    }
    return undefined;
  }
  const v = raw.trim().toLowerCase();
  const same = /^same(?:\s*(?:as|:|=|-)\s*|\s+)\[?(c\s*\d+)\]?$/.exec(v);
  if (same) {
    const target = normaliseId(same[1]!);
    // A candidate cannot be "the same" as itself or as one not on the ballot.
    return target && target !== id && ids.has(target) ? { same: target } : undefined;
  }
  if (AGREE.has(v)) return 'agree';
  if (DISAGREE.has(v)) return 'disagree';
  if (v === 'unsure' || v === 'unknown' || v === 'abstain') return 'unsure';
  return undefined;
}

function normaliseId(raw: string): string | undefined {
  const m = /^\[?\s*c\s*(\d+)\s*\]?$/i.exec(raw.trim());
  return m ? `c${Number(m[1])}` : undefined;
}

/** The votes object, from the first JSON object in the text that holds one. */
function findVotesObject(text: string): Record<string, unknown> | undefined {
  for (const candidate of jsonObjects(text)) {
    const parsed = tryParse(candidate);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) continue;
    const o = parsed as Record<string, unknown>;
    if (o.votes && typeof o.votes === 'object' && !Array.isArray(o.votes)) return o.votes as Record<string, unknown>;
    if (Object.keys(o).some((k) => normaliseId(k))) return o;
  }
  return undefined;
}

/** Balanced `{…}` spans, outermost first, skipping braces inside strings. Linear in the text. */
function* jsonObjects(text: string): Generator<string> {
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"' && depth > 0) inString = true;
    else if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) yield text.slice(start, i + 1);
    }
  }
}

function tryParse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    try {
      // Trailing commas and smart quotes are the usual damage; cheap to mend.
      return JSON.parse(json.replace(/[\u201c\u201d]/g, '"').replace(/,\s*([}\]])/g, '$1'));
    } catch {
      return undefined;
    }
  }
}
