/** Where the harness finds things: this checkout, greenlight's state folder, the shared workflow bundle, the Temporal CLI and server. */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { greenlightHome } from '../src/settings';

export const REPO = resolve(__dirname, '..');
/** greenlight's state folder (GREENLIGHT_HOME, default <repo>/.greenlight), as the worker and the scripts resolve it. */
export const GREENLIGHT_HOME = greenlightHome();
/**
 * One bundle per checkout: several checkouts (git worktrees) testing against one GREENLIGHT_HOME would
 * otherwise overwrite each other's bundle between its writing and its use, and replay or run another
 * checkout's workflow code (seen: a history replayed on a bundle without its patch).
 */
export const BUNDLE_PATH = resolve(GREENLIGHT_HOME, 'test', `workflow-bundle-${createHash('sha256').update(REPO).digest('hex').slice(0, 8)}.js`);
export const TEMPORAL_BIN = resolve(REPO, '.tools', 'temporal');
export const TEMPORAL_ADDRESS = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
