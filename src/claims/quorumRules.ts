/**
 * Quorum arithmetic (DESIGN.md "Quorum"): how many distinct ports must make a claim, given the
 * panel size N, the configured quorum q and how many ports actually answered.
 */
import { UsageError } from '../errors.js';
import type { RunStatus } from '../types.js';

/** Votes required when the whole panel answers: ceil(0.75·N), so 6 of 8. */
export function defaultQuorum(panel: number): number {
  return Math.ceil((3 * panel) / 4);
}

/** Fewest responders for any consensus: a strict majority of the panel, so 5 of 8. */
export function defaultMinResponders(panel: number): number {
  return Math.floor(panel / 2) + 1;
}

/**
 * Checks a quorum against the panel size and returns it.
 *
 * @throws UsageError when q is not an integer from 1 to N.
 */
export function validateQuorum(q: unknown, panel: number): number {
  if (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > panel) {
    throw new UsageError(`Expected --quorum to be an integer from 1 to ${panel}, got ${describe(q)}`);
  }
  return q;
}

/**
 * Checks a minimum-responders setting against the panel size and returns it.
 *
 * @throws UsageError when m is not an integer from 1 to N.
 */
export function validateMinResponders(m: unknown, panel: number): number {
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > panel) {
    throw new UsageError(`Expected the minimum number of responders to be an integer from 1 to ${panel}, got ${describe(m)}`);
  }
  return m;
}

export interface VoteRequirementInput {
  /** q: votes required with the whole panel answering. */
  configured: number;
  /** r: ports that returned a usable answer. */
  responders: number;
  /** N: panel size. */
  panel: number;
  /** m: fewest responders for any consensus. Default: a strict majority of N. */
  minResponders?: number;
}

export interface VoteRequirement {
  status: RunStatus;
  /** Distinct ports a claim needs: q, or q' = ceil(q·r/N) when degraded. Always ≥ 1. */
  required: number;
}

/**
 * The run's status and the votes a claim needs.
 *
 * - r = N → `consensus`, q votes.
 * - m ≤ r < N → `degraded`, q' = ceil(q·r/N) votes: the same share of the answers as q is of
 *   the panel, so a failed port neither blocks nor cheapens consensus. q' ≤ r since q ≤ N.
 * - r < m → `quorum_lost`: `required` still reports q' (at least 1) for the record, but the
 *   caller must let no claim pass.
 *
 * @throws UsageError for a q or m that does not fit the panel; RangeError for an impossible
 * panel size or responder count (a bug, not a user's mistake).
 */
export function requiredVotes({ configured, responders, panel, minResponders }: VoteRequirementInput): VoteRequirement {
  if (!Number.isInteger(panel) || panel < 1) throw new RangeError(`Expected the panel size to be an integer ≥ 1, got ${panel}`);
  if (!Number.isInteger(responders) || responders < 0 || responders > panel) {
    throw new RangeError(`Expected responders to be an integer from 0 to ${panel}, got ${responders}`);
  }
  const q = validateQuorum(configured, panel);
  const m = minResponders === undefined ? defaultMinResponders(panel) : validateMinResponders(minResponders, panel);
  if (responders === panel) return { status: 'consensus', required: q };
  // Integer ceil(q·r/N): no floating-point rounding at exact multiples.
  const scaled = Math.max(1, Math.floor((q * responders + panel - 1) / panel));
  return { status: responders >= m ? 'degraded' : 'quorum_lost', required: scaled };
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
