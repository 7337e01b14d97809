import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { legacyFolderMessage, MIGRATING_MARKER } from '../../src/runlog/legacy.js';
import { tempDir } from '../helpers/cli.js';
import { LEGACY_FIXTURE, writeLegacyBatch, writeLegacyRun, writeLogs, runLine } from './fixtures.js';

const folder = () => join(tempDir('quorum-legacy-'), 'artifacts');

describe('legacyFolderMessage', () => {
  it('names quorum migrate for the folder a real quorum 0.1 wrote', () => {
    expect(legacyFolderMessage(LEGACY_FIXTURE)).toBe(
      `${LEGACY_FIXTURE} was written by quorum 0.1 (per-run files, no runs.jsonl); convert it once with: quorum migrate --out ${LEGACY_FIXTURE}`,
    );
  });

  it('a 0.1 folder of runs only, or of a batch only, is one', () => {
    const runs = folder();
    writeLegacyRun(runs, { runId: '20250601T100000Z-aaaaaa', events: false });
    expect(legacyFolderMessage(runs)).toMatch(/quorum 0\.1/);
    const batch = folder();
    writeLegacyBatch(batch, 'batch1', []);
    expect(legacyFolderMessage(batch)).toMatch(/quorum 0\.1/);
  });

  it('a folder with a run log, an empty or missing folder, or runs/ holding no consensus is none', () => {
    const migrated = folder();
    writeLegacyRun(migrated, { runId: '20250601T100000Z-aaaaaa' });
    writeLogs(migrated, { runs: [runLine('20250601T100000Z-aaaaaa')] });
    expect(legacyFolderMessage(migrated)).toBeUndefined();
    const empty = folder();
    mkdirSync(empty, { recursive: true });
    expect(legacyFolderMessage(empty)).toBeUndefined();
    expect(legacyFolderMessage(join(empty, 'missing'))).toBeUndefined();
    const interrupted = folder();
    writeLegacyRun(interrupted, { runId: '20250601T100000Z-aaaaaa', decided: false });
    expect(legacyFolderMessage(interrupted)).toBeUndefined();
  });

  it('a migration that did not finish is reported even though the logs exist', () => {
    const out = folder();
    writeLegacyRun(out, { runId: '20250601T100000Z-aaaaaa' });
    writeLogs(out, { runs: [runLine('20250601T100000Z-aaaaaa')] });
    writeFileSync(join(out, MIGRATING_MARKER), '');
    expect(legacyFolderMessage(out)).toBe(`${out} is half converted from quorum 0.1 (a migration did not finish); finish it with: quorum migrate --out ${out}`);
  });

  it('quotes a folder the shell would split', () => {
    const out = join(tempDir('quorum-legacy-'), "my artifacts's");
    writeLegacyRun(out, { runId: '20250601T100000Z-aaaaaa' });
    expect(legacyFolderMessage(out)).toMatch(/quorum migrate --out '.*\/my artifacts'\\''s'$/);
  });
});
