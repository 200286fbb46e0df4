import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { promoteUpdate } from '../../../workflows/messages';
import { deployWorkflowId } from '../../names';
import type { CommandEnd } from '../exit-codes';

/** Releases the manual promotion gate of the running deploy of `app`. */
export async function promote(client: Client, app: string, out: (line: string) => void = console.log): Promise<CommandEnd> {
  try {
    await client.workflow.getHandle(deployWorkflowId(app)).executeUpdate(promoteUpdate, { args: [] });
    out(`${app} promoted: switching traffic`);
    return 'done';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as Error).message?.includes('workflow execution already completed')) {
      out(`no deploy of ${app} is running: nothing to promote`);
      return 'not-running';
    }
    if (err instanceof WorkflowUpdateFailedError) {
      out(`promote of ${app} refused: ${err.cause?.message ?? err.message}`);
      return 'refused';
    }
    throw err;
  }
}
