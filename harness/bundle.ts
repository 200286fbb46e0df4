/** Bundles the workflows once (webpack) to the file every test worker and benchmark worker loads. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BUNDLE_PATH, REPO } from './paths';

const quiet = { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} };

export async function writeWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: resolve(REPO, 'workflows', 'index.ts'), logger: quiet });
  mkdirSync(dirname(BUNDLE_PATH), { recursive: true });
  writeFileSync(BUNDLE_PATH, code);
  return BUNDLE_PATH;
}
