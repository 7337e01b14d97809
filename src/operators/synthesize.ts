import { type Observable, type OperatorFunction, catchError, map, of, switchMap } from 'rxjs';
import type { ConsensusDocument, ConsensusResult, ModelOutcome, ModelRequest, PanelMember } from '../types.js';

export type Synthesis = NonNullable<ConsensusDocument['synthesis']>;

export interface SynthesizeOptions {
  request: ModelRequest;
  /** The chair, chosen once the result is known (e.g. the member that agrees most with it). */
  chair: (result: ConsensusResult) => PanelMember;
  /** The chair's call, timeouts and retries included; must never error. */
  callPort: (member: PanelMember, request: ModelRequest) => Observable<ModelOutcome>;
}

/**
 * After the vote, one model (the chair) writes a short prose answer from the consensus claims
 * only, citing them as [c<k>]. The chair can only add prose: it never changes the result, and
 * its failure is recorded next to the consensus instead of losing it.
 *
 * ```
 * source:        --(R|)
 * synthesize():  -- chair… -(S|)     (S = R with `synthesis`)
 * ```
 */
export function synthesize<G extends { result: ConsensusResult }>(options: SynthesizeOptions): OperatorFunction<G, G & { synthesis: Synthesis }> {
  return (source) =>
    source.pipe(
      switchMap((gathered) => {
        const chair = options.chair(gathered.result);
        const claims = gathered.result.claims.map((c, i) => ({ id: `c${i + 1}`, text: c.text }));
        if (claims.length === 0) return of({ ...gathered, synthesis: { model: chair.model, error: 'no consensus claim to write an answer from' } });
        return options.callPort(chair, { ...options.request, context: undefined, synthesis: claims }).pipe(
          map((outcome): Synthesis => (outcome.ok ? chairText(outcome.text, claims.length, chair.model) : { model: chair.model, error: `${outcome.kind}: ${outcome.message}` })),
          catchError((error: unknown) => of({ model: chair.model, error: error instanceof Error ? error.message : String(error) })),
          map((synthesis) => ({ ...gathered, synthesis })),
        );
      }),
    );
}

/** Keeps the chair to the claims: citations of claims that do not exist are removed. */
export function chairText(raw: string, claims: number, model: string): Synthesis {
  const text = raw
    .replace(/<think>[\s\S]*?<\/think>/gi, '')
    .replace(/\[c(\d+)\]/gi, (_cite, k: string) => (Number(k) >= 1 && Number(k) <= claims ? `[c${Number(k)}]` : ''))
    // Removing a citation leaves a gap: close it, and any space it left before punctuation.
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/[ \t]+([.,;:!?])/g, '$1')
    .trim();
  return text ? { model, text } : { model, error: 'the chair answered with no text' };
}

/** The responder behind the most consensus claims; ties go to the lowest port. */
export function mostAgreeingMember(members: readonly PanelMember[], result: ConsensusResult): PanelMember {
  const score = (m: PanelMember) => result.claims.filter((c) => c.ports.includes(m.port)).length;
  return [...members].sort((a, b) => score(b) - score(a) || a.port - b.port)[0]!;
}
