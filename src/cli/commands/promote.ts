import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { promoteUpdate } from '../../../workflows/messages';
import { deployWorkflowId } from '../../names';
import { EXIT, type ExitCode } from '../exit-codes';

/** Releases the manual promotion gate of the running deploy of `app`. */
export async function promote(client: Client, app: string, out: (line: string) => void = console.log): Promise<ExitCode> {
  try {
    await client.workflow.getHandle(deployWorkflowId(app)).executeUpdate(promoteUpdate, { args: [] });
    out(`${app} promoted: switching traffic`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as Error).message?.includes('workflow execution already completed')) {
      out(`no deploy of ${app} is running: nothing to promote`);
      return EXIT.refused;
    }
    if (err instanceof WorkflowUpdateFailedError) {
      out(`promote of ${app} refused: ${err.cause?.message ?? err.message}`);
      return EXIT.refused;
    }
    throw err;
  }
}
