/**
 * The deploy workflow: (deploy window) -> validate -> migrate -> deploy-green -> health-check -> (preview) -> (promotion gate) ->
 * (canary steps) -> switch -> verify -> cleanup -> release record -> (monitor), with `hooks:` before deploy-green, before the switch and
 * after the outcome, with saga compensation on any failure, on a rollback request, on the deploy's own
 * time limit and on cancellation. Deterministic: imports only the workflow SDK, wiring names and types.
 *
 * Each phase is one function (workflows/phases.ts) over the deploy and its hosts (one, or every host of a
 * fleet: all switch or none, and all roll back together); compensation lives in
 * workflows/compensate.ts, the rollback/promote messages in workflows/gate.ts, the status in tracker.ts.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { DeployInput, DeployResult } from '../src/types';
import { endBeforeDeploying, rollBack } from './compensate';
import { RollbackGate } from './gate';
import { canarySteps, checkSpec, cleanup, closePreview, deployGreen, deployWindow, handOverSingletons, healthGate, migrate, openPreview, postHooks, preHooks, promotionGate, pruneImages, recordRelease, switchTraffic, validateHosts, verify, type Deploy, type HostDeploy } from './phases';
import { endMonitor, startMonitor } from './monitoring';
import { notifyEvent } from './notify';
import { DeployTracker } from './tracker';

export async function deployWorkflow(input: DeployInput): Promise<DeployResult> {
  const deployId = workflowInfo().runId;
  const tracker = new DeployTracker(input, deployId);
  const gate = new RollbackGate(tracker);

  let deploy: Deploy;
  let hosts: HostDeploy[];
  try {
    // 0. the deploy window (only with `windows`): wait for it or refuse; the time limit counts from its opening.
    await deployWindow(input, tracker, gate);
    gate.limitTime(input.spec.timeout);
    // 1. validate: nothing is touched, so a failure here ends the deploy without compensation.
    tracker.enter('validate', 'spec, images, ports, router config and validation commands');
    const validatedSince = Date.now();
    deploy = { input, spec: await checkSpec(input, gate), deployId, tracker, gate };
    hosts = await validateHosts(deploy);
    // The app's monitor ends before any host changes (this deploy replaces it).
    await endMonitor(deploy, hosts, validatedSince);
  } catch (err) {
    return endBeforeDeploying(tracker, err);
  }
  // `notify:` webhooks hear of the start without the deploy waiting for them.
  deploy.started = notifyEvent(deploy, hosts, 'started');

  // 2-6. from here on the hosts change: any failure, rollback request or cancellation compensates.
  try {
    await migrate(deploy, hosts);
    await preHooks(deploy, hosts, 'preDeploy');
    await deployGreen(deploy, hosts);
    await healthGate(deploy, hosts);
    await openPreview(deploy, hosts);
    await promotionGate(deploy);
    await canarySteps(deploy, hosts);
    await closePreview(deploy, hosts);
    await preHooks(deploy, hosts, 'preSwitch');
    await switchTraffic(deploy, hosts);
    await handOverSingletons(deploy, hosts);
    await verify(deploy, hosts);
    // The last moment a rollback is accepted: past it, cleanup is the point of no return.
    gate.throwIfRequested();
  } catch (err) {
    return rollBack(deploy, hosts, err);
  }

  // 7. cleanup: past the point of no return.
  await cleanup(deploy, hosts);
  // 8. the release, on record for `greenlight releases` and `rollback --to`.
  await recordRelease(deploy, hosts);
  // 9. `retain`: images of releases outside the retained ones off every host.
  await pruneImages(deploy, hosts);
  // 10. postDeploy hooks: a failure is a warning, the deploy succeeded.
  await postHooks(deploy, hosts, 'postDeploy');
  // 11. `monitor:` watches the new color from now until the next deploy (and rolls back within the bake).
  await startMonitor(deploy, hosts);
  await deploy.started;
  await notifyEvent(deploy, hosts, 'succeeded', null, 'done');
  tracker.finish('succeeded');
  return tracker.status;
}
