/** Runs `quorum sql …` in-process through the real CLI (`main`). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, tempDir, type CliRun } from '../helpers/cli.js';

export function runSql(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(['sql', ...args], env);
}

/** A .sql file in a folder of its own, holding `text`. */
export function sqlFile(text: string): string {
  const path = join(tempDir('quorum-sql-q-'), 'query.sql');
  writeFileSync(path, text);
  return path;
}

/** Asserts stderr is exactly one `Error: …` line and returns it. */
export function oneErrorLine(stderr: string): string {
  expect(stderr.endsWith('\n')).toBe(true);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^Error: /);
  return stderr.trim();
}
