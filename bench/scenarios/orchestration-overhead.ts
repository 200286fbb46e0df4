/** The orchestration overhead: deploys through the workflow against the same steps called in a plain script. */
import { resetApp } from '../../harness/host';
import { twoServiceSpec, withImages } from '../../harness/specs';
import type { TestWorker } from '../../harness/worker';
import type { DeploySpec } from '../../src/config/schema';
import type { Color } from '../../src/names';
import { activities, deployOnce, docker, log, median, round, router, V1, V2, withImage } from '../shared';

/** The same steps as the workflow, called in sequence without Temporal. */
async function plainScript(spec: DeploySpec, live: Color, deployId: string): Promise<number> {
  const started = Date.now();
  const target: Color = live === 'blue' ? 'green' : 'blue';
  const valid = await activities.validateSpec(spec);
  await activities.readRoute(valid.app);
  await activities.readColorImages(valid, live);
  await activities.preflightDocker(valid, target);
  await activities.checkRouterConfig(valid, { live: target, backup: live });
  await activities.deployColor(valid, target, deployId);
  await activities.healthCheck(valid, target);
  const baseline = await activities.measureBaseline(valid, live);
  await activities.switchTraffic(valid, { live: target, backup: live });
  await activities.verify(valid, target, baseline.p50Ms);
  await activities.switchTraffic(valid, { live: target, backup: null });
  await activities.retireColor(valid, live, valid.cleanup.previous, valid.cleanup.drain);
  return Date.now() - started;
}

export async function orchestrationOverhead(w: TestWorker) {
  const spec = withImages(twoServiceSpec('bench-overhead', 4760, { verify: { window: '2s', interval: '100ms' }, health: { interval: '200ms', successes: 3, deadline: '60s' } }), {});
  await resetApp(docker, router, spec.app);
  await deployOnce(w, spec);
  const workflowMs: number[] = [];
  const scriptMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    workflowMs.push((await deployOnce(w, withImage(spec, i % 2 ? V1 : V2))).totalMs);
    const live = (await router.readRoute(spec.app))!.live;
    scriptMs.push(await plainScript(withImage(spec, i % 2 ? V2 : V1), live, `script-${i}`));
  }
  await resetApp(docker, router, spec.app);
  const wf = median(workflowMs);
  const script = median(scriptMs);
  log(`workflow ${wf} ms vs plain script ${script} ms`);
  return { workflowMs, scriptMs, medianWorkflowMs: wf, medianScriptMs: script, overheadMs: wf - script, overheadPercent: round(((wf - script) / script) * 100) };
}

