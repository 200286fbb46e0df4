/**
 * Once per test run: make sure the local stack is up (idempotent provisioning) and bundle the workflows
 * once, so every test worker loads the same bundle instead of running webpack again.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BUNDLE_PATH, REPO } from './paths';

export default async function setup(): Promise<void> {
  if (process.env.GREENLIGHT_SKIP_PROVISION !== '1') {
    execFileSync('bash', [`${REPO}/scripts/up.sh`], { stdio: 'inherit' });
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: resolve(REPO, 'workflows', 'index.ts'), logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} } });
  mkdirSync(dirname(BUNDLE_PATH), { recursive: true });
  writeFileSync(BUNDLE_PATH, code);
}
