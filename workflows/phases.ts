/**
 * The deploy's phases, one function each, in the order the deploy runs them. Each takes the deploy and
 * the host it works on: the `HostDeploy` records how far that host got, which is what compensation
 * (workflows/compensate.ts) undoes.
 */
import { ApplicationFailure, CancellationScope, patched, sleep } from '@temporalio/workflow';
import { FAILURE_TYPES, otherColor, PATCHES, type Color } from '../src/names';
import type { DeploySpec } from '../src/config/schema';
import { formatImages } from '../src/format';
import type { DeployInput, LatencyBaseline } from '../src/types';
import { activities } from './steps';
import { messageOf } from './failures';
import type { RollbackGate } from './gate';
import { dockerOps, quick, routing, watching } from './profiles';
import type { DeployTracker } from './tracker';

/** What every phase needs: the validated spec and the deploy's state. */
export interface Deploy {
  input: DeployInput;
  spec: DeploySpec;
  deployId: string;
  tracker: DeployTracker;
  gate: RollbackGate;
}

/** One Docker host's part of the deploy: its colors and how far it got. */
export interface HostDeploy {
  liveColor: Color | null;
  targetColor: Color;
  /** deploy-green began: the target color may have containers to remove. */
  deployed: boolean;
  /** The switch began: traffic may have to go back to the live color. */
  switched: boolean;
  baseline: LatencyBaseline | null;
}

/** 1. validate, part one: the spec, checked again by the one schema inside the worker. */
export async function checkSpec(input: DeployInput, gate: RollbackGate): Promise<DeploySpec> {
  return gate.unlessRolledBack(() => activities(quick, 'check the deploy spec').validateSpec(input.spec));
}

/** 1. validate, part two: the host's live color (from nginx), the target color, and every precondition. Touches nothing. */
export async function validateHost(d: Deploy): Promise<HostDeploy> {
  const { spec, gate, tracker } = d;
  const route = await gate.unlessRolledBack(() => activities(quick, `read the live route of ${spec.app} from nginx`).readRoute(spec.app));
  if (route?.backup) {
    throw ApplicationFailure.nonRetryable(
      `the router of ${spec.app} still has a backup color (${route.live} with ${route.backup} as backup): an earlier deploy did not finish; inspect with \`greenlight status ${spec.app}\``,
      FAILURE_TYPES.preflight,
    );
  }
  const liveColor = route?.live ?? null;
  const targetColor = liveColor ? otherColor(liveColor) : 'blue';
  tracker.status.liveColor = liveColor;
  tracker.status.targetColor = targetColor;
  if (liveColor) tracker.status.previousImages = await gate.unlessRolledBack(() => activities(quick, `read the images ${liveColor} runs`).readColorImages(spec, liveColor));
  await gate.unlessRolledBack(() => activities(quick, `images exist, ${targetColor} host ports free`).preflightDocker(spec, targetColor));
  await gate.unlessRolledBack(() => activities(quick, 'nginx -t of the config the switch will write').checkRouterConfig(spec, { live: targetColor, backup: liveColor }));
  const commands = spec.validate.commands;
  if (commands.length > 0) {
    const longest = Math.max(...commands.map((c) => c.timeout));
    const names = commands.map((c) => c.name).join(', ');
    await gate.unlessRolledBack(() => activities(dockerOps(longest * commands.length), `validation commands: ${names}`).runValidationCommands(spec, d.deployId));
  }
  return { liveColor, targetColor, deployed: false, switched: false, baseline: null };
}

/** 1b. migrate (optional): expand-only, so the live version keeps working on the new schema. Runs once. */
export async function migrate(d: Deploy): Promise<void> {
  const { spec, gate, tracker } = d;
  const migration = spec.migrate;
  if (!migration) return;
  tracker.enter('migrate', `${migration.run.join(' ')} in a one-off ${migration.service} container`);
  await gate.unlessRolledBack(() => activities(dockerOps(migration.timeout), `migrate: ${migration.run.join(' ')}`).runMigration(spec, d.deployId));
}

/** 2. deploy-green: the target color's containers; the live color is never touched. */
export async function deployGreen(d: Deploy, host: HostDeploy): Promise<void> {
  const { spec, gate, tracker } = d;
  tracker.enter('deploy-green', `creating and starting the ${host.targetColor} containers`);
  host.deployed = true; // a failure half-way still leaves containers to remove
  const summary = `start ${host.targetColor}: ${formatImages(tracker.status.images)}`;
  await gate.unlessRolledBack(() => activities(dockerOps(60_000), summary).deployColor(spec, host.targetColor, d.deployId, Boolean(d.input.restore)));
}

/** 3. health-check, directly on the new containers. */
export async function healthGate(d: Deploy, host: HostDeploy): Promise<void> {
  const { spec, gate, tracker } = d;
  tracker.enter('health-check', `${spec.health.successes} healthy rounds in a row from ${host.targetColor} (deadline ${spec.health.deadline} ms)`);
  await gate.unlessRolledBack(() => activities(watching(spec.health.deadline), `health gate of ${host.targetColor}`).healthCheck(spec, host.targetColor));
}

/** 4. the manual promotion gate (only with `promotion.manual`). */
export async function promotionGate(d: Deploy): Promise<void> {
  const { spec, gate, tracker } = d;
  if (!spec.promotion.manual) return;
  tracker.enter('promotion-gate', `\`greenlight promote ${spec.app}\` (or rollback) within ${spec.promotion.timeout} ms`);
  await gate.awaitPromotion(spec.promotion.timeout);
}

/** 5. switch: the latency baseline of the live color, then traffic to the new color with the previous one as nginx backup. */
export async function switchTraffic(d: Deploy, host: HostDeploy): Promise<void> {
  const { spec, gate, tracker } = d;
  const { liveColor, targetColor } = host;
  tracker.enter('switch', `nginx to send ${spec.app} to ${targetColor}`);
  if (liveColor) host.baseline = await gate.unlessRolledBack(() => activities(quick, `latency baseline of ${liveColor}`).measureBaseline(spec, liveColor));
  host.switched = true; // a switch that fails half-way is switched back all the same (idempotent)
  const summary = `traffic to ${targetColor}${liveColor ? `, ${liveColor} as backup` : ''}`;
  await gate.unlessRolledBack(() => activities(routing, summary).switchTraffic(spec, { live: targetColor, backup: liveColor }));
}

/** 6. verify, probing the new color directly and through the router. */
export async function verify(d: Deploy, host: HostDeploy): Promise<void> {
  const { spec, gate, tracker } = d;
  const { targetColor } = host;
  tracker.enter('verify', `${spec.verify.window} ms of healthy traffic on ${targetColor}`);
  const baselineP50Ms = host.baseline?.p50Ms ?? null;
  tracker.status.verify = await gate.unlessRolledBack(() => activities(watching(spec.verify.window), `verify ${targetColor} for ${spec.verify.window} ms`).verify(spec, targetColor, baselineP50Ms));
}

/**
 * 7. cleanup: the backup dropped from the route, the previous color drained and retired. Past the point
 * of no return, so a cancellation does not interrupt it and a failure is a warning: the new color serves.
 */
export async function cleanup(d: Deploy, host: HostDeploy): Promise<void> {
  const { spec, tracker } = d;
  const { liveColor, targetColor } = host;
  const { drain, previous } = spec.cleanup;
  tracker.enter('cleanup', `draining ${liveColor ?? 'nothing'} for ${drain} ms, then ${previous}`);
  tracker.status.liveColor = targetColor;
  await CancellationScope.nonCancellable(async () => {
    try {
      await activities(quick, `${targetColor} only (backup dropped)`).switchTraffic(spec, { live: targetColor, backup: null });
      if (!liveColor) return;
      // The drain runs inside retireColor: a server timer shorter than 1 s fires only after about
      // 1 s (measured, docs/design-notes.md), which made a 500 ms drain cost twice its length.
      // Histories recorded before this change drained with a workflow timer and replay that way.
      if (patched(PATCHES.drainInRetire)) {
        await activities(dockerOps(drain), `drain ${liveColor} for ${drain} ms, then ${previous} it`).retireColor(spec, liveColor, previous, drain);
      } else {
        await sleep(drain, { summary: `drain ${liveColor}` });
        await activities(dockerOps(60_000), `${previous} ${liveColor}`).retireColor(spec, liveColor, previous);
      }
    } catch (err) {
      tracker.status.lastError = `deploy succeeded but cleanup did not finish: ${messageOf(err)}`;
    }
  });
}
