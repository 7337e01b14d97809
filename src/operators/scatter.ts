import { type Observable, type OperatorFunction, from, mergeMap } from 'rxjs';
import type { ModelOutcome, PanelMember } from '../types.js';

export interface ScatterOptions {
  /** Most ports called at once. Default: every member at once. */
  concurrency?: number;
}

/**
 * Sends each request to every panel member and emits their outcomes as they arrive.
 * `callPort` must never error (failures are values, see `toOutcome`); unsubscribing
 * cancels every call still running.
 *
 * ```
 * source:                    a|
 * callPort(port 0):          ---A|
 * callPort(port 1):          -B|
 * scatter():                 -B-A|
 * scatter({concurrency: 1}): ---A-B|
 * ```
 */
export function scatter<R>(
  members: readonly PanelMember[],
  callPort: (member: PanelMember, request: R) => Observable<ModelOutcome>,
  { concurrency = Infinity }: ScatterOptions = {},
): OperatorFunction<R, ModelOutcome> {
  if (members.length === 0) throw new RangeError('Expected a panel with at least one member, got none');
  if (!(concurrency === Infinity || (Number.isInteger(concurrency) && concurrency >= 1))) {
    throw new RangeError(`Expected concurrency to be an integer ≥ 1, got ${concurrency}`);
  }
  return (source) =>
    source.pipe(mergeMap((request) => from(members).pipe(mergeMap((member) => callPort(member, request), concurrency))));
}
