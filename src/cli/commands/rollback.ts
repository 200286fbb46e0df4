import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { rollbackUpdate } from '../../../workflows/messages';
import { deployWorkflowId } from '../../names';
import { EXIT, type ExitCode } from '../exit-codes';

/** Asks the running deploy of `app` to roll back; the deploy's validator says why if it refuses. */
export async function rollback(client: Client, app: string, reason: string, out: (line: string) => void = console.log): Promise<ExitCode> {
  const handle = client.workflow.getHandle(deployWorkflowId(app));
  try {
    const accepted = await handle.executeUpdate(rollbackUpdate, { args: [reason] });
    out(`rollback of ${app} accepted during ${accepted.phase}: ${accepted.reason}`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as Error).message?.includes('workflow execution already completed')) {
      out(`no deploy of ${app} is running: nothing to roll back`);
      return EXIT.refused;
    }
    if (err instanceof WorkflowUpdateFailedError) {
      out(`rollback of ${app} refused: ${err.cause?.message ?? err.message}`);
      return EXIT.refused;
    }
    throw err;
  }
}
