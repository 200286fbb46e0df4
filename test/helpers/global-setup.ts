/**
 * Once per test run: make sure the local stack is up (idempotent provisioning) and bundle the workflows
 * once, so every test worker loads the same bundle instead of running webpack again.
 */
import { execFileSync } from 'node:child_process';
import { writeWorkflowBundle } from '../../harness/bundle';
import { REPO } from '../../harness/paths';

export default async function setup(): Promise<void> {
  if (process.env.GREENLIGHT_SKIP_PROVISION !== '1') {
    execFileSync('bash', [`${REPO}/scripts/up.sh`], { stdio: 'inherit' });
  }
  await writeWorkflowBundle();
}
