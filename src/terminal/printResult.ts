import type { ConsensusDocument } from '../types.js';
import { wrapLines } from './wrapLines.js';

/**
 * The human-readable verdict printed after a run (`--json` prints consensus.json instead).
 * @param columns the terminal's width: the chair's prose answer is wrapped to it (default 80).
 */
export function formatResult(doc: ConsensusDocument, runDir: string, columns = 80): string {
  const q = doc.quorum;
  const lines: string[] = [''];
  if (doc.sandbox) lines.push('SANDBOX: these answers come from simulated models, not real ones.', '');
  const banner =
    doc.status === 'consensus'
      ? `CONSENSUS — ${q.responders} of ${q.panel} ports answered; a claim needs ${q.required} votes`
      : doc.status === 'degraded'
        ? `DEGRADED — only ${q.responders} of ${q.panel} ports answered; a claim needs ${q.required} votes (scaled from ${q.configured})`
        : `QUORUM LOST — only ${q.responders} of ${q.panel} ports answered, ${q.minResponders} needed; no claim is consensus`;
  lines.push(banner);
  if (doc.rounds === 2) lines.push(`Two rounds: ${doc.candidates ?? 0} candidate claims were put to a vote of the ${q.responders} responders.`);
  lines.push('');
  if (doc.claims.length) {
    lines.push('Consensus claims:');
    doc.claims.forEach((c, i) => lines.push(`  [c${i + 1}] ${oneLine(c.text)}  (${c.support}/${q.panel}: ports ${c.ports.join(',')}${against(c)})`));
  } else if (doc.status !== 'quorum_lost') {
    lines.push('No claim reached the quorum.');
  }
  if (doc.synthesis) {
    lines.push('');
    // A paragraph is one long line: wrapped with its indent kept, not left to the terminal's edge.
    if ('text' in doc.synthesis) lines.push(`Answer (by the chair, ${doc.synthesis.model}, from the consensus claims only):`, ...doc.synthesis.text.split('\n').flatMap((l) => wrapLines(`  ${oneLine(l)}`, Math.max(40, columns), '  ')));
    else lines.push(`The chair (${doc.synthesis.model}) wrote no answer: ${oneLine(doc.synthesis.error)}; the consensus above stands.`);
  }
  if (doc.dissent.length) {
    lines.push('', 'Dissent (below quorum):');
    for (const c of doc.dissent) lines.push(`  - ${oneLine(c.text)}  (${c.support}/${q.panel}: ports ${c.ports.join(',')}${against(c)})`);
  }
  if (doc.failures.length) {
    lines.push('', 'Failures:');
    for (const f of doc.failures) lines.push(`  port ${f.port} ${f.model}: ${f.round === 2 ? 'vote round ' : ''}${f.kind}${f.message ? ` — ${oneLine(f.message)}` : ''}`);
  }
  if (doc.abstentions?.length) lines.push('', `Abstained in the vote round: ports ${doc.abstentions.join(',')} (their round-1 proposals still count).`);
  if (doc.truncated?.length) {
    const ports = `${doc.truncated.length === 1 ? 'port' : 'ports'} ${doc.truncated.join(',')}`;
    lines.push('', `Truncated: the answer of ${ports} was cut at the model's output limit (finish_reason "length") or at quorum's answer size cap; its last, unfinished claim was dropped.`);
  }
  lines.push('', `Artifacts: ${runDir}`);
  return `${lines.join('\n')}\n`;
}

function against(c: ConsensusDocument['claims'][number]): string {
  return c.votes?.disagree.length ? `; against: ${c.votes.disagree.join(',')}` : '';
}

// Claims come from models: never let one rewrite the terminal with control sequences.
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}
