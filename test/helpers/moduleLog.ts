import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Writes a `node --import` preload into `dir` that appends every resolved module URL to the file
 * named by $QUORUM_TEST_MODULE_LOG. ESM packages do not show in process.moduleLoadList; a
 * resolve hook sees every import. Returns the preload's URL.
 */
export function writeModuleLogPreload(dir: string): string {
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}
`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';
register('./hooks.mjs', import.meta.url, { data: { log: process.env.QUORUM_TEST_MODULE_LOG } });
`,
  );
  return pathToFileURL(join(dir, 'register.mjs')).href;
}
