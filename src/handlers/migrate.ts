import type { CliContext } from '../commands/context.js';
import type { MigrateArgs } from '../commands/migrate.js';
import { LOG_FILES } from '../runlog/lines.js';
import { type MigrateSummary, migrateFolder } from '../runlog/migrate.js';
import { quorumCommand } from '../render/invocation.js';

/** Damaged files named one by one on stderr; past this, only their count. */
const NAMED_DAMAGE = 5;

/** `quorum migrate`: loaded by src/commands/migrate.ts when the command runs. */
export async function handler(args: MigrateArgs, ctx: CliContext): Promise<void> {
  const s = await migrateFolder(args.out, { signal: ctx.signal });
  for (const path of s.damaged.slice(0, NAMED_DAMAGE)) ctx.stderr.write(`Skipped ${path}: not readable as quorum 0.1 wrote it\n`);
  if (s.damaged.length > NAMED_DAMAGE) ctx.stderr.write(`Skipped ${s.damaged.length - NAMED_DAMAGE} more damaged file(s)\n`);
  if (s.interrupted) {
    ctx.stderr.write(`Interrupted after ${s.runs} run(s); what was converted is kept: run ${quorumCommand('migrate', '--out', args.out)} again to finish\n`);
    ctx.exitCode = 130;
    return;
  }
  ctx.stdout.write(`${summaryLine(args.out, s)}\n`);
}

export function summaryLine(out: string, s: MigrateSummary): string {
  const skipped = s.damaged.length > 0 ? `; skipped ${s.damaged.length} damaged file(s)` : '';
  if (s.runs + s.answers + s.batches === 0) {
    return `Nothing to migrate: ${out} holds no 0.1 run or batch that the run log lacks${s.already > 0 ? ` (${s.already} run(s) already in ${LOG_FILES.runs})` : ''}${skipped}`;
  }
  const parts = [
    `${s.runs} run(s) to ${LOG_FILES.runs}`,
    `${s.answers} answer(s) to ${LOG_FILES.answers}`,
    `${s.batches} batch(es) to ${LOG_FILES.batches}`,
  ];
  const notes = [
    s.undecided > 0 && `${s.undecided} undecided run(s) kept as answers only`,
    s.already > 0 && `${s.already} run(s) were already there`,
  ].filter(Boolean);
  return `Migrated ${out}: ${parts.join(', ')}${notes.length ? ` (${notes.join('; ')})` : ''}${skipped}; the 0.1 files are kept`;
}
