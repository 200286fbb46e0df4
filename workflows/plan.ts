/**
 * `greenlight plan` of a fleet: every host's Docker engine and router read through its own worker (the
 * CLI runs on one machine, or none of the hosts), all hosts at once. Reads only: nothing is changed on
 * any host, and a host that cannot be read is reported, not retried for long. Deterministic.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeploySpec } from '../src/config/schema';
import { messageOf } from './failures';
import { onHost } from './fleet';
import { quick } from './profiles';
import { activities, type HostTarget } from './steps';

/** One host's state as its worker read it (host/builders/plan.ts HostState). */
export type PlanHostState = Awaited<ReturnType<Activities['readPlanState']>>;

export interface PlanReadInput {
  app: string;
  /** Each host: where its worker runs, this spec and the live one as that host runs them. */
  hosts: Array<{ target: HostTarget; next: DeploySpec; live: DeploySpec | null }>;
}

/** A host's read: its state, or why it could not be read. */
export interface PlanRead {
  host: string | null;
  state: PlanHostState | null;
  error: string | null;
}

/** A read is a few Docker and file calls: one quick attempt and one retry, never the deploy's patience. */
const reading: ActivityOptions = { ...quick, startToCloseTimeout: '30s', retry: { ...quick.retry, maximumAttempts: 2 } };

export async function planReadWorkflow({ app, hosts }: PlanReadInput): Promise<PlanRead[]> {
  return Promise.all(
    hosts.map(async ({ target, next, live }) => {
      try {
        return { host: target.name, state: await activities(reading, `read ${app} for greenlight plan`, target).readPlanState(next, live), error: null };
      } catch (err) {
        // Named as a fleet step's failure is: a host whose worker did not pick the read up says so.
        return { host: target.name, state: null, error: target.name ? onHost(target, err) : messageOf(err) };
      }
    }),
  );
}
