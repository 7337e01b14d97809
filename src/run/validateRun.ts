/**
 * The checks every run command (ask, batch, watch) makes on its question and quorum, in one
 * place so the same fault reads the same whichever command or layer catches it first.
 */
import { defaultQuorum, validateQuorum } from '../claims/quorumRules.js';
import { UsageError } from '../errors.js';
import type { Panel } from '../types.js';

/** The one message for a question that is there but blank (spaces, an empty --query-file). */
export const EMPTY_QUERY = 'The query is empty; give a question in words, e.g. "What is Raft?"';

/**
 * The question, trimmed.
 * @throws UsageError (EMPTY_QUERY) when nothing but whitespace is left.
 */
export function requireQuery(query: string): string {
  const trimmed = query.trim();
  if (trimmed === '') throw new UsageError(EMPTY_QUERY);
  return trimmed;
}

/**
 * The quorum a run uses: `--quorum`, else the panel file's, else ceil(0.75·N), checked against the
 * panel size.
 * @throws UsageError ("Expected --quorum to be an integer from 1 to N, got …") when out of range.
 */
export function runQuorum(flag: number | undefined, panel: Pick<Panel, 'quorum' | 'members'>): number {
  const n = panel.members.length;
  return validateQuorum(flag ?? panel.quorum ?? defaultQuorum(n), n);
}
