/**
 * Round 2 of the protocol: counts the ballots on the candidate pool, merges candidates a quorum
 * of voters calls the same, and applies the quorum rules (DESIGN.md "Quorum", "Vote round").
 */
import type { ClaimRecord, ConsensusResult, FailureRecord, VoteRecord } from '../types.js';
import { agreementMatrix } from './agreement.js';
import type { Ballot } from './ballot.js';
import type { Candidate } from './candidates.js';
import { requiredVotes, validateMinResponders, validateQuorum } from './quorumRules.js';
import { claimSimilarity } from './similarity.js';

export interface VoteTallyInput {
  candidates: readonly Candidate[];
  /** Round-1 responders: the eligible voters, and r for the quorum rules. */
  responders: readonly number[];
  /** Each responder's ballot; null (or missing) when it cast none it could be read from: it abstains. */
  ballots: ReadonlyMap<number, Ballot | null>;
  panelSize: number;
  /** q, votes required with the whole panel answering. */
  quorum: number;
  minResponders: number;
  /** Failures of round 1 and of the vote round (the latter with `round: 2`). */
  failures: readonly FailureRecord[];
  /** Lexical similarity for "the matcher is sure" merges. Default `claimSimilarity`. */
  similarity?: (a: string, b: string) => number;
  /** Similarity at which two candidates merge without any voter saying so. Default 0.9. */
  sureSimilarity?: number;
}

type Verdict = 'agree' | 'disagree' | 'unsure' | 'abstained';

export function tallyVotes(input: VoteTallyInput): ConsensusResult {
  const n = input.panelSize;
  const configured = validateQuorum(input.quorum, n);
  const minResponders = validateMinResponders(input.minResponders, n);
  const voters = [...new Set(input.responders)].sort((a, b) => a - b);
  const { status, required } = requiredVotes({ configured, responders: voters.length, panel: n, minResponders });
  const cands = input.candidates;
  const index = new Map(cands.map((c, i) => [c.id, i]));

  // verdicts[i].get(port): one port, one verdict per candidate, whatever its ballot repeats.
  const verdicts = cands.map((c) => new Map<number, Verdict>(voters.map((v) => [v, verdictOf(input.ballots.get(v) ?? null, c.id)])));
  // A `same:cK` mark is that voter's agreement with cK, unless it voted on cK explicitly.
  for (const v of voters) {
    const ballot = input.ballots.get(v);
    if (!ballot) continue;
    for (const vote of ballot.values()) {
      if (typeof vote !== 'object') continue;
      const target = index.get(vote.same);
      if (target !== undefined && !ballot.has(vote.same)) verdicts[target]!.set(v, 'agree');
    }
  }
  // A proposer stands by its own round-1 claim unless it now votes against it (or abstains
  // by failing round 2: its proposal still counts, so a crash in round 2 costs no support).
  const supporters = cands.map((c, i) => {
    const set = new Set<number>();
    for (const [v, verdict] of verdicts[i]!) if (verdict === 'agree') set.add(v);
    for (const p of c.proposers) if (verdicts[i]!.get(p) !== 'disagree' && voters.includes(p)) set.add(p);
    return set;
  });

  const groups = mergeGroups(input, voters, required, index);

  const records: ClaimRecord[] = groups.map((members) => {
    const ports = new Set<number>();
    for (const i of members) for (const p of supporters[i]!) ports.add(p);
    const lead = [...members].sort((a, b) => supporters[b]!.size - supporters[a]!.size || a - b)[0]!;
    const votes: VoteRecord = { agree: [], disagree: [], unsure: [], abstained: [] };
    for (const v of voters) {
      const mine = members.map((i) => verdicts[i]!.get(v)!);
      if (ports.has(v)) votes.agree.push(v);
      else if (mine.includes('abstained')) votes.abstained.push(v);
      else if (mine.includes('disagree')) votes.disagree.push(v);
      else votes.unsure.push(v);
    }
    const proposers = [...new Set(members.flatMap((i) => cands[i]!.proposers))].sort((a, b) => a - b);
    return {
      text: cands[lead]!.text,
      support: ports.size,
      ports: [...ports].sort((a, b) => a - b),
      wordings: members.flatMap((i) => cands[i]!.wordings),
      ids: members.map((i) => cands[i]!.id),
      proposers,
      votes,
    };
  });

  const claims = records.filter((r) => status !== 'quorum_lost' && r.support >= required).sort(bySupport);
  const dissent = records.filter((r) => !(status !== 'quorum_lost' && r.support >= required)).sort(bySupport);
  const abstentions = voters.filter((v) => !input.ballots.get(v));
  return {
    status,
    quorum: { configured, required, responders: voters.length, panel: n, minResponders },
    claims,
    dissent,
    failures: [...input.failures].sort((a, b) => a.port - b.port || (a.round ?? 1) - (b.round ?? 1)),
    agreement: agreementMatrix(records, new Set(voters), n),
    rounds: 2,
    abstentions,
    candidates: cands.length,
  };
}

function verdictOf(ballot: Ballot | null, id: string): Verdict {
  if (!ballot) return 'abstained';
  const vote = ballot.get(id);
  if (vote === 'agree' || vote === 'disagree') return vote;
  return 'unsure';
}

/**
 * Groups of candidates that state one fact. A pair may merge when a quorum of voters marks it
 * the same (either direction), or the matcher is sure. Groups only ever join when every cross
 * pair may merge, so no broad candidate can chain distinct facts together, and no single
 * voter's marks can move another voter's support anywhere.
 */
function mergeGroups(input: VoteTallyInput, voters: readonly number[], required: number, index: ReadonlyMap<string, number>): number[][] {
  const cands = input.candidates;
  const similarity = input.similarity ?? claimSimilarity;
  const sure = input.sureSimilarity ?? 0.9;
  const marks = new Map<string, Set<number>>();
  const key = (a: number, b: number) => (a < b ? `${a},${b}` : `${b},${a}`);
  for (const v of voters) {
    const ballot = input.ballots.get(v);
    if (!ballot) continue;
    for (const [id, vote] of ballot) {
      if (typeof vote !== 'object') continue;
      const a = index.get(id);
      const b = index.get(vote.same);
      if (a === undefined || b === undefined || a === b) continue;
      const k = key(a, b);
      if (!marks.has(k)) marks.set(k, new Set());
      marks.get(k)!.add(v);
    }
  }
  const strength = (a: number, b: number): number => {
    const voted = marks.get(key(a, b))?.size ?? 0;
    if (voted >= required) return voted;
    return similarity(cands[a]!.text, cands[b]!.text) >= sure ? required : 0;
  };
  const pairs: [number, number, number][] = [];
  for (let a = 0; a < cands.length; a++) {
    for (let b = a + 1; b < cands.length; b++) {
      const s = strength(a, b);
      if (s > 0) pairs.push([a, b, s]);
    }
  }
  pairs.sort((x, y) => y[2] - x[2] || x[0] - y[0] || x[1] - y[1]);
  const groupOf = cands.map((_, i) => [i]);
  for (const [a, b] of pairs) {
    const ga = groupOf[a]!;
    const gb = groupOf[b]!;
    if (ga === gb) continue;
    if (!ga.every((x) => gb.every((y) => strength(x, y) > 0))) continue;
    const merged = [...ga, ...gb].sort((x, y) => x - y);
    for (const i of merged) groupOf[i] = merged;
  }
  return [...new Set(groupOf)];
}

function bySupport(a: ClaimRecord, b: ClaimRecord): number {
  return b.support - a.support || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
}
