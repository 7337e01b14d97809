/**
 * Scores one quorum run against SelfCheckGPT's labels: each labelled sentence of the passage
 * port 0 answered with takes the support of the claim it landed in. Pure: the evaluation
 * (bench/evalE2e.ts) feeds it the consensus documents the real CLI wrote.
 */
import { aucPr } from '../evalMatcher.js';

/** The part of a consensus document the scoring reads. */
export interface ScoredClaim {
  support: number;
  /** Soft support, when the run recorded one; breaks ties between equal counts. */
  strength?: number;
  wordings?: { port: number; text: string }[];
}

export type Label = 'accurate' | 'minor_inaccurate' | 'major_inaccurate';

export interface SentenceSupport {
  label: Label;
  /** Ports behind the claim the sentence landed in; 0 when no port-0 claim holds it. */
  support: number;
  strength: number;
}

const words = (s: string): string[] => s.toLowerCase().normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? [];

/**
 * Where each labelled sentence landed: the port-0 wording sharing the most words with it (as a
 * share of the sentence's words; at least half), so a sentence the extractor split or trimmed
 * still finds its claim. A sentence no port-0 claim holds gets support 0: it was not kept.
 */
export function sentenceSupport(sentences: readonly string[], labels: readonly string[], claims: readonly ScoredClaim[]): SentenceSupport[] {
  const own = claims.flatMap((c) => (c.wordings ?? []).filter((w) => w.port === 0).map((w) => ({ c, bag: new Set(words(w.text)) })));
  return sentences.map((sentence, i) => {
    const ws = words(sentence);
    let best: ScoredClaim | undefined;
    let bestShare = 0.5;
    for (const { c, bag } of own) {
      if (ws.length === 0) break;
      let hit = 0;
      for (const w of ws) if (bag.has(w)) hit++;
      const share = hit / ws.length;
      if (share > bestShare || (share === bestShare && best !== undefined && c.support > best.support)) {
        best = c;
        bestShare = share;
      }
    }
    return { label: labels[i] as Label, support: best?.support ?? 0, strength: best ? (best.strength ?? best.support) : 0 };
  });
}

export interface QuorumFigures {
  q: number;
  kept: number;
  precision: number;
  recall: number;
  /** Share of major_inaccurate sentences kept. */
  majorKept: number;
}

export interface E2eFigures {
  sentences: number;
  accurate: number;
  major: number;
  /** AUC-PR for non-factual sentences from (panel − support), trapezoidal as SelfCheckGPT reports it. */
  aucPr: number;
  /**
   * Average precision from the same score: step-wise, so a large group of tied sentences earns no
   * credit from the straight line the trapezoid draws to it from (0, 1).
   */
  ap: number;
  /** The same with ties of support broken by soft support (strength), when runs recorded one. */
  aucPrSoft: number;
  byQuorum: QuorumFigures[];
  /** Sentences whose claim no other port supported. */
  supportOne: number;
}

export function figures(rows: readonly SentenceSupport[], panel: number, quorums: readonly number[]): E2eFigures {
  const accurate = rows.filter((r) => r.label === 'accurate').length;
  const major = rows.filter((r) => r.label === 'major_inaccurate').length;
  const nonFact = rows.map((r) => r.label !== 'accurate');
  return {
    sentences: rows.length,
    accurate,
    major,
    aucPr: aucPr(rows.map((r) => panel - r.support), nonFact).auc,
    ap: aucPr(rows.map((r) => panel - r.support), nonFact).ap,
    // Strength ≤ panel, so this key orders by support first and by strength only within a tie.
    aucPrSoft: aucPr(rows.map((r) => panel - r.support - r.strength / (10 * (panel + 1))), nonFact).auc,
    supportOne: rows.filter((r) => r.support <= 1).length,
    byQuorum: quorums.map((q) => {
      const kept = rows.filter((r) => r.support >= q);
      const good = kept.filter((r) => r.label === 'accurate').length;
      return {
        q,
        kept: kept.length,
        precision: kept.length > 0 ? good / kept.length : 1,
        recall: accurate > 0 ? good / accurate : 0,
        majorKept: major > 0 ? kept.filter((r) => r.label === 'major_inaccurate').length / major : 0,
      };
    }),
  };
}
