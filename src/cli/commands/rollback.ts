import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { rollbackUpdate } from '../../../workflows/messages';
import { parseDeploySpec } from '../../config/load';
import { deployInputOf, lastDeploy, startDeploy } from '../deploy-client';
import type { CliOutcome } from '../exit-codes';
import { formatImages } from '../../format';
import { followDeploy } from './deploy';

export interface RollbackOptions {
  reason: string;
  /** The restore's task queue when the user passed --task-queue; default: the restored deploy's own. */
  taskQueue?: string;
  json: boolean;
  wait: boolean;
  out?: (line: string) => void;
}

/**
 * During a deploy: asks it to roll back (compensation now). After a successful deploy: brings the
 * previous version back (its stopped containers) through the same health-gated switch, as a new deploy.
 */
export async function rollback(client: Client, app: string, opts: RollbackOptions): Promise<CliOutcome> {
  const out = opts.out ?? ((line: string) => console.log(line));
  const last = await lastDeploy(client, app);
  if (!last) {
    out(`no deploy of ${app} found: check the app name (greenlight history ${app})`);
    return 'unknown-app';
  }
  if (last.running) {
    try {
      const accepted = await last.handle.executeUpdate(rollbackUpdate, { args: [opts.reason] });
      out(`rollback of ${app} accepted during ${accepted.phase}: ${accepted.reason}`);
      return 'done';
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        out(`rollback of ${app} refused: ${err.cause?.message ?? err.message}`);
        return 'refused';
      }
      throw err;
    }
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
