import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { rollbackUpdate } from '../../../workflows/messages';
import type { CliOutcome } from '../exit-codes';
import { formatImages } from '../../format';
import { deployWorkflowId } from '../../names';
import { bakeRollbackOf } from '../monitor-client';

export interface RollbackOptions {
  reason: string;
  /** A release to deploy again (`r3`, `previous`): through the whole pipeline, or with `fast`, the kept previous color. */
  to?: string;
  /** Switch back to the kept previous color with one healthy round (implies `--to previous`). */
  fast?: boolean;
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
  if (opts.to !== undefined || opts.fast) return rollbackToRelease(client, app, opts, out);
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
  // Its monitor may have rolled it back during the bake already: the previous version is what serves.
  const undone = status.monitor?.bakeUntil ? await bakeRollbackOf(client, app, last.runId) : null;
  if (undone) {
    out(`nothing to roll back for ${app}: its monitor already rolled the last deploy back during the bake at ${undone.at} (${undone.from} -> ${undone.to}), so the previous version is live (greenlight explain ${app}); \`greenlight rollback ${app} --to RELEASE\` deploys an older release`);
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

/**
 * `rollback --to RELEASE`: a new deploy of that release's spec (as it ran, images included) through the
 * whole pipeline. `--fast`: when the release is the previous color's, still kept, that color's
 * containers are started again (a restore) and the switch waits for one healthy round instead of
 * `health.successes`, with one verify round; no canary, no manual gate.
 */
async function rollbackToRelease(client: Client, app: string, opts: RollbackOptions, out: (line: string) => void): Promise<CliOutcome> {
  const [{ readReleases }, { fastRollbackProblem, fastRollbackSpec, findRelease, imagesOf }] = await Promise.all([import('./releases'), import('../../releases')]);
  const releases = await readReleases(client, app);
  if (!releases || releases.length === 0) {
    out(`no releases of ${app} on record: check the app name; a release is recorded when a deploy succeeds (greenlight releases ${app})`);
    return 'unknown-app';
  }
  const id = opts.to ?? 'previous';
  const target = findRelease(releases, id);
  if (!target) {
    out(`--to ${id}: ${app} has no release ${id} (on record: ${releases.map((r) => r.id).join(', ')}): pick one from \`greenlight releases ${app}\``);
    return 'unknown-release';
  }
  const [{ lastDeploy, startDeploy }, { parseDeploySpec }, { followDeploy }] = await Promise.all([import('../deploy-client'), import('../../config/load'), import('./deploy')]);
  // Checked again by today's schema: a release recorded under an older one names the field to fix (exit 2).
  let spec = parseDeploySpec(target.spec);
  let restore: { reason: string; fromRunId: string } | undefined;
  if (opts.fast) {
    const last = await lastDeploy(client, app);
    const undone = last && !last.running && last.status?.outcome === 'succeeded' && last.status.monitor?.bakeUntil ? await bakeRollbackOf(client, app, last.runId) : null;
    const facts = last && { running: last.running, outcome: last.status?.outcome ?? null, previousImages: last.status?.previousImages ?? {}, bakeRollback: undone };
    const problem = fastRollbackProblem(releases, target, facts);
    if (problem) {
      out(`rollback --fast of ${app} to ${target.id} refused: ${problem}; without --fast, \`greenlight rollback ${app} --to ${target.id}\` deploys it through the whole pipeline`);
      return 'refused';
    }
    spec = fastRollbackSpec(spec);
    restore = { reason: opts.reason, fromRunId: last!.runId };
  }
  const how = opts.fast ? 'fast, the kept previous color with one healthy round' : 'through the whole pipeline';
  const handle = await startDeploy(client, spec, opts.taskQueue ?? target.taskQueue, { requestedBy: `greenlight rollback --to ${target.id}${opts.fast ? ' --fast' : ''}: ${opts.reason}`, restore });
  const images = formatImages(imagesOf(target));
  if (!opts.wait) {
    out(`rolling ${app} back to ${target.id} (${images}, ${how}): started ${handle.workflowId}`);
    return 'done';
  }
  if (!opts.json) out(`rolling ${app} back to ${target.id} (${images}), ${how}:`);
  return followDeploy(handle, { json: opts.json, out, live: Boolean(process.stdout.isTTY) && process.env.CI !== 'true' });
}
