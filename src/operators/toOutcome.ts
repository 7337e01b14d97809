import { type OperatorFunction, type SchedulerLike, asyncScheduler, catchError, map, of } from 'rxjs';
import { ModelCallError } from '../errors.js';
import type { RawAnswer } from '../models/call.js';
import type { ModelFailure, ModelOutcome, PanelMember } from '../types.js';

export interface ToOutcomeOptions {
  /** When the port's first attempt started (scheduler time), for latency. */
  startedAt: number;
  /** How many attempts were made so far; read when the outcome is built. */
  attempts: () => number;
  scheduler?: SchedulerLike;
}

/**
 * Turns a port's answer or error into a value, so one failing model never ends the stream.
 *
 * ```
 * source:     ---a|     ---#
 * toOutcome:  ---A|     ---(F|)     (A = {ok: true…}, F = {ok: false, kind…})
 * ```
 */
export function toOutcome(member: PanelMember, options: ToOutcomeOptions): OperatorFunction<RawAnswer, ModelOutcome> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const base = () => ({
    port: member.port,
    model: member.model,
    family: member.family,
    latencyMs: scheduler.now() - options.startedAt,
    attempts: options.attempts(),
  });
  return (source) =>
    source.pipe(
      map((raw): ModelOutcome => ({ ...base(), ok: true, text: raw.text, usage: raw.usage, finishReason: raw.finishReason, responseId: raw.responseId })),
      catchError((error: unknown) => of(failureOf(base(), error))),
    );
}

function failureOf(base: Omit<ModelFailure, 'ok' | 'kind' | 'message'>, error: unknown): ModelFailure {
  if (error instanceof ModelCallError) {
    return { ...base, ok: false, kind: error.kind, message: error.message, ...(error.status !== undefined && { status: error.status }) };
  }
  // An unclassified error is a bug in a call implementation; keep the run going and say so.
  const message = error instanceof Error ? error.message : String(error);
  return { ...base, ok: false, kind: 'network', message: `unexpected error: ${message}` };
}
