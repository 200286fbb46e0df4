/**
 * What the CLI reads of an app's monitor (monitor-<app>) beyond its live status: the bake rollback of a
 * given deploy, for `explain`, `releases` and `rollback`. Read only, from the monitor's recorded state.
 */
import type { Client } from '@temporalio/client';
import type { BakeRollback } from '../explain';
import type { MonitorInput, MonitorView } from '../monitor';
import { MESSAGES, monitorWorkflowId } from '../names';

/** Runs of an app's monitor read when looking for the one of a deploy (one per deploy, and the running one). */
const MONITOR_RUNS_READ = 20;

/**
 * The bake rollback of the deploy `deployRunId`, as its monitor recorded it (with the images that serve
 * since), or null: the newest run of
 * `monitor-<app>` that watched that deploy, read from its query while it runs, else from its result (its
 * state as the next deploy ended it). Runs that continued as new are left out: a newer run carries their
 * state on. The server lists running runs first, then the latest closed (a deploy that rolls back starts
 * the monitor it ended again, as it was: that newer run comes first).
 */
export async function bakeRollbackOf(client: Client, app: string, deployRunId: string): Promise<BakeRollback | null> {
  const query = `WorkflowId = '${monitorWorkflowId(app)}' AND (ExecutionStatus = 'Running' OR ExecutionStatus = 'Completed')`;
  let read = 0;
  for await (const run of client.workflow.list({ query })) {
    if (++read > MONITOR_RUNS_READ) break;
    const handle = client.workflow.getHandle(monitorWorkflowId(app), run.runId);
    const state: MonitorView | null =
      run.status.name === 'RUNNING'
        ? await handle.query<MonitorView>(MESSAGES.monitor).catch(() => null)
        : await handle.result().then(
            (input: MonitorInput) => ({ ...input.status, images: input.images }),
            () => null,
          );
    // After a bake rollback the monitor watches the previous color: its images are the ones serving.
    if (state?.deployId === deployRunId) return state.rollback && { ...state.rollback, images: state.images };
  }
  return null;
}
