/**
 * Docker activities: each composes the host's Docker engine (host/docker.ts) with the pure container
 * builders, and says what a failure means for the deploy. Containers are found by deterministic name and
 * labels, so every step is idempotent and every leftover findable.
 */
import { buildAppContainer, buildMigrationContainer, buildValidationContainer } from '../host/builders/container';
import { HostPortInUseError, type DockerHost, type NetworkInfo } from '../host/docker';
import type { NginxRouter } from '../host/nginx';
import { portIsFree, routerPortProblems } from '../host/ports';
import type { DeploySpec } from '../src/config/schema';
import { containerName, FAILURE_TYPES, LABELS, type Color } from '../src/names';
import { redactedTail, secretValues, type Redactor, type SecretPolicy } from '../src/secrets';
import { fail, sleep } from './support';

export interface DockerDeps {
  host: DockerHost;
  router: NginxRouter;
  /** What the worker's operator allows `services.<name>.secrets` to ask for, with the values. */
  secrets: SecretPolicy;
  /** Hides the secrets' values in the output this returns (it is stored in workflow history). */
  redact: Redactor;
}

type RetirePolicy = 'stop' | 'remove' | 'keep';

export function createDockerActivities(deps: DockerDeps) {
  return {
    readColorImages: (spec: DeploySpec, color: Color) => readColorImages(deps, spec, color),
    preflightDocker: (spec: DeploySpec, targetColor: Color) => preflightDocker(deps, spec, targetColor),
    runValidationCommands: (spec: DeploySpec, deployId: string) => runValidationCommands(deps, spec, deployId),
    runMigration: (spec: DeploySpec, deployId: string) => runMigration(deps, spec, deployId),
    deployColor: (spec: DeploySpec, color: Color, deployId: string, adoptStopped = false) => deployColor(deps, spec, color, deployId, adoptStopped),
    retireColor: (spec: DeploySpec, color: Color, policy: RetirePolicy, drainMs = 0) => retireColor(deps, spec, color, policy, drainMs),
    removeColor: (spec: DeploySpec, color: Color) => removeColor(deps, spec, color),
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
  for (const service of Object.keys(spec.services)) {
    const info = await host.inspectOrNull(containerName(spec.app, service, color));
    const image = info?.Config.Labels?.[LABELS.image];
    if (image) images[service] = image;
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
 * exists locally and every host port of the target color is free (or ours).
 */
async function preflightDocker({ host, router, secrets }: DockerDeps, spec: DeploySpec, targetColor: Color): Promise<void> {
  const problems = Object.entries(spec.services).flatMap(([service, svc]) => secretValues(secrets, service, svc.secrets).problems);
  await host.ping();
  const network = networkProblem(spec.network, await host.networkOrNull(spec.network));
  if (network) problems.push(network);
  for (const [service, svc] of Object.entries(spec.services)) {
    if (!(await host.imageExists(svc.image))) {
      problems.push(`services.${service}.image: image "${svc.image}" does not exist in the local Docker engine: build or load it first (docker build -t ${svc.image} ...)`);
    }
    const hostPort = svc.hostPorts[targetColor];
    if (!(await portIsFree(hostPort))) {
      // A leftover target container of ours may hold it: deploy-green replaces that one.
      const own = await host.inspectOrNull(containerName(spec.app, service, targetColor));
      const ownsPort = own?.State.Running && own.HostConfig.PortBindings?.[`${svc.port}/tcp`]?.some((b: { HostPort?: string }) => b.HostPort === String(hostPort));
      if (!ownsPort) {
        problems.push(`services.${service}.hostPorts.${targetColor}: host port ${hostPort} is already in use by another process: free it or choose another port`);
      }
    }
  }
  problems.push(...(await routerPortProblems(router, spec)));
  if (problems.length > 0) throw fail(FAILURE_TYPES.preflight, problems.join('\n'), problems);
}

/**
 * Runs each validation command in a one-off, network-less container of the new image. Results and
 * failures carry a redacted tail of the output only: they are stored in workflow history.
 */
async function runValidationCommands({ host, redact }: DockerDeps, spec: DeploySpec, deployId: string): Promise<Array<{ name: string; exitCode: number; output: string }>> {
  const results: Array<{ name: string; exitCode: number; output: string }> = [];
  for (let index = 0; index < spec.validate.commands.length; index++) {
    const command = spec.validate.commands[index]!;
    const run = await host.runOneOff(buildValidationContainer(spec, index, deployId), command.timeout);
    const output = redactedTail(run.output, redact);
    if (run.exitCode === null) {
      throw fail(FAILURE_TYPES.validationCommand, `validation command "${command.name}" timed out after ${command.timeout} ms (validate.commands[${index}].timeout)\n${output}`);
    }
    results.push({ name: command.name, exitCode: run.exitCode, output });
    if (run.exitCode !== 0) {
      throw fail(FAILURE_TYPES.validationCommand, `validation command "${command.name}" (${command.run.join(' ')}) exited with ${run.exitCode}:\n${output}`, results);
    }
  }
  return results;
}

/**
 * The expand-only migration, before the new color starts. Re-running it must be harmless (the tool's
 * job). It runs with the service's secrets, so its output is returned as a redacted tail.
 */
async function runMigration({ host, secrets, redact }: DockerDeps, spec: DeploySpec, deployId: string): Promise<{ exitCode: number; output: string }> {
  const migrate = spec.migrate;
  if (!migrate) return { exitCode: 0, output: 'no migrate step' };
  const run = await host.runOneOff(buildMigrationContainer(spec, deployId, secretsOf(secrets, spec, migrate.service)), migrate.timeout);
  const output = redactedTail(run.output, redact);
  if (run.exitCode !== 0) {
    const what = run.exitCode === null ? `timed out after ${migrate.timeout} ms (migrate.timeout)` : `exited with ${run.exitCode}`;
    throw fail(FAILURE_TYPES.migration, `migration (${migrate.run.join(' ')}) ${what}:\n${output}`);
  }
  return { exitCode: 0, output };
}

/**
 * Creates and starts the target color's containers. A retry finds its own containers (same name and
 * deploy id) and only makes sure they run; leftovers of an earlier deploy are replaced, unless
 * `adoptStopped` (a restore) reuses those with the wanted image. Never touches a color nginx routes to.
 */
async function deployColor(deps: DockerDeps, spec: DeploySpec, color: Color, deployId: string, adoptStopped: boolean): Promise<Record<string, string>> {
  await assertNotRouted(deps.router, spec.app, color, 'replace');
  const ids: Record<string, string> = {};
  for (const service of Object.keys(spec.services)) {
    ids[service] = await deployService(deps, spec, service, color, deployId, adoptStopped);
  }
  return ids;
}

/** One service's container of `color`, created (or adopted) and running: its container id. */
async function deployService({ host, secrets }: DockerDeps, spec: DeploySpec, service: string, color: Color, deployId: string, adoptStopped: boolean): Promise<string> {
  const svc = spec.services[service]!;
  const options = buildAppContainer({ spec, service, color, deployId, secretEnv: secretsOf(secrets, spec, service) });
  const name = options.name!;
  const existing = await host.inspectOrNull(name);
  const sameImage = existing?.Config.Labels?.[LABELS.image] === svc.image;
  // Ours: a retry of this step. Adopted: a restore starts the previous version's stopped container again.
  const ours = sameImage && (existing?.Config.Labels?.[LABELS.deployId] === deployId || adoptStopped);
  if (existing && !ours) await host.remove(name);
  if (!existing || !ours) await host.create(options);
  try {
    await host.start(name); // false (already running) on a retry of this step
  } catch (err) {
    if (!(err instanceof HostPortInUseError)) throw err;
    await host.remove(name);
    throw fail(FAILURE_TYPES.portInUse, `services.${service}.hostPorts.${color}: host port ${svc.hostPorts[color]} is already in use: free it or choose another port (${err.message})`);
  }
  // Cleanup set "no restart" when it stopped this container; a running app restarts with dockerd.
  if (existing && ours && existing.HostConfig.RestartPolicy?.Name !== 'unless-stopped') await host.setRestartPolicy(name, 'unless-stopped');
  return host.containerId(name);
}

/** Stops (kept for a fast rollback), removes or keeps the given color. Refuses a color nginx routes to. */
async function retireColor({ host, router }: DockerDeps, spec: DeploySpec, color: Color, policy: RetirePolicy, drainMs: number): Promise<string[]> {
  // The drain: the retired color finishes its in-flight requests (nginx no longer sends it any).
  if (drainMs > 0) await sleep(drainMs);
  if (policy === 'keep') return [];
  await assertNotRouted(router, spec.app, color, policy);
  const touched: string[] = [];
  // The whole color retires: also the containers of a service this spec no longer has (it was
  // dropped from greenlight.yml), which would otherwise keep running unrouted forever.
  const dropped = (await host.appServicesOf(spec.app, color)).filter((service) => !(service in spec.services));
  for (const service of [...Object.keys(spec.services), ...dropped]) {
    const name = containerName(spec.app, service, color);
    if (policy === 'remove') {
      if (await host.remove(name)) touched.push(name);
      continue;
    }
    const info = await host.inspectOrNull(name);
    if (!info?.State.Running) continue;
    if (await host.stopGracefully(name)) touched.push(name);
  }
  return touched;
}

/** Compensation: removes the target color's containers. Refuses a color nginx routes to. */
async function removeColor({ host, router }: DockerDeps, spec: DeploySpec, color: Color): Promise<string[]> {
  await assertNotRouted(router, spec.app, color, 'remove');
  const removed: string[] = [];
  for (const service of Object.keys(spec.services)) {
    const name = containerName(spec.app, service, color);
    if (await host.remove(name)) removed.push(name);
  }
  return removed;
}
