/**
 * The deploy's phases, one function each, in the order the deploy runs them. Each runs on every host of
 * the deploy (one host, or every host of a fleet at once); a `HostDeploy` records how far its host got,
 * which is what compensation (workflows/compensate.ts) undoes.
 */
import { ApplicationFailure, CancellationScope, patched, sleep, workflowInfo } from '@temporalio/workflow';
import { fleetTargets } from '../src/config/hosts';
import { FAILURE_TYPES, otherColor, PATCHES, type Color } from '../src/names';
import type { DeploySpec } from '../src/config/schema';
import { singletonServices } from '../src/config/services';
import { nextAllowed } from '../src/config/windows';
import { formatImages } from '../src/format';
import type { MonitorInput } from '../src/monitor';
import type { CanaryStepReport, DeployInput, HookFacts, HookReport, HookStage, HostStatus, LatencyBaseline } from '../src/types';
import { messageOf } from './failures';
import { eachHostToTheEnd, everyHost } from './fleet';
import type { RollbackGate } from './gate';
import { dockerOps, quick, routing, watching } from './profiles';
import { activities, type HostTarget } from './steps';
import type { DeployTracker } from './tracker';

/** What every phase needs: the validated spec and the deploy's state. */
export interface Deploy {
  input: DeployInput;
  spec: DeploySpec;
  deployId: string;
  tracker: DeployTracker;
  gate: RollbackGate;
  /** The `started` notification (`notify:`), sent beside the deploy and awaited at its end. */
  started?: Promise<void>;
  /** The app's monitor this deploy ended at validate (workflows/monitoring.ts): started again if the deploy rolls back. */
  endedMonitor?: MonitorInput | null;
}

/** One Docker host's part of the deploy: where it runs, its colors, and how far it got. */
export interface HostDeploy extends HostTarget {
  /** The spec as this host runs it (its router port and host ports). */
  spec: DeploySpec;
  liveColor: Color | null;
  targetColor: Color;
  /** deploy-green began: the target color may have containers to remove. */
  deployed: boolean;
  /** The switch (or a canary step) began: traffic may have to go back to the live color. */
  switched: boolean;
  /** A canary step routed a share to the new color, and the full switch has not begun: switchBack undoes the canary's config. */
  canaried: boolean;
  /** The new color's singletons (`overlap: false`) wait, created but stopped, for the handover after the switch. */
  holdSingletons: boolean;
  /** The handover began: the live color's singletons may be stopped and the new color's running. */
  handedOver: boolean;
  /** Opening the preview began (`preview`): compensation closes it. */
  previewOpened?: boolean;
  baseline: LatencyBaseline | null;
  /** This host's line in a fleet deploy's status (null for a one-host deploy). */
  status: HostStatus | null;
}

/**
 * How far ahead of the switch steps' scheduling a fleet's hosts flip together: more than a step takes
 * to reach a busy host's worker (up to ~80 ms measured with 4 hosts on 2 cores), little against a deploy.
 */
const FLIP_LEAD_MS = 250;

/** "green", or "green on web-1, blue on web-2" when the hosts of a fleet differ. */
export function colorsOf(hosts: readonly HostDeploy[], pick: (host: HostDeploy) => Color | null): string {
  const colors = new Set(hosts.map(pick));
  if (colors.size === 1) return String(hosts.map(pick)[0] ?? 'nothing');
  return hosts.map((host) => `${pick(host) ?? 'nothing'} on ${host.name}`).join(', ');
}

/**
 * 0. the deploy window (`windows`), before anything is read or touched: inside it the deploy goes on;
 * outside it waits on a durable timer until it opens (a rollback or cancellation ends the wait, and
 * the deploy, with nothing changed), or is refused (`outside: refuse`, or windows that never open).
 * `--override` deploys now and is recorded. Asked only of a spec with windows: other histories replay.
 */
export async function deployWindow(input: DeployInput, tracker: DeployTracker, gate: RollbackGate): Promise<void> {
  const windows = input.spec.windows;
  if (!windows || !patched(PATCHES.deployWindows)) return;
  const now = Date.now();
  const opens = nextAllowed(windows, now);
  const override = input.window?.override ?? null;
  const status = (tracker.status.window = { startedInside: opens === now, opensAt: opens === null || opens === now ? null : new Date(opens).toISOString(), override: opens === now ? null : override });
  if (opens === now || override) return;
  const where = `${windows.timeZone} time`;
  if (opens === null) throw ApplicationFailure.nonRetryable(`outside the deploy window: the windows never open (deny covers every allow range, ${where}); fix windows in the spec, or pass --override --reason "..."`, FAILURE_TYPES.outsideWindow);
  const outside = input.window?.outside ?? windows.outside;
  if (outside === 'refuse') {
    throw ApplicationFailure.nonRetryable(
      `outside the deploy window: it opens at ${status.opensAt} (${where}); ${input.window?.outside ? '--outside-window refuse' : 'windows.outside: refuse'}: deploy then, or pass --override --reason "..."`,
      FAILURE_TYPES.outsideWindow,
    );
  }
  tracker.enter('window', `the deploy window until ${status.opensAt}`);
  await gate.awaitWindow(opens - now);
}

/** 1. validate, part one: the spec, checked again by the one schema inside a worker (a fleet's first host's). */
export async function checkSpec(input: DeployInput, gate: RollbackGate): Promise<DeploySpec> {
  const first = deployTargets(input.spec)[0];
  return gate.unlessRolledBack(() => activities(quick, 'check the deploy spec', first).validateSpec(input.spec));
}

/** Where the deploy runs: every host of a fleet (its own spec and queue), or the worker on the deploy's own queue. */
function deployTargets(spec: DeploySpec): Array<HostTarget & { spec: DeploySpec }> {
  const fleet = fleetTargets(spec);
  return fleet.length === 0 ? [{ name: null, spec }] : fleet;
}

/**
 * 1. validate, part two, on every host at once: its live color (from nginx), its target color, and every
 * precondition (images on that host, ports, nginx -t); then the validation commands, once. Touches nothing.
 */
export async function validateHosts(d: Deploy): Promise<HostDeploy[]> {
  const { spec, tracker } = d;
  const hosts = await everyHost(deployTargets(spec), (target) => validateHost(d, target));
  const first = hosts[0]!;
  if (first.status) {
    // A fleet: the deploy's own colors and previous images are the first host's (normally every host's).
    tracker.status.hosts = hosts.map((host) => host.status!);
    tracker.status.liveColor = first.liveColor;
    tracker.status.targetColor = first.targetColor;
    tracker.status.previousImages = first.status.previousImages;
  }
  const commands = spec.validate.commands;
  if (commands.length > 0) {
    const longest = Math.max(...commands.map((c) => c.timeout));
    const names = commands.map((c) => c.name).join(', ');
    await d.gate.unlessRolledBack(() => activities(dockerOps(longest * commands.length), `validation commands: ${names}`, hosts[0]).runValidationCommands(hosts[0]!.spec, d.deployId));
  }
  return hosts;
}

/**
 * A one-host deploy first asks which Docker engine runs it; every later step carries that engine and is
 * refused by a worker on another (several machines' workers may poll one queue). A fleet's hosts have
 * their own queues already. Deploys started before this (no patch marker) run unpinned, as they did.
 */
async function pinToEngine(gate: RollbackGate, target: HostTarget & { spec: DeploySpec }): Promise<HostTarget & { spec: DeploySpec }> {
  if (target.name !== null || !patched(PATCHES.oneHostPerDeploy)) return target;
  const engine = await gate.unlessRolledBack(() => activities(quick, 'which Docker host runs this deploy', target).identifyHost());
  return { ...target, engine };
}

async function validateHost(d: Deploy, on: HostTarget & { spec: DeploySpec }): Promise<HostDeploy> {
  const { gate, tracker } = d;
  const target = await pinToEngine(gate, on);
  const { spec } = target;
  const fleet = target.name !== null;
  const route = await gate.unlessRolledBack(() => activities(quick, `read the live route of ${spec.app} from nginx`, target).readRoute(fleet ? spec : spec.app));
  if (route?.backup) {
    const where = fleet ? `on host ${target.name} ` : '';
    throw ApplicationFailure.nonRetryable(
      `the router of ${spec.app} ${where}still has a backup color (${route.live} with ${route.backup} as backup): an earlier deploy did not finish; inspect with \`greenlight status ${spec.app}\``,
      FAILURE_TYPES.preflight,
    );
  }
  const liveColor = route?.live ?? null;
  const targetColor = liveColor ? otherColor(liveColor) : 'blue';
  const status: HostStatus | null = fleet ? { name: target.name!, liveColor, targetColor, previousImages: {}, switchedAt: null, lastError: null } : null;
  if (!status) {
    tracker.status.liveColor = liveColor;
    tracker.status.targetColor = targetColor;
  }
  if (liveColor) {
    const images = await gate.unlessRolledBack(() => activities(quick, `read the images ${liveColor} runs`, target).readColorImages(spec, liveColor));
    if (status) status.previousImages = images;
    else tracker.status.previousImages = images;
  }
  await gate.unlessRolledBack(() => activities(quick, `images exist, ${targetColor} host ports free`, target).preflightDocker(spec, targetColor));
  await gate.unlessRolledBack(() => activities(quick, 'nginx -t of the config the switch will write', target).checkRouterConfig(spec, { live: targetColor, backup: liveColor }));
  return { ...target, liveColor, targetColor, deployed: false, switched: false, canaried: false, holdSingletons: false, handedOver: false, baseline: null, status };
}

/** 1b. migrate (optional): expand-only, so the live version keeps working on the new schema. Once, on the first host. */
export async function migrate(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, gate, tracker } = d;
  const migration = spec.migrate;
  if (!migration) return;
  tracker.enter('migrate', `${migration.run.join(' ')} in a one-off ${migration.service} container`);
  const first = hosts[0]!;
  await gate.unlessRolledBack(() => activities(dockerOps(migration.timeout), `migrate: ${migration.run.join(' ')}`, first).runMigration(first.spec, d.deployId));
}

/**
 * Whether the spec has hooks of this stage. The patch is asked only then, so a deploy without them
 * (every recorded history) replays as it ran.
 */
function hasHooks(spec: DeploySpec, stage: HookStage): boolean {
  return (spec.hooks?.[stage].length ?? 0) > 0 && patched(PATCHES.deployHooks);
}

/** Runs one stage's hooks once, on the first host (as validation commands and migrate), and records how they ran. */
async function runStageHooks(d: Deploy, hosts: readonly HostDeploy[], stage: HookStage, outcome: HookFacts['outcome']): Promise<HookReport[]> {
  const { spec, tracker } = d;
  const hooks = spec.hooks![stage];
  const first = hosts[0]!;
  const facts: HookFacts = { color: first.targetColor, previousColor: first.liveColor, images: tracker.status.images, previousImages: tracker.status.previousImages, outcome };
  const names = hooks.map((h) => h.name).join(', ');
  const total = hooks.reduce((sum, h) => sum + h.timeout, 0);
  const step = activities(dockerOps(total), `${stage} hooks: ${names}`, first);
  const record = (reports: HookReport[]) => (tracker.status.hooks = [...(tracker.status.hooks ?? []), ...reports]);
  try {
    const reports = outcome ? await step.runHooks(first.spec, stage, facts, d.deployId) : await d.gate.unlessRolledBack(() => step.runHooks(first.spec, stage, facts, d.deployId));
    record(reports);
    return reports;
  } catch (err) {
    // A failing hook's reports so far (its own last) travel in the failure's details.
    const details = (err as { cause?: { details?: unknown[] } }).cause?.details?.[0];
    if (Array.isArray(details)) record(details as HookReport[]);
    throw err;
  }
}

/**
 * 1c / 4c. preDeploy (before deploy-green, nothing live touched yet) and preSwitch (after every gate,
 * before the switch) hooks: a failing one rolls the deploy back like a failed gate, naming the hook.
 */
export async function preHooks(d: Deploy, hosts: readonly HostDeploy[], stage: 'preDeploy' | 'preSwitch'): Promise<void> {
  if (!hasHooks(d.spec, stage)) return;
  d.tracker.enter('pre-hooks', `${stage} hooks ${d.spec.hooks![stage].map((h) => h.name).join(', ')} in one-off containers of the new image`);
  await runStageHooks(d, hosts, stage, null);
}

/**
 * 8. postDeploy (after cleanup) and postRollback (after a compensation that restored the previous
 * color) hooks: the outcome is settled, so a failure is a warning in lastError, never a different outcome.
 */
export async function postHooks(d: Deploy, hosts: readonly HostDeploy[], stage: 'postDeploy' | 'postRollback'): Promise<void> {
  if (!hasHooks(d.spec, stage)) return;
  const outcome = stage === 'postDeploy' ? 'succeeded' : 'rolled-back';
  d.tracker.enter('post-hooks', `${stage} hooks ${d.spec.hooks![stage].map((h) => h.name).join(', ')} in one-off containers of the ${stage === 'postDeploy' ? 'new' : 'restored'} image`);
  await CancellationScope.nonCancellable(async () => {
    try {
      await runStageHooks(d, hosts, stage, outcome);
    } catch (err) {
      const warning = `${outcome === 'succeeded' ? 'deploy succeeded' : 'rolled back'} but a ${stage} hook failed: ${messageOf(err)}`;
      d.tracker.warn(warning);
    }
  });
}

/** 2. deploy-green: the target color's containers on every host; a live color is never touched. */
export async function deployGreen(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, gate, tracker } = d;
  tracker.enter('deploy-green', `creating and starting the ${colorsOf(hosts, (h) => h.targetColor)} containers`);
  // Singletons never run in both colors: where one is live, the new one starts at the handover. Asked
  // only of a spec with singletons, so every other deploy's history is as it was.
  const handover = singletonServices(spec).length > 0 && hosts.some((h) => h.liveColor !== null) && patched(PATCHES.singletonHandover);
  await everyHost(hosts, async (host) => {
    host.deployed = true; // a failure half-way still leaves containers to remove
    host.holdSingletons = handover && host.liveColor !== null;
    const summary = `start ${host.targetColor}${host.holdSingletons ? ` (singletons ${singletonServices(spec).join(', ')} at the handover)` : ''}: ${formatImages(tracker.status.images)}`;
    const step = activities(dockerOps(60_000), summary, host);
    await gate.unlessRolledBack(() =>
      host.holdSingletons ? step.deployColor(host.spec, host.targetColor, d.deployId, Boolean(d.input.restore), true) : step.deployColor(host.spec, host.targetColor, d.deployId, Boolean(d.input.restore)),
    );
  });
}

/** 3. health-check, directly on the new containers of every host. */
export async function healthGate(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, gate, tracker } = d;
  tracker.enter('health-check', `${spec.health.successes} healthy rounds in a row from ${colorsOf(hosts, (h) => h.targetColor)} (deadline ${spec.health.deadline} ms)`);
  await everyHost(hosts, (host) => {
    const step = activities(watching(spec.health.deadline), `health gate of ${host.targetColor}`, host);
    if (!host.holdSingletons) return gate.unlessRolledBack(() => step.healthCheck(host.spec, host.targetColor));
    // The held singletons are checked at their handover.
    const started = Object.keys(spec.services).filter((service) => !singletonServices(spec).includes(service));
    return gate.unlessRolledBack(() => step.healthCheck(host.spec, host.targetColor, started));
  });
}

/**
 * 3b. the preview (`preview`), on every host alike: the router serves the new color on the preview port
 * while the public port keeps the live one (one reload where the preview's config is new or changed),
 * then `preview.checks`, once, on the first host, against its preview; a failing check rolls back like
 * a failed health gate. It stays open through the promotion gate and the canary steps; closePreview
 * closes it at the switch, compensation on a rollback. Asked only of a spec with `preview`.
 */
export async function openPreview(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, gate, tracker } = d;
  const preview = spec.preview;
  if (!preview || !patched(PATCHES.previewRoute)) return;
  const colors = colorsOf(hosts, (h) => h.targetColor);
  const names = preview.checks.map((check) => check.name).join(', ');
  tracker.enter('preview', `the preview of ${colors} on port ${preview.port}${names ? `, then preview checks: ${names}` : ''}`);
  const opened = await everyHost(hosts, (host) => {
    host.previewOpened = true; // a failure half-way may still leave it open: compensation closes it
    return gate.unlessRolledBack(() => activities(routing, `open the preview of ${host.targetColor} on port ${preview.port}`, host).openPreview(host.spec, host.targetColor));
  });
  tracker.status.preview = { url: opened[0]!.url, color: opened[0]!.color };
  if (preview.checks.length === 0) return;
  const first = hosts[0]!;
  const longest = Math.max(...preview.checks.map((c) => c.timeout));
  await gate.unlessRolledBack(() => activities(dockerOps(longest * preview.checks.length), `preview checks: ${names}`, first).runPreviewChecks(first.spec, d.deployId));
}

/** 4c. the preview closes as the new color takes the public port (every host; idempotent). */
export async function closePreview(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const open = hosts.filter((h) => h.previewOpened);
  if (open.length === 0) return;
  await everyHost(open, async (host) => {
    await d.gate.unlessRolledBack(() => activities(routing, 'close the preview', host).closePreview(host.spec));
    host.previewOpened = false; // closed: compensation has nothing to close (a first deploy's goes with its route)
  });
  d.tracker.status.preview = null;
}

/** 4. the manual promotion gate (only with `promotion.manual`). */
export async function promotionGate(d: Deploy): Promise<void> {
  const { spec, gate, tracker } = d;
  if (!spec.promotion.manual) return;
  tracker.enter('promotion-gate', `\`greenlight promote ${spec.app}\` (or rollback) within ${spec.promotion.timeout} ms`);
  await gate.awaitPromotion(spec.promotion.timeout);
}

/**
 * 4b. canary steps (`strategy.canary`), on every host with a live color at once: each step sends its
 * weight of requests to the new color (the live one as its backup) and judges the new color's real
 * traffic against the live color's over the step; a failing step rolls every host back, a manual one
 * waits for `greenlight promote` after its pause. A first deploy has nothing to compare with, and a
 * restore brings back what served before: both switch at once.
 */
export async function canarySteps(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, gate, tracker } = d;
  const canary = spec.strategy?.canary;
  const live = hosts.filter((h) => h.liveColor !== null);
  // A restore (`greenlight rollback` after a deploy) brings back what already served: no canary, at once.
  if (!canary || live.length === 0 || d.input.restore || !patched(PATCHES.canarySteps)) return;
  const status = (tracker.status.canary = { steps: canary.steps.length, step: 0, weight: 0, sticky: canary.sticky, passed: [] as CanaryStepReport[] });
  for (const [index, step] of canary.steps.entries()) {
    const number = index + 1;
    status.step = number;
    status.weight = step.weight;
    tracker.enter('canary', `step ${number} of ${canary.steps.length}: ${step.weight} % of requests on ${colorsOf(live, (h) => h.targetColor)} for ${step.pause} ms, judged on real traffic`);
    const reports = await everyHost(live, (host) => {
      host.switched = true; // the config now names this spec's routes: compensation switches back
      host.canaried = true;
      const route = { stable: host.liveColor!, canary: host.targetColor, weight: step.weight, sticky: canary.sticky };
      // Abandoned at once on a rollback, as verify is: its later readings never write over the switch back.
      return gate.unlessRolledBack(() => activities(watching(step.pause), `canary step ${number}: ${step.weight} % to ${host.targetColor}`, host).canaryStep(host.spec, route, number, step.pause));
    });
    status.passed.push(reports[0]!);
    if (step.manual) {
      tracker.enter('promotion-gate', `\`greenlight promote ${spec.app}\` (or rollback) after canary step ${number} (${step.weight} %), within ${spec.promotion.timeout} ms`);
      await gate.awaitPromotion(spec.promotion.timeout);
    }
  }
}

/**
 * 5. switch, all hosts or none: only once every host passed its health gate; the latency baseline of
 * every live color first, then traffic to the new color with the previous one as nginx backup, on every
 * host at once. A host whose switch fails fails the deploy, and compensation switches every host back.
 */
export async function switchTraffic(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, gate, tracker } = d;
  tracker.enter('switch', `nginx to send ${spec.app} to ${colorsOf(hosts, (h) => h.targetColor)}`);
  await everyHost(hosts, async (host) => {
    const live = host.liveColor;
    if (live) host.baseline = await gate.unlessRolledBack(() => activities(quick, `latency baseline of ${live}`, host).measureBaseline(host.spec, live));
  });
  if (hosts.length > 1) {
    // nginx -t, the config swap and any reload first, on every host: the switches that follow are
    // one in-memory write each, so the hosts take the new route within milliseconds of each other.
    await everyHost(hosts, async (host) => {
      host.switched = true; // the config now names the new color: compensation rewrites it
      await gate.unlessRolledBack(() => activities(routing, `prepare the switch to ${host.targetColor} (nginx -t, config)`, host).prepareSwitch(host.spec, { live: host.targetColor, backup: host.liveColor }));
    });
  }
  // Every host flips at the same instant, a little ahead: the steps reach their hosts at different times.
  const flipAt = hosts.length > 1 ? Date.now() + FLIP_LEAD_MS : undefined;
  const switched = await everyHost(hosts, async (host) => {
    const { liveColor, targetColor } = host;
    host.switched = true; // a switch that fails half-way is switched back all the same (idempotent)
    host.canaried = false;
    const summary = `traffic to ${targetColor}${liveColor ? `, ${liveColor} as backup` : ''}`;
    const route = { live: targetColor, backup: liveColor };
    const step = activities(routing, summary, host);
    // One host: the call it always made (no flip instant), so its history stays the same.
    const result = await gate.unlessRolledBack(() => (flipAt === undefined ? step.switchTraffic(host.spec, route) : step.switchTraffic(host.spec, route, flipAt)));
    if (host.status) host.status.switchedAt = result.at ?? null;
    return result.at ?? null;
  });
  if (hosts.length > 1) {
    const times = switched.filter((at): at is number => at !== null);
    tracker.status.switchSkewMs = times.length === hosts.length ? Math.max(...times) - Math.min(...times) : null;
  }
}

/**
 * 5b. the singleton handover, on every host whose singletons were held, once traffic is on the new
 * color: the old singleton gets SIGTERM and its stopTimeout to finish its job, then the new one starts
 * and must pass its health check (workflows/compensate.ts hands them back on a rollback).
 */
export async function handOverSingletons(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, gate, tracker } = d;
  const singletons = singletonServices(spec);
  const held = hosts.filter((h) => h.holdSingletons);
  if (held.length === 0) return;
  const longestMs = singletons.reduce((sum, service) => sum + (spec.services[service]!.stopTimeout ?? 10_000) + spec.health.deadline, 0);
  const reports = await everyHost(held, (host) => {
    host.handedOver = true; // the old singleton may be stopped from here on: compensation hands back
    const summary = `hand ${singletons.join(', ')} over from ${host.liveColor} to ${host.targetColor} (stop, then start)`;
    return gate.unlessRolledBack(() => activities(dockerOps(longestMs), summary, host).handOverSingletons(host.spec, host.liveColor!, host.targetColor));
  });
  tracker.status.handover = reports[0]!;
}

/** 6. verify on every host, probing the new color directly and through that host's router; any host failing rolls every host back. */
export async function verify(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, gate, tracker } = d;
  tracker.enter('verify', `${spec.verify.window} ms of healthy traffic on ${colorsOf(hosts, (h) => h.targetColor)}`);
  const reports = await everyHost(hosts, (host) =>
    gate.unlessRolledBack(() => activities(watching(spec.verify.window), `verify ${host.targetColor} for ${spec.verify.window} ms`, host).verify(host.spec, host.targetColor, host.baseline?.p50Ms ?? null)),
  );
  tracker.status.verify = reports[0]!;
}

/**
 * 7. cleanup on every host: the backup dropped from the route, the previous color drained and retired.
 * Past the point of no return, so a cancellation does not interrupt it and a failure is a warning
 * (naming the host in a fleet): the new color serves.
 */
export async function cleanup(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, tracker } = d;
  const { drain, previous } = spec.cleanup;
  tracker.enter('cleanup', `draining ${colorsOf(hosts, (h) => h.liveColor)} (at most ${drain} ms), then ${previous}`);
  tracker.status.liveColor = hosts[0]!.targetColor;
  const warnings: string[] = [];
  // `monitor.bake` keeps the previous color running, except after a restore: its previous color is the one it undid.
  const bake = (spec.monitor?.bake ?? 0) > 0 && !d.input.restore;
  await CancellationScope.nonCancellable(() =>
    eachHostToTheEnd(hosts, async (host) => {
      if (host.status) host.status.liveColor = host.targetColor;
      try {
        await retire(host, drain, previous, bake);
      } catch (err) {
        const warning = `deploy succeeded but cleanup did not finish${host.name ? ` on ${host.name}` : ''}: ${messageOf(err)}`;
        if (host.status) host.status.lastError = warning;
        warnings.push(warning);
      }
    }),
  );
  if (warnings.length > 0) tracker.status.lastError = warnings.join('; ');
}

async function retire(host: HostDeploy, drain: number, previous: DeploySpec['cleanup']['previous'], bake: boolean): Promise<void> {
  const { spec, liveColor, targetColor } = host;
  await activities(quick, `${targetColor} only (backup dropped)`, host).switchTraffic(spec, { live: targetColor, backup: null });
  if (!liveColor) return;
  // `monitor.bake`: the previous color keeps running for the bake; the monitor retires it when the bake ends.
  if (bake && patched(PATCHES.monitorBake)) return;
  // The drain runs inside retireColor: a server timer shorter than 1 s fires only after about
  // 1 s (measured, docs/design-notes.md), which made a 500 ms drain cost twice its length.
  // Histories recorded before this change drained with a workflow timer and replay that way.
  if (patched(PATCHES.drainInRetire)) {
    await activities(dockerOps(drain), `drain ${liveColor} until its open connections end (at most ${drain} ms), then ${previous} it`, host).retireColor(spec, liveColor, previous, drain);
  } else {
    await sleep(drain, { summary: `drain ${liveColor}` });
    await activities(dockerOps(60_000), `${previous} ${liveColor}`, host).retireColor(spec, liveColor, previous);
  }
}

/**
 * 8. the release record (`greenlight releases`): the spec, its images with their ids on the first host,
 * the spec hash and env names, in the app's releases workflow. Past the point of no return like cleanup,
 * so a failure is a warning. Every deploy asks the patch here, at its end: histories from before it
 * replay without the marker (patched() is false there), and every later deploy records its release.
 */
export async function recordRelease(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  if (!patched(PATCHES.releases)) return;
  const { input, spec, tracker } = d;
  const info = workflowInfo();
  const origin = { recordedAt: new Date().toISOString(), startedBy: input.startedBy ?? null, requestedBy: input.requestedBy ?? null, deployWorkflowId: info.workflowId, deployRunId: info.runId, taskQueue: info.taskQueue };
  const first = hosts[0]!;
  const step = activities(quick, `record the release of ${spec.app}`, first);
  try {
    // A fleet's first host reads the image ids on its spec; the release keeps the whole fleet's spec.
    await CancellationScope.nonCancellable(() => (first.name === null ? step.recordRelease(first.spec, origin) : step.recordRelease(first.spec, origin, spec)));
  } catch (err) {
    const warning = `deploy succeeded but its release was not recorded: ${messageOf(err)}`;
    tracker.warn(warning);
  }
}

/**
 * 9. `retain.releases` (only a spec with `retain`): every host drops the images of releases outside the
 * newest `retain`, never one in use; a failure is a warning, as in cleanup.
 */
export async function pruneImages(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, tracker } = d;
  const retain = spec.retain?.releases;
  if (retain === undefined || !patched(PATCHES.retainReleases)) return;
  const warnings: string[] = [];
  await CancellationScope.nonCancellable(() =>
    eachHostToTheEnd(hosts, async (host) => {
      try {
        await activities(dockerOps(60_000), `remove images of releases older than the newest ${retain}`, host).pruneReleaseImages(host.spec, retain);
      } catch (err) {
        warnings.push(`deploy succeeded but old images were not removed${host.name ? ` on ${host.name}` : ''}: ${messageOf(err)}`);
      }
    }),
  );
  if (warnings.length > 0) tracker.warn(...warnings);
}
