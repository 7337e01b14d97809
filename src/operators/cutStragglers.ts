import {
  type MonoTypeOperatorFunction,
  type SchedulerLike,
  asyncScheduler,
  concat,
  connect,
  defer,
  filter,
  from,
  skip,
  switchMap,
  take,
  takeUntil,
  tap,
  timer,
} from 'rxjs';
import type { ModelFailure, ModelOutcome, PanelMember } from '../types.js';

export interface CutStragglersOptions {
  /** The ports expected to answer; those still silent at the cut are reported `cancelled`. */
  members: readonly PanelMember[];
  /** Successful answers after which the grace period starts (the quorum). */
  needed: number;
  /**
   * How long to wait for the rest once `needed` ports answered, in ms. Default: as long as
   * reaching `needed` took (a straggler gets a fair chance, but never doubles the run).
   * -1 waits for every port (each still bounded by its own timeout).
   */
  graceMs?: number;
  scheduler?: SchedulerLike;
}

/**
 * Passes outcomes through; once `needed` ports have answered, waits a grace period, then
 * unsubscribes from the rest (aborting their requests) and emits a `cancelled` failure for
 * each port that had not answered.
 *
 * ```
 * outcomes:                 -a-b------------c|
 * cutStragglers(needed 2):  -a-b-(C|)           (grace = 3 frames, the time b took; C = cancelled)
 * ```
 */
export function cutStragglers({ members, needed, graceMs, scheduler = asyncScheduler }: CutStragglersOptions): MonoTypeOperatorFunction<ModelOutcome> {
  if (!Number.isInteger(needed) || needed < 1) throw new RangeError(`Expected needed to be an integer ≥ 1, got ${needed}`);
  if (graceMs !== undefined && !(graceMs === -1 || graceMs >= 0)) {
    throw new RangeError(`Expected grace to be -1 (wait for all) or a number of ms ≥ 0, got ${graceMs}`);
  }
  return (source) =>
    defer(() => {
      const startedAt = scheduler.now();
      // Ports not yet heard from: they become the `cancelled` outcomes if the cut comes.
      const silent = new Map(members.map((m) => [m.port, m]));
      return source.pipe(
        tap((outcome) => silent.delete(outcome.port)),
        connect((outcomes) => {
          const cut = outcomes.pipe(
            filter((o) => o.ok),
            skip(needed - 1),
            take(1),
            filter(() => graceMs !== -1),
            switchMap(() => timer(graceMs ?? scheduler.now() - startedAt, scheduler)),
          );
          const cancelled = defer(() =>
            from(
              [...silent.values()].map(
                (m): ModelFailure => ({
                  ok: false,
                  port: m.port,
                  model: m.model,
                  family: m.family,
                  kind: 'cancelled',
                  message: `cut as a straggler after quorum was reached`,
                  latencyMs: scheduler.now() - startedAt,
                  attempts: 1,
                }),
              ),
            ),
          );
          return concat(outcomes.pipe(takeUntil(cut)), cancelled);
        }),
      );
    });
}
