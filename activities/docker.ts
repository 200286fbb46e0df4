/**
 * Docker activities: each composes the host's Docker engine (host/docker.ts) with the pure container
 * builders, and says what a failure means for the deploy. An app's containers are found by their labels
 * (whatever their name), new ones get names no other app's can have, and a name held by a container that
 * is not this app's is an error, never a removal: every step is idempotent, every leftover findable, and
 * no app touches another's containers.
 */
import { buildAppContainer, buildHookContainer, buildMigrationContainer, buildPreviewCheckContainer, buildValidationContainer, hookImage } from '../host/builders/container';
import type Docker from 'dockerode';
import type { ContainerAddresses } from '../host/addresses';
import { ContainerAddressInUseError, ContainerNameTakenError, HostPortInUseError, type AppContainer, type DockerHost, type NetworkInfo } from '../host/docker';
import type { NginxRouter } from '../host/nginx';
import { portIsFree } from '../host/listen';
import { routerField, routerPortProblems } from '../host/ports';
import { tlsProblems } from '../host/tls';
import { capacityProblems, measureCapacity, type EngineFacts } from '../host/capacity';
import { HOOK_STAGES, type DeploySpec } from '../src/config/schema';
import { isSingleton, isWorker, singletonServices, webServices } from '../src/config/services';
import { stopTimeoutSeconds } from '../host/builders/container';
import { COLORS, FAILURE_TYPES, LABELS, type Color } from '../src/names';
import { hostOfSpec } from '../src/config/hosts';
import { secretProblem, secretValues, type Redactor, type SecretPolicy } from '../src/secrets';
import { urlSecretNames } from '../src/notify';
import { asNameTaken, fail, recordProgress, runOneOffCommands, runOneOffStep, sleep } from './support';
import type { DrainProgress, HandoverReport, HookFacts, HookReport, HookStage } from '../src/types';
import { probeWorker } from '../host/worker-health';

export interface DockerDeps {
  host: DockerHost;
  router: NginxRouter;
  /** What the worker's operator allows `services.<name>.secrets` to ask for, with the values. */
  secrets: SecretPolicy;
  /** Hides the secrets' values in the output this returns (it is stored in workflow history). */
  redact: Redactor;
  /** The fixed address each new app container gets on its network, where nginx reaches it. */
  addresses: ContainerAddresses;
  /** Whether validate checks the new color's memory, disk and CPUs against the host (GREENLIGHT_CAPACITY_CHECK). */
  capacityCheck: boolean;
}

type RetirePolicy = 'stop' | 'remove' | 'keep';

export function createDockerActivities(deps: DockerDeps) {
  return {
    readColorImages: (spec: DeploySpec, color: Color) => readColorImages(deps, spec, color),
    preflightDocker: (spec: DeploySpec, targetColor: Color) => preflightDocker(deps, spec, targetColor),
    runValidationCommands: (spec: DeploySpec, deployId: string) => runValidationCommands(deps, spec, deployId),
    runMigration: (spec: DeploySpec, deployId: string) => runMigration(deps, spec, deployId),
    runHooks: (spec: DeploySpec, stage: HookStage, facts: HookFacts, deployId: string) => runHooks(deps, spec, stage, facts, deployId),
    deployColor: (spec: DeploySpec, color: Color, deployId: string, adoptStopped = false, holdSingletons = false) => deployColor(deps, spec, color, deployId, adoptStopped, holdSingletons),
    retireColor: (spec: DeploySpec, color: Color, policy: RetirePolicy, drainMs = 0) => retireColor(deps, spec, color, policy, drainMs),
    removeColor: (spec: DeploySpec, color: Color) => removeColor(deps, spec, color),
    handOverSingletons: (spec: DeploySpec, from: Color, to: Color, awaitHealthy = true) => handOverSingletons(deps, spec, from, to, awaitHealthy),
  };
}

/**
 * Values of `services.<service>.secrets`, each allowed by the worker's operator. preflightDocker has
 * refused a spec asking for any other; this refuses again for a deploy that passed an older worker.
 */
function secretsOf(secrets: SecretPolicy, spec: DeploySpec, service: string): Record<string, string> {
  const { values, problems } = secretValues(secrets, service, spec.services[service]!.secrets);
  if (problems.length > 0) throw fail(FAILURE_TYPES.preflight, problems.join('\n'), problems);
  return values;
}

async function assertNotRouted(router: NginxRouter, app: string, color: Color, action: string): Promise<void> {
  const route = await router.readRoute(app);
  if (route && (route.live === color || route.backup === color)) {
    throw fail(FAILURE_TYPES.invariant, `refusing to ${action} ${app}'s ${color} containers: nginx routes traffic to ${color} (${route.live}${route.backup ? `, backup ${route.backup}` : ''})`);
  }
}

/** Images the live color runs, read from its containers' labels. */
async function readColorImages({ host }: DockerDeps, spec: DeploySpec, color: Color): Promise<Record<string, string>> {
  const images: Record<string, string> = {};
  // A running container's image wins over a stopped leftover's (an older-named one may sit beside it).
  const containers = (await host.appContainers(spec.app, color)).sort((a, b) => Number(a.running) - Number(b.running));
  for (const { labels } of containers) {
    const service = labels[LABELS.service]!;
    if (service in spec.services && labels[LABELS.image]) images[service] = labels[LABELS.image];
  }
  return images;
}

/**
 * What is wrong with the spec's network on this host, if anything: it must exist, as a user-defined
 * bridge (the schema already refuses host, none, bridge and container:<name> by name). Greenlight does
 * not create it: its subnet and gateway are where PostgreSQL and Redis listen (scripts/docker.sh).
 */
export function networkProblem(name: string, network: NetworkInfo | null): string | null {
  if (!network) return `network: Docker network "${name}" does not exist on this host: create it (docker network create ${name}; scripts/docker.sh makes "greenlight")`;
  if (network.driver !== 'bridge' || network.defaultBridge) {
    const what = network.defaultBridge ? "Docker's default bridge" : `a network of driver "${network.driver}"`;
    return `network: Docker network "${name}" is ${what}: containers join a user-defined bridge network only (docker network create --driver bridge NAME)`;
  }
  return null;
}

/**
 * Checks the network, that every secret the spec asks for is allowed and set on this worker, every image
 * exists locally, every host port of the target color is free (or ours), every container name the
 * deploy will use is free or this app's (nothing else is ever removed), the router ports, and the
 * router's certificate and key (router.tls), and that the new color's memory limits, logs and writable
 * layers fit in the memory and disk the host has free, beside the live color (host/capacity.ts).
 */
async function preflightDocker({ host, router, secrets, capacityCheck }: DockerDeps, spec: DeploySpec, targetColor: Color): Promise<void> {
  const problems = Object.entries(spec.services).flatMap(([service, svc]) => secretValues(secrets, service, svc.secrets).problems);
  (spec.notify?.webhooks ?? []).forEach((hook, index) => {
    for (const name of urlSecretNames(hook.url)) {
      const problem = secretProblem(secrets, '', name, `notify.webhooks[${index}].url`);
      if (problem) problems.push(problem);
    }
  });
  await host.ping();
  const network = networkProblem(spec.network, await host.networkOrNull(spec.network));
  if (network) problems.push(network);
  if (!network && spec.preview && spec.preview.checks.length > 0 && !(await host.networkAddressing(spec.network))?.gateway) {
    problems.push(`preview.checks: Docker network "${spec.network}" has no configured IPv4 gateway, where the check containers reach the preview: create it with --subnet and --gateway (scripts/docker.sh does), or leave preview.checks out`);
  }
  for (const [service, svc] of Object.entries(spec.services)) {
    if (!(await host.imageExists(svc.image))) {
      problems.push(`services.${service}.image: image "${svc.image}" does not exist in the local Docker engine: build or load it first (docker build -t ${svc.image} ...)`);
    } else if (svc.health.type === 'docker' && !(await host.imageHasHealthcheck(svc.image))) {
      problems.push(`services.${service}.health.type: docker reads the image's HEALTHCHECK, and "${svc.image}" has none: add a HEALTHCHECK to its Dockerfile, or use health.command or health.type running`);
    }
    if (!svc.hostPorts) continue; // a worker publishes no port
    const hostPort = svc.hostPorts[targetColor];
    if (!(await portIsFree(hostPort)) && !(await ownsHostPort(host, spec, service, targetColor))) {
      problems.push(`services.${service}.hostPorts.${targetColor}: host port ${hostPort} is already in use by another process: free it or choose another port`);
    }
  }
  problems.push(...(await nameProblems(host, spec, targetColor)));
  problems.push(...(await routerPortProblems(router, spec)));
  // The certificate and key as this host's nginx will read them (a fleet's hosts each have their own files).
  if (spec.router.tls) problems.push(...(await tlsProblems(spec.router.tls, routerField(spec, 'tls'))));
  if (capacityCheck) problems.push(...capacityProblems(spec, targetColor, await measureCapacity(await engineFacts(host, spec))));
  if (problems.length > 0) throw fail(FAILURE_TYPES.preflight, problems.join('\n'), problems);
}

/**
 * The engine's facts for the capacity check: the host as messages name it (a fleet's host name, else
 * the engine's host name), its CPUs and data root, and per service the largest writable layer among
 * the app's existing containers of it, either color (what a new one will likely write too).
 */
async function engineFacts(host: DockerHost, spec: DeploySpec): Promise<EngineFacts> {
  const info = await host.engineInfo();
  const writableLayerBytes: Record<string, number> = {};
  for (const color of COLORS) {
    for (const container of await host.appContainers(spec.app, color)) {
      const service = container.labels[LABELS.service]!;
      if (!(service in spec.services)) continue;
      writableLayerBytes[service] = Math.max(writableLayerBytes[service] ?? 0, await host.writableLayerBytes(container.id));
    }
  }
  return { host: hostOfSpec(spec) ?? info.name, cpus: info.cpus, dockerRootDir: info.rootDir, writableLayerBytes };
}

/** Whether a running leftover target container of this app holds the service's host port: deploy-green replaces it. */
async function ownsHostPort(host: DockerHost, spec: DeploySpec, service: string, color: Color): Promise<boolean> {
  const svc = webServices(spec)[service]!;
  for (const own of await host.appContainers(spec.app, color, service)) {
    const info = own.running ? await host.inspectOrNull(own.id) : null;
    if (info?.HostConfig.PortBindings?.[`${svc.port}/tcp`]?.some((b: { HostPort?: string }) => b.HostPort === String(svc.hostPorts[color]))) return true;
  }
  return false;
}

/** Facts enough to name a hook's container (its name and labels do not depend on them). */
const PLAN_FACTS: HookFacts = { color: 'blue', previousColor: null, images: {}, previousImages: {}, outcome: null };

/** Every container the deploy will create, with the spec field it comes from. */
function plannedContainers(spec: DeploySpec, color: Color): Array<{ field: string; options: Docker.ContainerCreateOptions }> {
  return [
    ...Object.keys(spec.services).map((service) => ({ field: `services.${service}`, options: buildAppContainer({ spec, service, color, deployId: '', secretEnv: {} }) })),
    ...spec.validate.commands.map((_, index) => ({ field: `validate.commands[${index}].name`, options: buildValidationContainer(spec, index, '') })),
    ...(spec.migrate ? [{ field: 'migrate', options: buildMigrationContainer(spec, '', {}) }] : []),
    ...(spec.preview?.checks ?? []).map((_, index) => ({ field: `preview.checks[${index}].name`, options: buildPreviewCheckContainer(spec, index, '', '') })),
    ...HOOK_STAGES.flatMap((stage) => (spec.hooks?.[stage] ?? []).map((_, index) => ({ field: `hooks.${stage}[${index}].name`, options: buildHookContainer(spec, stage, index, PLAN_FACTS, '', {}) }))),
  ];
}

/** The container names the deploy needs that a container other than this app's holds. */
async function nameProblems(host: DockerHost, spec: DeploySpec, color: Color): Promise<string[]> {
  const problems: string[] = [];
  for (const { field, options } of plannedContainers(spec, color)) {
    try {
      await host.claimName(options.name!, options.Labels);
    } catch (err) {
      if (!(err instanceof ContainerNameTakenError)) throw err;
      problems.push(`${field}: ${err.message}`);
    }
  }
  return problems;
}


/** Runs each validation command in a one-off, network-less container of the new image. */
function runValidationCommands(deps: DockerDeps, spec: DeploySpec, deployId: string): Promise<Array<{ name: string; exitCode: number; output: string }>> {
  const commands = spec.validate.commands.map((command, index) => ({
    what: `validation command "${command.name}"`,
    field: `validate.commands[${index}]`,
    name: command.name,
    run: command.run,
    timeout: command.timeout,
    options: buildValidationContainer(spec, index, deployId),
  }));
  return runOneOffCommands(deps, commands, FAILURE_TYPES.validationCommand);
}

/**
 * The expand-only migration, before the new color starts. Re-running it must be harmless (the tool's
 * job). It runs with the service's secrets, so its output is returned as a redacted tail.
 */
async function runMigration(deps: DockerDeps, spec: DeploySpec, deployId: string): Promise<{ exitCode: number; output: string }> {
  const migrate = spec.migrate;
  if (!migrate) return { exitCode: 0, output: 'no migrate step' };
  const { exitCode, output } = await runOneOffStep(deps, buildMigrationContainer(spec, deployId, secretsOf(deps.secrets, spec, migrate.service)), migrate.timeout, 'migrate');
  if (exitCode !== 0) {
    const what = exitCode === null ? `timed out after ${migrate.timeout} ms (migrate.timeout)` : `exited with ${exitCode}`;
    throw fail(FAILURE_TYPES.migration, `migration (${migrate.run.join(' ')}) ${what}:\n${output}`);
  }
  return { exitCode: 0, output };
}

/**
 * Runs the hooks of one stage in order (hooks.<stage>), each in its one-off container (buildHookContainer),
 * and reports how each ran. The first that exits non-zero or runs past its timeout fails the step
 * (HookFailed, naming the hook, with the reports so far); the workflow rolls back on a pre hook's and
 * warns on a post hook's. A postRollback hook whose service had no restored image (a first deploy) is skipped.
 */
async function runHooks(deps: DockerDeps, spec: DeploySpec, stage: HookStage, facts: HookFacts, deployId: string): Promise<HookReport[]> {
  const reports: HookReport[] = [];
  const hooks = spec.hooks?.[stage] ?? [];
  for (const [index, hook] of hooks.entries()) {
    if (hookImage(spec, stage, hook.service, facts) === null) continue;
    const options = buildHookContainer(spec, stage, index, facts, deployId, secretsOf(deps.secrets, spec, hook.service));
    const { exitCode, output } = await runOneOffStep(deps, options, hook.timeout, `hooks.${stage}[${index}].name`);
    reports.push({ stage, name: hook.name, exitCode, output });
    if (exitCode !== 0) {
      const what = exitCode === null ? `timed out after ${hook.timeout} ms (hooks.${stage}[${index}].timeout) and was stopped` : `(${hook.run.join(' ')}) exited with ${exitCode}`;
      throw fail(FAILURE_TYPES.hook, `${stage} hook "${hook.name}" ${what}:\n${output}`, reports);
    }
  }
  return reports;
}

/**
 * Creates and starts the target color's containers. A retry finds its own containers (same name and
 * deploy id) and only makes sure they run; leftovers of an earlier deploy are replaced, unless
 * `adoptStopped` (a restore) reuses those with the wanted image. Never touches a color nginx routes to.
 */
async function deployColor(deps: DockerDeps, spec: DeploySpec, color: Color, deployId: string, adoptStopped: boolean, holdSingletons: boolean): Promise<Record<string, string>> {
  await assertNotRouted(deps.router, spec.app, color, 'replace');
  // The color's real traffic counts from its new containers on: verify judges it, and later uses it as
  // the baseline the next color is compared with.
  await deps.router.resetTraffic(spec.app, color);
  const ids: Record<string, string> = {};
  for (const service of Object.keys(spec.services)) {
    // A held singleton is created (its name claimed, its image checked) but starts only at the handover.
    const start = !(holdSingletons && isSingleton(spec.services[service]!));
    ids[service] = await deployService(deps, spec, service, color, deployId, adoptStopped, [], start);
  }
  return ids;
}

/**
 * One service's container of `color`, created (or adopted) and running: its container id. The app's
 * containers of that service and color are found by labels (also older-named ones): the one to keep
 * is a retry's own (same deploy id and image) or, for a restore, the previous version's (same image);
 * every other is removed, so no leftover keeps the host port. The new name must be free or this app's.
 */
async function deployService(deps: DockerDeps, spec: DeploySpec, service: string, color: Color, deployId: string, adoptStopped: boolean, avoid: string[] = [], start = true): Promise<string> {
  const { host, secrets, addresses } = deps;
  const svc = spec.services[service]!;
  const secretEnv = secretsOf(secrets, spec, service);
  const name = buildAppContainer({ spec, service, color, deployId, secretEnv });
  await host.claimName(name.name!, name.Labels).catch((err: unknown) => {
    throw asNameTaken(err, `services.${service}`);
  });
  const existing = await host.appContainers(spec.app, color, service);
  const reusable = (c: AppContainer) => c.labels[LABELS.image] === svc.image && (c.labels[LABELS.deployId] === deployId || adoptStopped);
  // The new-named one first, should an older-named one of the same image sit beside it.
  const kept = [...existing].sort((a, b) => Number(b.name === name.name) - Number(a.name === name.name)).find(reusable);
  // Asked before the leftovers go: a new container takes the address its color's previous one had.
  // A worker is not routed to: Docker's own address will do (the fixed ones are for nginx's upstreams).
  const address = kept || isWorker(svc) ? null : await addresses.forNewContainer(spec, service, color, avoid);
  for (const leftover of existing.filter((c) => c !== kept)) await host.remove(leftover.id);
  const id = kept?.id ?? (await host.create(buildAppContainer({ spec, service, color, deployId, secretEnv, address })));
  if (!start) return id;
  try {
    await host.start(id); // false (already running) on a retry of this step
  } catch (err) {
    if (err instanceof ContainerAddressInUseError && address && !avoid.includes(address)) {
      // Another container took the address while this color had none (Docker reserves a fixed address
      // only while its container runs): once more on another one; the switch then reloads nginx for it.
      await host.remove(id);
      return deployService(deps, spec, service, color, deployId, adoptStopped, [...avoid, address], start);
    }
    if (!(err instanceof HostPortInUseError)) throw err;
    await host.remove(id);
    throw fail(FAILURE_TYPES.portInUse, `services.${service}.hostPorts.${color}: host port ${svc.hostPorts?.[color]} is already in use: free it or choose another port (${err.message})`);
  }
  // Cleanup set "no restart" when it stopped this container; a running app restarts with dockerd.
  if (kept) await host.setRestartPolicy(id, 'unless-stopped');
  return id;
}

/**
 * Stops (kept for a fast rollback), removes or keeps the given color: every app container of it, by
 * labels, so also those of a service the spec no longer has (dropped from greenlight.yml, they would
 * otherwise run unrouted forever) and those named by the older scheme. Refuses a color nginx routes to.
 */
async function retireColor({ host, router }: DockerDeps, spec: DeploySpec, color: Color, policy: RetirePolicy, drainMs: number): Promise<string[]> {
  if (policy === 'keep') return [];
  await assertNotRouted(router, spec.app, color, policy);
  // The drain: nginx no longer sends the color new requests; it finishes the ones it has open.
  await drain(router, spec, color, drainMs);
  const touched: string[] = [];
  for (const container of await host.appContainers(spec.app, color)) {
    if (policy === 'remove') {
      if (await host.remove(container.id)) touched.push(container.name);
      continue;
    }
    if (!container.running) continue;
    const svc = spec.services[container.labels[LABELS.service]!];
    if (await host.stopGracefully(container.id, svc ? stopTimeoutSeconds(svc) : 10)) touched.push(container.name);
  }
  return touched;
}

/**
 * The handover of the singletons (`overlap: false`) from one color to the other, one service after
 * another: every running container of `from` gets SIGTERM and the service's stopTimeout to finish its
 * job (Docker kills it after), and only once it has stopped is the `to` container started; then, with
 * `awaitHealthy`, it must pass its health check within health.deadline. At no moment do both run. A
 * rollback calls it the other way round (without waiting: traffic and the old singleton come back as
 * fast as they can, and the rollback has its own time limit). Idempotent: a retry stops what still runs
 * and starts what does not. Never touches a service with `overlap: true`.
 */
async function handOverSingletons({ host }: DockerDeps, spec: DeploySpec, from: Color, to: Color, awaitHealthy: boolean): Promise<HandoverReport> {
  const report: HandoverReport = { from, to, services: [] };
  for (const service of singletonServices(spec)) {
    const svc = spec.services[service]!;
    // Everything the start needs is looked up before the stop: the gap between them is the start alone.
    const next = (await host.appContainers(spec.app, to, service))[0];
    if (!next) throw fail(FAILURE_TYPES.invariant, `services.${service}: no ${to} container to hand the singleton over to (${spec.app}); deploy it again`);
    await host.setRestartPolicy(next.id, 'unless-stopped');
    const stopStarted = Date.now();
    // Not only the running ones: a crashing singleton between two restarts is listed as not running.
    for (const old of await host.appContainers(spec.app, from, service)) await stopForGood(host, old.id, stopTimeoutSeconds(svc));
    const stoppedAt = Date.now();
    await host.start(next.id);
    const startedAt = Date.now();
    report.services.push({ service, stopMs: stoppedAt - stopStarted, stoppedAt, startedAt });
    recordProgress({ handover: report });
    if (awaitHealthy) await untilWorkerHealthy(host, spec, service, to, next.id, startedAt);
  }
  return report;
}

/**
 * Stops the container and makes sure it stays stopped: one restarting by its restart policy (a crash
 * loop) may come back between the policy's update and the stop, so it is stopped until Docker reports
 * it neither running nor restarting. Only then may the other color's singleton start.
 */
async function stopForGood(host: DockerHost, id: string, seconds: number): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    await host.stopGracefully(id, seconds);
    const info = await host.inspectOrNull(id);
    if (!info || (!info.State.Running && !info.State.Restarting)) return;
    await sleep(100);
  }
  throw fail(FAILURE_TYPES.invariant, `container ${id} keeps running after 50 stops: the other color's singleton is not started`);
}

/** Waits until the singleton's health check passes, at most health.deadline from its start; throws HealthCheckFailed otherwise. */
async function untilWorkerHealthy(host: DockerHost, spec: DeploySpec, service: string, color: Color, id: string, startedAt: number): Promise<void> {
  for (;;) {
    const probe = await probeWorker(host, spec, service, color, spec.health.timeout, Date.now());
    if (probe.ok) return;
    if (Date.now() - startedAt >= spec.health.deadline) {
      throw fail(FAILURE_TYPES.healthCheck, `services.${service}: the ${color} singleton did not become healthy within ${spec.health.deadline} ms of its start (health.deadline): ${probe.error}\n${await host.logTail(id, 5)}`);
    }
    await sleep(spec.health.interval);
  }
}

/** Compensation: removes the target color's containers of the spec's services, by labels. Refuses a color nginx routes to. */
async function removeColor({ host, router }: DockerDeps, spec: DeploySpec, color: Color): Promise<string[]> {
  await assertNotRouted(router, spec.app, color, 'remove');
  // After a switch, users may hold requests, WebSockets or streams on the color being rolled back: they
  // are drained like a retired color's, at most cleanup.drain and at most COMPENSATION_DRAIN_MS (the
  // compensation step's time limit is 2 minutes). Before a switch the color has none open.
  await drain(router, spec, color, Math.min(spec.cleanup.drain, COMPENSATION_DRAIN_MS));
  const removed: string[] = [];
  for (const container of await host.appContainers(spec.app, color)) {
    if (!(container.labels[LABELS.service]! in spec.services)) continue;
    if (await host.remove(container.id)) removed.push(container.name);
  }
  return removed;
}

/** The longest a rollback drains the color it removes (its step's startToCloseTimeout is 2 minutes). */
export const COMPENSATION_DRAIN_MS = 60_000;
/** How often a drain reads the open counts; a drain ends after two readings of 0 in a row. */
const DRAIN_POLL_MS = 100;

/**
 * Waits until nginx counts no open request, WebSocket or stream on `color` of the app (two readings of 0
 * in a row, DRAIN_POLL_MS apart: a request that read the route just before it moved is counted by
 * then), or `maxMs` passed, whichever comes first. What is still open at the maximum is closed by the
 * app itself on SIGTERM (the stop that follows). A served config that does not count (rendered by an
 * earlier greenlight) is given the whole maximum, as the fixed drain did.
 */
export async function drain(router: NginxRouter, spec: DeploySpec, color: Color, maxMs: number): Promise<DrainProgress> {
  const started = Date.now();
  const host = spec.hosts?.length === 1 ? spec.hosts[0]!.name : undefined;
  let zeros = 0;
  for (;;) {
    const counts = await router.openConnections(spec);
    const open = counts === null ? null : Object.fromEntries(Object.keys(spec.services).map((service) => [service, counts[service]?.[color] ?? 0]));
    const progress: DrainProgress = { ...(host ? { host } : {}), color, open, waitedMs: Date.now() - started, maxMs };
    recordProgress({ drain: progress });
    const total = open === null ? null : Object.values(open).reduce((a, b) => a + b, 0);
    zeros = total === 0 ? zeros + 1 : 0;
    if (zeros >= 2 || progress.waitedMs >= maxMs) return progress;
    await sleep(Math.min(DRAIN_POLL_MS, Math.max(0, maxMs - progress.waitedMs)));
  }
}
