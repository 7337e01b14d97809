/** Runs `quorum sql …` in-process through the real CLI (`main`). */
import { runCli, type CliRun } from '../helpers/cli.js';

export function runSql(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(['sql', ...args], env);
}
