import type { Client } from '@temporalio/client';
import { statusQuery } from '../../../workflows/messages';
import { loadDeploySpec } from '../../config/load';
import { awaitOutcome, formatMs, startDeploy } from '../deploy-client';
import { EXIT, type ExitCode } from '../exit-codes';
import type { DeployStatus } from '../../types';

export interface DeployOptions {
  file: string;
  images: Record<string, string>;
  wait: boolean;
  json: boolean;
  taskQueue: string;
  requestedBy?: string;
  out?: (line: string) => void;
}

/** Prints each phase when it ends, with its duration. */
function progressPrinter(out: (line: string) => void) {
  let printed = 0;
  return (status: DeployStatus) => {
    const { phases } = status;
    for (; printed < phases.length; printed++) {
      const entry = phases[printed]!;
      if (entry.durationMs === undefined) return;
      if (entry.phase !== 'done') out(`  ${entry.phase.padEnd(15)} ${formatMs(entry.durationMs)}`);
    }
  };
}

export async function deploy(client: Client, opts: DeployOptions): Promise<ExitCode> {
  const out = opts.out ?? ((line: string) => console.log(line));
  const spec = await loadDeploySpec(opts.file, opts.images);
  const handle = await startDeploy(client, spec, opts.taskQueue, { requestedBy: opts.requestedBy });
  if (!opts.wait) {
    out(opts.json ? JSON.stringify({ app: spec.app, workflowId: handle.workflowId, runId: handle.firstExecutionRunId }) : `started ${handle.workflowId} (run ${handle.firstExecutionRunId})`);
    return EXIT.ok;
  }
  if (!opts.json) out(`deploying ${spec.app} (workflow ${handle.workflowId}):`);
  const print = progressPrinter(out);
  let done = false;
  const poller = (async () => {
    while (!done) {
      const status = await handle.query(statusQuery).catch(() => null);
      if (status && !opts.json) print(status);
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  try {
    const outcome = await awaitOutcome(handle);
    done = true;
    await poller;
    if (opts.json) {
      out(JSON.stringify({ exitCode: outcome.exitCode, message: outcome.message, status: outcome.status }));
    } else {
      if (outcome.status) print(outcome.status);
      out(outcome.message);
    }
    return outcome.exitCode;
  } finally {
    done = true;
  }
}
