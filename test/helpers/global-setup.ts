/**
 * Once per test run: make sure the local stack is up (idempotent provisioning) and bundle the workflows
 * once, so every test worker loads the same bundle instead of running webpack again. The payload key
 * (scripts/payload-key.sh) and the compiled CLI (scripts/build.cjs) are made even when provisioning is
 * skipped: every client and worker needs the key, and bin/greenlight runs dist/.
 */
import { execFileSync } from 'node:child_process';
import { writeWorkflowBundle } from '../../harness/bundle';
import { REPO } from '../../harness/paths';

export default async function setup(): Promise<void> {
  if (process.env.GREENLIGHT_SKIP_PROVISION !== '1') {
    execFileSync('bash', [`${REPO}/scripts/up.sh`], { stdio: 'inherit' });
  } else {
    // The one step of up.sh a stack brought up by an older checkout lacks: the payload key (made once).
    execFileSync('bash', [`${REPO}/scripts/payload-key.sh`], { stdio: 'inherit' });
    // And the compiled CLI (incremental, under a second): bin/greenlight would otherwise note on stderr
    // that it runs the sources, and the tests read its stderr.
    execFileSync(process.execPath, [`${REPO}/scripts/build.cjs`], { stdio: 'inherit' });
  }
  await writeWorkflowBundle();
}
