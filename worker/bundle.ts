/**
 * `npm pack` runs this compiled (the prepack script: node dist/worker/bundle.js): the compiled workflows
 * are bundled once (the SDK's webpack) into dist/workflow-bundle.js, which the installed worker loads,
 * so a host never runs webpack.
 */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PREBUILT_BUNDLE_PATH, workflowsEntry } from './worker';

async function main(): Promise<void> {
  // From source it would land in the checkout's root, where every worker run from source would load it,
  // and keep loading it after the workflows change.
  if (__filename.endsWith('.ts')) throw new Error('run the compiled script: npm run build && node dist/worker/bundle.js');
  const workflowsPath = workflowsEntry();
  const { code } = await bundleWorkflowCode({ workflowsPath });
  await writeFile(PREBUILT_BUNDLE_PATH, code);
  console.error(`greenlight: ${workflowsPath} bundled into ${PREBUILT_BUNDLE_PATH} (${(code.length / 2 ** 20).toFixed(1)} MiB)`);
}

main().catch((err) => {
  console.error(`greenlight: bundling the workflows failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
