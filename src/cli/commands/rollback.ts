import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { rollbackUpdate } from '../../../workflows/messages';
import type { CliOutcome } from '../exit-codes';
import { formatImages } from '../../format';
import { deployWorkflowId } from '../../names';

export interface RollbackOptions {
  reason: string;
  /** The restore's task queue when the user passed --task-queue; default: the restored deploy's own. */
  taskQueue?: string;
  json: boolean;
  wait: boolean;
  out?: (line: string) => void;
}

/**
 * Asks the deploy behind `handle` to roll back: its outcome, or null when no deploy of it runs (the
 * server answers an update to a closed or unknown workflow with NOT_FOUND).
 */
async function requestRollback(handle: WorkflowHandle, app: string, reason: string, out: (line: string) => void): Promise<CliOutcome | null> {
  try {
    const accepted = await handle.executeUpdate(rollbackUpdate, { args: [reason] });
    out(`rollback of ${app} accepted during ${accepted.phase}: ${accepted.reason}`);
    return 'done';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    if (err instanceof WorkflowUpdateFailedError) {
      out(`rollback of ${app} refused: ${err.cause?.message ?? err.message}`);
      return 'refused';
    }
    throw err;
  }
}

/**
 * During a deploy: asks it to roll back (compensation now). After a successful deploy: brings the
 * previous version back (its stopped containers) through the same health-gated switch, as a new deploy.
 */
export async function rollback(client: Client, app: string, opts: RollbackOptions): Promise<CliOutcome> {
  const out = opts.out ?? ((line: string) => console.log(line));
  // The update first, to the app's latest run, before any lookup: during a deploy it is what brings the
  // old color back, and the lookups (describe, the status query, the drains) would only delay it by
  // their round trips. Only when no deploy runs does the rollback need to know what ran last.
  const during = await requestRollback(client.workflow.getHandle(deployWorkflowId(app)), app, opts.reason, out);
  if (during) return during;
  // The rest only after a deploy: the lookups, and the spec's parser (zod, about 0.1 s to load) for the
  // restore, loaded here so the rollback during a deploy goes without them.
  const [{ deployInputOf, lastDeploy, startDeploy }, { parseDeploySpec }, { followDeploy }] = await Promise.all([import('../deploy-client'), import('../../config/load'), import('./deploy')]);
  const last = await lastDeploy(client, app);
  if (!last) {
    out(`no deploy of ${app} found: check the app name (greenlight history ${app})`);
    return 'unknown-app';
  }
  if (last.running) {
    // A deploy started since the update found none.
    const outcome = await requestRollback(last.handle, app, opts.reason, out);
    if (outcome) return outcome;
  }
  const status = last.status;
  if (!status || status.outcome !== 'succeeded' || Object.keys(status.previousImages).length === 0) {
    out(`nothing to roll back for ${app}: the last deploy ${status ? `ended ${status.outcome}` : 'has no status'}${status?.outcome === 'rolled-back' ? ' (the previous version is still live)' : ''}`);
    return 'nothing-to-roll-back';
  }
  const input = await deployInputOf(client, last.handle);
  const services = Object.fromEntries(Object.entries(input.spec.services).map(([name, svc]) => [name, { ...svc, image: status.previousImages[name] ?? svc.image }]));
  const spec = parseDeploySpec({ ...input.spec, services });
  // The restore goes where the deploy it undoes ran (its spec keeps a fleet's hosts and their queues).
  const handle = await startDeploy(client, spec, opts.taskQueue ?? last.taskQueue, { requestedBy: `greenlight rollback: ${opts.reason}`, restore: { reason: opts.reason, fromRunId: last.runId } });
  const images = formatImages(status.previousImages);
  if (!opts.wait) {
    out(`restoring the previous version of ${app} (${images}): started ${handle.workflowId}`);
    return 'done';
  }
  if (!opts.json) out(`restoring the previous version of ${app} (${images}) through the health-gated switch:`);
  return followDeploy(handle, { json: opts.json, out, live: Boolean(process.stdout.isTTY) && process.env.CI !== 'true' });
}
