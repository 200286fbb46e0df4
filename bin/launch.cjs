/**
 * What bin/greenlight runs. An installed package (no src/; npm ships dist/ and bin/ only) runs the
 * compiled JavaScript. A checkout runs it too while dist/ is current (scripts/dist-stamp.cjs), as
 * scripts/up.sh and `npm run build` leave it; otherwise it runs the TypeScript sources through tsx (a
 * devDependency) and says so on stderr, or silently with GREENLIGHT_FROM_SOURCE=1. So an edited source
 * never runs as stale compiled code, and never slower without saying why.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

/**
 * `{ run: 'dist' }`, or `{ run: 'source', note }` with the line to print (null when the environment
 * asked for the sources).
 */
function launchPlan(root, env = process.env) {
  if (!existsSync(join(root, 'src', 'cli', 'main.ts'))) return { run: 'dist' };
  if (env.GREENLIGHT_FROM_SOURCE === '1') return { run: 'source', note: null };
  // Only a checkout has scripts/: an installed package returned above.
  const { distState } = require('../scripts/dist-stamp.cjs');
  const state = distState(root);
  if (state.current) return { run: 'dist' };
  return { run: 'source', note: `greenlight: note: ${state.reason}: running the TypeScript sources through tsx (slower start); \`npm run build\` compiles them` };
}

function launch(root) {
  const plan = launchPlan(root);
  if (plan.run === 'dist') return require(join(root, 'dist', 'src', 'cli', 'main.js'));
  if (plan.note) process.stderr.write(`${plan.note}\n`);
  // tsx's whole loader (CommonJS and ESM hooks, as `node --import tsx`): the CLI loads its commands with
  // import(), which tsx's CommonJS hook alone would not resolve to the .ts files.
  return import(pathToFileURL(require.resolve('tsx')).href).then(() => require(join(root, 'src', 'cli', 'main.ts')));
}

module.exports = { launchPlan, launch };
