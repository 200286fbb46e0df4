/**
 * The self-hosted Temporal cluster of scripts/temporal-selfhosted.sh (temporal-server on its own
 * PostgreSQL, beside the dev server): where it answers, whether it does, and a crash-restart of it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { GREENLIGHT_HOME } from './paths';
import { runScript, waitForPortClosed } from './processes';

export const SELFHOSTED_PORT = Number(process.env.GL_SELFHOSTED_PORT ?? 7450);
export const SELFHOSTED_ADDRESS = `127.0.0.1:${SELFHOSTED_PORT}`;
const STATE = join(GREENLIGHT_HOME, 'temporal-selfhosted');

export interface SelfHostedInfo {
  serverVersion: string;
  persistenceStore: string;
  visibilityStore: string;
}

/**
 * Connects to the self-hosted server and reads what it runs on; throws, saying how to start it, when it
 * does not answer (the e2e file fails rather than skip: CI starts the server before the tests).
 */
export async function connectSelfHosted(): Promise<{ connection: Connection; info: SelfHostedInfo }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: SELFHOSTED_ADDRESS, connectTimeout: 10_000 });
    const info = await connection.workflowService.getClusterInfo({});
    return { connection, info: { serverVersion: info.serverVersion ?? '', persistenceStore: info.persistenceStore ?? '', visibilityStore: info.visibilityStore ?? '' } };
  } catch (err) {
    throw new Error(
      `the self-hosted Temporal server does not answer on ${SELFHOSTED_ADDRESS} (${(err as Error).message}): ` +
        `start it with \`bash scripts/temporal-selfhosted.sh\` (GREENLIGHT_HOME=${GREENLIGHT_HOME}); scripts/test.sh and .ci/run do`,
      { cause: err },
    );
  }
}

/**
 * SIGKILLs the self-hosted server (a crash: no graceful shutdown, PostgreSQL keeps what was committed),
 * waits `downMs` after its port closed, and starts it again through the script.
 */
export async function crashRestartSelfHosted(downMs = 3_000): Promise<{ downForMs: number; startMs: number }> {
  const pid = Number(readFileSync(join(STATE, 'server.pid'), 'utf8').trim());
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitForPortClosed(SELFHOSTED_PORT);
  await new Promise((r) => setTimeout(r, downMs));
  const startedAt = Date.now();
  await runScript('temporal-selfhosted.sh');
  return { downForMs: Date.now() - killedAt, startMs: Date.now() - startedAt };
}
