import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { deployWorkflowId } from '../../names';
import type { CommandEnd } from '../exit-codes';

/** Cancels the running deploy of `app`: its compensation still runs, then it ends cancelled. */
export async function cancel(client: Client, app: string, out: (line: string) => void = console.log): Promise<CommandEnd> {
  const handle = client.workflow.getHandle(deployWorkflowId(app));
  try {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') {
      out(`no deploy of ${app} is running (the last one is ${status.name.toLowerCase()}): nothing to cancel`);
      return 'not-running';
    }
    await handle.cancel();
    out(`cancel of the deploy of ${app} requested: it compensates (traffic stays on or returns to the previous color), then ends cancelled`);
    return 'done';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      out(`no deploy of ${app} found: check the app name (greenlight history ${app})`);
      return 'unknown-app';
    }
    throw err;
  }
}
