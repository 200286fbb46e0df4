/**
 * `greenlight maintenance APP on|off`: nginx answers the app's public routes with 503, Retry-After and a
 * page (no reload), on every host of the app, through the maintenance workflow: the CLI need not run on
 * the hosts. The hosts are those of the app's last deploy (what runs there now), or of `-f SPEC`.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { maintenanceWorkflow } from '../../../workflows/maintenance';
import { fleetTargets } from '../../config/hosts';
import type { DeploySpec } from '../../config/schema';
import { ConfigError } from '../../errors';
import { formatMaintenance, MAINTENANCE_LIMITS } from '../../maintenance';
import { FAILURE_TYPES, MAINTENANCE_WORKFLOW, maintenanceWorkflowId } from '../../names';
import type { MaintenanceChange, MaintenanceResult, MaintenanceTarget } from '../../types';
import { deployInputOf, lastDeploy } from '../deploy-client';
import type { CliOutcome } from '../exit-codes';

/** A change no worker picks up (none polls the queue) ends here rather than hanging the CLI. */
const EXECUTION_TIMEOUT = '2m';

export interface MaintenanceOptions {
  change: MaintenanceChange;
  /** The spec of `-f`: its hosts; null: the last deploy's. */
  spec: DeploySpec | null;
  /** The workflow's task queue (--task-queue); default: the last deploy's, else `fallbackTaskQueue`. */
  taskQueue?: string;
  fallbackTaskQueue: string;
  json: boolean;
  out?: (line: string) => void;
}

/**
 * `--page FILE` as the CLI reads it (the workers may run on other machines): its name and bytes, one
 * byte past the limit at most, so a huge file is refused without being read whole.
 */
export async function readPageArg(path: string): Promise<{ file: string; bytes: Uint8Array }> {
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = new Uint8Array(MAINTENANCE_LIMITS.pageBytes + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0 || (length += bytesRead) >= buffer.length) break;
      }
      return { file: basename(path), bytes: buffer.subarray(0, length) };
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new ConfigError([`--page: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}): pass an existing HTML file`]);
  }
}

/** Where each host's step runs: every host of a fleet spec on its own queue, or the workflow's own queue. */
export function maintenanceTargets(spec: DeploySpec): MaintenanceTarget[] {
  const fleet = fleetTargets(spec);
  if (fleet.length === 0) return [{ name: null }];
  return fleet.map(({ name, taskQueue, hostTimeoutMs }) => ({ name, taskQueue, hostTimeoutMs }));
}

export async function maintenance(client: Client, app: string, opts: MaintenanceOptions): Promise<CliOutcome> {
  const out = opts.out ?? ((line: string) => console.log(line));
  if (opts.spec && opts.spec.app !== app) throw new ConfigError([`-f: the spec is of app "${opts.spec.app}", not "${app}": pass ${app}'s spec, or leave -f out for the hosts of its last deploy`]);
  const last = await lastDeploy(client, app);
  const spec = opts.spec ?? (last ? (await deployInputOf(client, last.handle)).spec : null);
  if (!spec) {
    out(`no deploy of ${app} found: check the app name (greenlight history ${app}), or pass its spec with -f`);
    return 'unknown-app';
  }
  const targets = maintenanceTargets(spec);
  const taskQueue = opts.taskQueue ?? last?.taskQueue ?? opts.fallbackTaskQueue;
  let handle;
  try {
    handle = await client.workflow.start<typeof maintenanceWorkflow>(MAINTENANCE_WORKFLOW, {
      taskQueue,
      workflowId: maintenanceWorkflowId(app),
      args: [{ app, change: opts.change, targets }],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowExecutionTimeout: EXECUTION_TIMEOUT,
      staticSummary: `Maintenance ${opts.change.on ? 'on' : 'off'}: ${app}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    out(`another maintenance change of ${app} is running (workflow ${maintenanceWorkflowId(app)}): wait for it, then try again`);
    return 'refused';
  }
  const where = targets.map((t) => t.name).filter((name) => name !== null);
  const onHosts = where.length ? ` on ${where.join(', ')}` : '';
  try {
    const result = await handle.result();
    if (opts.json) out(JSON.stringify(result));
    else out(`${app}: maintenance ${formatMaintenance(result.hosts[0]!.state)}${onHosts}`);
    return 'done';
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    const message = cause?.message ?? err.message;
    if (opts.json) out(JSON.stringify({ app, error: message }));
    else if (cause instanceof TimeoutFailure) out(`maintenance of ${app} not changed: no worker took it within ${EXECUTION_TIMEOUT} (task queue ${taskQueue}): is \`greenlight worker\` running?`);
    else out(`maintenance of ${app} not changed: ${message}`);
    if (cause instanceof ApplicationFailure && cause.type === FAILURE_TYPES.preflight) return 'validation-failed';
    return 'infrastructure-unavailable';
  }
}

/**
 * The app's maintenance as the last change that succeeded left it on every host (its workflow's
 * result), or null when none ever did. A failed change changed nothing (or was put back), so it is skipped.
 */
export async function lastMaintenance(client: Client, app: string): Promise<MaintenanceResult | null> {
  const id = maintenanceWorkflowId(app);
  try {
    const latest = await client.workflow.getHandle(id).describe();
    if (latest.status.name === 'COMPLETED') return (await client.workflow.getHandle<typeof maintenanceWorkflow>(id, latest.runId).result()) ?? null;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${id}' AND ExecutionStatus = 'Completed'`, pageSize: 1 })) {
    return client.workflow.getHandle<typeof maintenanceWorkflow>(id, execution.runId).result();
  }
  return null;
}
