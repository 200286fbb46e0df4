import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { promoteUpdate } from '../../../workflows/messages';
import { deployWorkflowId } from '../../names';
import type { CommandEnd } from '../exit-codes';

/** Releases the manual promotion gate of the running deploy of `app`. */
export async function promote(client: Client, app: string, out: (line: string) => void = console.log): Promise<CommandEnd> {
  const handle = client.workflow.getHandle(deployWorkflowId(app));
  try {
    // An update to a workflow that is not there and to one that has ended both fail with
    // WorkflowNotFoundError: describe first to tell an unknown app (exit 2) from a finished deploy (3).
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') {
      out(`no deploy of ${app} is running (the last one is ${status.name.toLowerCase()}): nothing to promote`);
      return 'not-running';
    }
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    out(`no deploy of ${app} found: check the app name (greenlight history ${app})`);
    return 'unknown-app';
  }
  try {
    await handle.executeUpdate(promoteUpdate, { args: [] });
    out(`${app} promoted: switching traffic`);
    return 'done';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      out(`the deploy of ${app} ended before the promote reached it: nothing to promote`);
      return 'not-running';
    }
    if (err instanceof WorkflowUpdateFailedError) {
      out(`promote of ${app} refused: ${err.cause?.message ?? err.message}`);
      return 'refused';
    }
    throw err;
  }
}
