/**
 * The monitor's one activity that is no host step: ending an app's running monitor (a deploy replaces
 * it) through the worker's own Temporal client. Activities import no workflow code: the names only.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { MESSAGES, monitorWorkflowId } from '../src/names';
import type { MonitorInput } from '../src/monitor';

export function createMonitorActivities() {
  return {
    /**
     * Ends the running monitor of `app`, if any: it finishes the round (or the bake rollback) under way
     * and returns its input as it stands, which the deploy hands back to a new monitor should it roll
     * back. Null when none runs. Idempotent: a retry finds it closed, or waits for it again.
     */
    endMonitor: async (app: string, reason: string): Promise<MonitorInput | null> => {
      const handle = Context.current().client.workflow.getHandle(monitorWorkflowId(app));
      try {
        const { status } = await handle.describe();
        if (status.name !== 'RUNNING') return null;
        await handle.signal(MESSAGES.stopMonitor, reason);
        return (await handle.result()) as MonitorInput;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      }
    },
  };
}
