/**
 * Counts the panel's votes: extracts each answer's claims, clusters them into candidate facts,
 * applies the quorum rules and splits the facts into consensus claims and dissent.
 */
import type { ClaimRecord, ConsensusResult, FailureRecord, ModelOutcome, ModelSuccess } from '../types.js';
import { ANSWER_CAP_FINISH_REASON } from '../models/call.js';
import { type Attester, createAttester, type SupportedCluster, supportClusters } from './attest.js';
import { type ClusterOptions, clusterClaims } from './cluster.js';
import { agreementMatrix } from './agreement.js';
import { extractClaims, stripReasoning } from './extract.js';
import { defaultMinResponders, defaultQuorum, requiredVotes, validateMinResponders, validateQuorum } from './quorumRules.js';

export interface TallyOptions extends ClusterOptions {
  /** N: the panel's size; ports are 0..N-1. */
  panelSize: number;
  /** q: votes required when the whole panel answers. Default ceil(0.75·N). */
  quorum?: number;
  /** m: fewest responders for any consensus. Default: a strict majority of N. */
  minResponders?: number;
  /**
   * Turns an answer into claims. Default: `extractClaims` with its defaults, `truncated` when
   * the answer's finish reason is `length` (see {@link isCut}).
   */
  extract?: (text: string, answer: ModelSuccess) => string[];
  /**
   * Reads round-1 support off whole answers (see attest.ts): a port whose answer states a fact
   * it did not phrase alike supports it too. Default: the default matcher's attester, unless
   * `same` was injected (a caller's matcher is never mixed with the default one); false: off.
   */
  attest?: Attester | false;
}

const defaultAttester = createAttester();

/**
 * Whether the answer was cut: the model stopped at its output limit (finish_reason `length`), or
 * quorum cut it at its size cap (`answer_cap`, see MAX_ANSWER_CHARS in models/call).
 */
export function isCut(answer: ModelSuccess): boolean {
  return answer.finishReason === 'length' || answer.finishReason === ANSWER_CAP_FINISH_REASON;
}

/** The default extraction of one answer: a cut one loses its last, unfinished claim. */
export function extractAnswer(text: string, answer: ModelSuccess): string[] {
  return extractClaims(text, { truncated: isCut(answer) });
}

/** The claims one answering port made, as extracted. */
export interface PortClaims {
  port: number;
  model: string;
  claims: string[];
}

export interface TallyDetail {
  result: ConsensusResult;
  /** Every port that answered, by port, with the claims extracted (none for an unusable answer). */
  claimsByPort: PortClaims[];
  /** Every candidate fact, strongest first; `result` holds the same facts as claims and dissent. */
  clusters: SupportedCluster[];
}

/**
 * The vote over one run's outcomes (DESIGN.md "Quorum").
 *
 * @throws UsageError for a quorum or minimum that does not fit the panel; RangeError for a
 * panel size below 1 or an outcome whose port is not a seat of the panel.
 */
export function tally(outcomes: readonly ModelOutcome[], opts: TallyOptions): ConsensusResult {
  return tallyDetailed(outcomes, opts).result;
}

/** `tally`, plus the per-port claims and clusters behind it, for artifacts and debugging. */
export function tallyDetailed(outcomes: readonly ModelOutcome[], opts: TallyOptions): TallyDetail {
  const n = opts.panelSize;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Expected panelSize to be an integer ≥ 1, got ${n}`);
  const configured = validateQuorum(opts.quorum ?? defaultQuorum(n), n);
  const minResponders = validateMinResponders(opts.minResponders ?? defaultMinResponders(n), n);
  const extract = opts.extract ?? extractAnswer;

  const claimsByPort: PortClaims[] = [];
  const failures: FailureRecord[] = [];
  const truncated: number[] = [];
  for (const outcome of onePerPort(outcomes, n)) {
    if (!outcome.ok) {
      failures.push({ port: outcome.port, model: outcome.model, kind: outcome.kind, attempts: outcome.attempts, message: outcome.message });
      continue;
    }
    if (isCut(outcome)) truncated.push(outcome.port);
    const claims = [...new Set(extract(outcome.text, outcome).map((c) => c.trim()).filter((c) => c.length > 0))];
    claimsByPort.push({ port: outcome.port, model: outcome.model, claims });
    // DESIGN: a responder returned a *usable* answer. One with no claim in it cannot vote, so it
    // is a failure like any other and lowers r (it may degrade the quorum). `empty` when nothing
    // but whitespace or reasoning came back; `malformed` when text came back but held no claim.
    if (claims.length === 0) {
      const empty = stripReasoning(outcome.text).trim().length === 0;
      failures.push({
        port: outcome.port,
        model: outcome.model,
        kind: empty ? 'empty' : 'malformed',
        attempts: outcome.attempts,
        message: empty ? 'The answer was empty' : `No claim could be extracted from the answer${isCut(outcome) ? (outcome.finishReason === ANSWER_CAP_FINISH_REASON ? ' (cut at the answer size cap)' : ' (cut at the output limit)') : ''}`,
      });
    }
  }

  const responders = claimsByPort.filter((p) => p.claims.length > 0);
  const r = responders.length;
  const { status, required } = requiredVotes({ configured, responders: r, panel: n, minResponders });
  const attester = opts.attest === false ? undefined : (opts.attest ?? (opts.same ? undefined : defaultAttester));
  const clusters = supportClusters(
    clusterClaims(
      responders.flatMap((p) => p.claims.map((text) => ({ port: p.port, text }))),
      { same: opts.same, similarity: opts.similarity },
    ),
    new Map(responders.map((p) => [p.port, p.claims])),
    attester,
  );

  const claims: ClaimRecord[] = [];
  const dissent: ClaimRecord[] = [];
  for (const c of clusters) {
    const record: ClaimRecord = { text: c.text, support: c.supporters.length, ports: c.supporters, wordings: c.wordings };
    if (attester) {
      record.strength = c.strength;
      if (c.attested.length > 0) record.attested = c.attested;
    }
    if (status !== 'quorum_lost' && record.support >= required) claims.push(record);
    else dissent.push(record);
  }
  claims.sort(bySupport);
  dissent.sort(bySupport);

  return {
    result: {
      status,
      quorum: { configured, required, responders: r, panel: n, minResponders },
      claims,
      dissent,
      failures: failures.sort((a, b) => a.port - b.port),
      agreement: agreementMatrix(clusters.map((c) => ({ ports: c.supporters })), new Set(responders.map((p) => p.port)), n),
      ...(truncated.length > 0 && { truncated }),
    },
    claimsByPort,
    clusters,
  };
}

/**
 * One outcome per port, by port. A port answering twice is a caller's bug, but a ballot must
 * still not count twice, nor depend on arrival order: prefer an answer over a failure, then the
 * first in code-unit order.
 */
function onePerPort(outcomes: readonly ModelOutcome[], n: number): ModelOutcome[] {
  const chosen = new Map<number, ModelOutcome>();
  for (const o of outcomes) {
    if (!Number.isInteger(o.port) || o.port < 0 || o.port >= n) {
      throw new RangeError(`Expected every outcome's port to be an integer from 0 to ${n - 1}, got ${o.port}`);
    }
    const held = chosen.get(o.port);
    if (held === undefined || rank(o) < rank(held)) chosen.set(o.port, o);
  }
  return [...chosen.values()].sort((a, b) => a.port - b.port);
}

function rank(o: ModelOutcome): string {
  return o.ok ? `0${o.text}` : `1${o.kind}\u0000${o.message}`;
}

function bySupport(a: ClaimRecord, b: ClaimRecord): number {
  return b.support - a.support || (b.strength ?? 0) - (a.strength ?? 0) || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
}
