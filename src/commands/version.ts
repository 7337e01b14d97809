import { readFileSync } from 'node:fs';

/**
 * quorum's own version, from its package.json. yargs' default looks for a package.json from the
 * current folder up, so `quorum --version` run in some other project (after `npm link`) printed
 * that project's version, or "unknown". The file sits two folders above dist/bin/cli.js (the
 * bundle) and one above dist/cli.js.
 */
export function quorumVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'quorum' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not there: try the next place
    }
  }
  return 'unknown';
}
