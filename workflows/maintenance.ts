/**
 * Maintenance mode of an app on every host it runs on (`greenlight maintenance APP on|off`): nginx
 * answers its public routes with 503 + Retry-After and a page, without a reload, while the containers
 * keep running and a deploy can go on behind it. Either every host changes or none does: each host is
 * checked first (routed there, a router config with the maintenance lookup, nginx answering), then
 * changed; a host whose change fails has the others put back as they were. Deterministic.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { FAILURE_TYPES } from '../src/names';
import type { MaintenanceInput, MaintenanceResult, MaintenanceTarget } from '../src/types';
import { failureTypeOf, messageOf } from './failures';
import { eachHostToTheEnd, everyHost } from './fleet';
import { compensation, quick, routing } from './profiles';
import { activities } from './steps';

export async function maintenanceWorkflow(input: MaintenanceInput): Promise<MaintenanceResult> {
  const { app, change, targets } = input;
  // One instant for every host's "since" (the workflow's clock).
  const since = new Date().toISOString();
  const what = change.on ? `maintenance on (503, Retry-After ${change.retryAfter} s)` : 'maintenance off';
  const on = (target: MaintenanceTarget) => ({ app, ...(target.name ? { hosts: [{ name: target.name }] } : {}) });

  // 1. every host can take it: nothing changes anywhere unless all can.
  const before = await failAs('check', () => everyHost(targets, (target) => activities(quick, `can ${app}'s router take maintenance mode`, target).checkMaintenance(on(target))));

  // 2. every host changes; on a failure the hosts are put back as step 1 found them.
  try {
    const states = await everyHost(targets, (target) => activities(routing, `${app}: ${what}`, target).setMaintenance(on(target), change, since));
    return { app, on: change.on, hosts: targets.map((target, i) => ({ host: target.name, state: states[i]! })) };
  } catch (err) {
    const restored = await eachHostToTheEnd(targets, async (target) => {
      await activities(compensation, `${app}: maintenance back as it was`, target).restoreMaintenance(on(target), before[targets.indexOf(target)]!);
    }).then(
      () => 'every host was put back as it was',
      (restoreErr: unknown) => `putting the hosts back failed too (${messageOf(restoreErr)}): check \`greenlight status ${app}\` and turn maintenance on or off again`,
    );
    throw failure('change', err, restored);
  }
}

/** Runs `step`, throwing its failure as the workflow's (typed, non-retryable). */
async function failAs<T>(stage: 'check', step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw failure(stage, err, 'nothing was changed');
  }
}

/**
 * The workflow's failure: the step's type (PreflightError: the app cannot take maintenance mode on a
 * host, exit 2), else InfrastructureUnavailable (nginx unreachable, no worker for a host: exit 4).
 */
function failure(stage: 'check' | 'change', err: unknown, outcome: string): ApplicationFailure {
  const type = failureTypeOf(err) === FAILURE_TYPES.preflight ? FAILURE_TYPES.preflight : FAILURE_TYPES.infrastructure;
  return ApplicationFailure.create({ type, nonRetryable: true, message: `maintenance ${stage} failed: ${messageOf(err)}; ${outcome}` });
}
