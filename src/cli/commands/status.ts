import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { statusQuery } from '../../../workflows/messages';
import { deployWorkflowId } from '../../names';
import { formatMs } from '../deploy-client';
import { EXIT, type ExitCode } from '../exit-codes';

/** The last (or running) deploy of `app`, from the workflow's status query. */
export async function status(client: Client, app: string, json: boolean, out: (line: string) => void = console.log): Promise<ExitCode> {
  const handle = client.workflow.getHandle(deployWorkflowId(app));
  try {
    const [description, current] = await Promise.all([handle.describe(), handle.query(statusQuery)]);
    if (json) {
      out(JSON.stringify({ workflowStatus: description.status.name, ...current }));
      return EXIT.ok;
    }
    out(`${app}: ${current.liveColor ?? 'nothing'} live; last deploy ${description.status.name.toLowerCase()} (${current.outcome}), phase ${current.phase}`);
    out(`  images: ${Object.entries(current.images).map(([s, i]) => `${s}=${i}`).join(', ')}`);
    if (current.waitingFor) out(`  waiting for: ${current.waitingFor}`);
    for (const p of current.phases) if (p.phase !== 'done') out(`  ${p.phase.padEnd(15)} ${formatMs(p.durationMs)}`);
    if (current.rollbackReason) out(`  rollback: ${current.rollbackReason}`);
    if (current.lastError) out(`  error: ${current.lastError}`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      out(`no deploy of ${app} found`);
      return EXIT.refused;
    }
    throw err;
  }
}
