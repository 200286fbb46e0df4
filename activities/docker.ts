/**
 * Docker activities (dockerode): containers are found by deterministic name and labels, so every step
 * is idempotent and every leftover findable.
 */
import net from 'node:net';
import type Docker from 'dockerode';
import { buildAppContainer, buildMigrationContainer, buildValidationContainer } from '../host/builders/container';
import { fail, sleep, withHeartbeat } from './support';
import { containerName, LABELS, type Color } from '../src/names';
import type { DeploySpec } from '../src/config/schema';
import { FAILURE_TYPES, InfrastructureError } from '../src/errors';
import type { NginxRouter } from '../host/nginx';

export interface DockerDeps {
  docker: Docker;
  router: NginxRouter;
  /** The worker's environment, source of `services.<name>.secrets`. */
  env: Record<string, string | undefined>;
}

type DockerError = Error & { statusCode?: number; json?: { message?: string } };

function statusOf(err: unknown): number | undefined {
  return (err as DockerError).statusCode;
}

async function inspectOrNull(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

async function removeContainer(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getContainer(name).remove({ force: true });
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    if (statusOf(err) === 409 && /already in progress/.test(String((err as Error).message))) return true;
    throw err;
  }
}

function isPortInUse(err: unknown): boolean {
  return /port is already allocated|address already in use/i.test(String((err as Error).message));
}

/** True when nothing listens on 127.0.0.1:port. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Demultiplexes a non-TTY docker log stream (8-byte frame headers). */
function demuxLogs(buffer: Buffer): string {
  let out = '';
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    out += buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return out;
}

export async function containerLogTail(docker: Docker, name: string, lines = 5): Promise<string> {
  try {
    const buf = (await docker.getContainer(name).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demuxLogs(Buffer.from(buf)).trim();
  } catch {
    return '';
  }
}

async function assertNotRouted(router: NginxRouter, app: string, color: Color, action: string): Promise<void> {
  const route = await router.readRoute(app);
  if (route && (route.live === color || route.backup === color)) {
    throw fail(FAILURE_TYPES.invariant, `refusing to ${action} ${app}'s ${color} containers: nginx routes traffic to ${color} (${route.live}${route.backup ? `, backup ${route.backup}` : ''})`);
  }
}

/** Services that have an app container (running or not) of this color, by greenlight's labels. */
async function appServicesOf(docker: Docker, app: string, color: Color): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.app}=${app}`, `${LABELS.color}=${color}`, `${LABELS.role}=app`] } });
  return [...new Set(containers.map((c) => c.Labels[LABELS.service]).filter((service): service is string => Boolean(service)))].sort();
}

export function createDockerActivities({ docker, router, env }: DockerDeps) {
  /** Values of `services.<service>.secrets` from the worker's environment. */
  function secretsOf(spec: DeploySpec, service: string): Record<string, string> {
    const secretEnv: Record<string, string> = {};
    for (const name of spec.services[service]!.secrets) {
      const value = env[name];
      if (value === undefined) throw fail(FAILURE_TYPES.preflight, `services.${service}.secrets: ${name} is not set in the worker's environment: set it where the worker runs`);
      secretEnv[name] = value;
    }
    return secretEnv;
  }

  /** Runs a one-off container to its end (exit code, or null on time-out) and removes it. Idempotent by name. */
  async function runOneOff(options: Docker.ContainerCreateOptions, timeoutMs: number): Promise<{ exitCode: number | null; output: string }> {
    return withHeartbeat(async () => {
      await removeContainer(docker, options.name!); // a previous attempt's container
      const container = await docker.createContainer(options);
      try {
        await container.start();
        let timer: NodeJS.Timeout | undefined;
        const waited = await Promise.race([
          container.wait() as Promise<{ StatusCode: number }>,
          new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs))),
        ]).finally(() => clearTimeout(timer));
        return { exitCode: waited?.StatusCode ?? null, output: await containerLogTail(docker, options.name!, 20) };
      } finally {
        await removeContainer(docker, options.name!);
      }
    });
  }

  return {
    /** Images the live color runs, read from its containers' labels. */
    async readColorImages(spec: DeploySpec, color: Color): Promise<Record<string, string>> {
      const images: Record<string, string> = {};
      for (const service of Object.keys(spec.services)) {
        const info = await inspectOrNull(docker, containerName(spec.app, service, color));
        const image = info?.Config.Labels?.[LABELS.image];
        if (image) images[service] = image;
      }
      return images;
    },

    /** Checks that every image exists locally and every host port of the target color is free (or ours). */
    async preflightDocker(spec: DeploySpec, targetColor: Color): Promise<void> {
      const problems: string[] = [];
      try {
        await docker.ping();
      } catch (err) {
        throw new InfrastructureError(`Docker engine unreachable (${(err as Error).message}): start dockerd (scripts/docker.sh)`);
      }
      for (const [service, svc] of Object.entries(spec.services)) {
        try {
          await docker.getImage(svc.image).inspect();
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
          problems.push(`services.${service}.image: image "${svc.image}" does not exist in the local Docker engine: build or load it first (docker build -t ${svc.image} ...)`);
        }
        const hostPort = svc.hostPorts[targetColor];
        if (!(await portIsFree(hostPort))) {
          // A leftover target container of ours may hold it: deploy-green replaces that one.
          const own = await inspectOrNull(docker, containerName(spec.app, service, targetColor));
          const ownsPort = own?.State.Running && own.HostConfig.PortBindings?.[`${svc.port}/tcp`]?.some((b: { HostPort?: string }) => b.HostPort === String(hostPort));
          if (!ownsPort) {
            problems.push(`services.${service}.hostPorts.${targetColor}: host port ${hostPort} is already in use by another process: free it or choose another port`);
          }
        }
      }
      // The router port: ours already (the app is routed), or free for its first deploy.
      if ((await router.readAppConfig(spec.app)) === null && !(await portIsFree(spec.router.port))) {
        problems.push(`router.port: port ${spec.router.port} is already in use by another process: free it or choose another router port`);
      }
      if (problems.length > 0) throw fail(FAILURE_TYPES.preflight, problems.join('\n'), problems);
    },

    /** Runs each validation command in a one-off, network-less container of the new image. */
    async runValidationCommands(spec: DeploySpec, deployId: string): Promise<Array<{ name: string; exitCode: number; output: string }>> {
      const results: Array<{ name: string; exitCode: number; output: string }> = [];
      for (let index = 0; index < spec.validate.commands.length; index++) {
        const command = spec.validate.commands[index]!;
        const run = await runOneOff(buildValidationContainer(spec, index, deployId), command.timeout);
        if (run.exitCode === null) {
          throw fail(FAILURE_TYPES.validationCommand, `validation command "${command.name}" timed out after ${command.timeout} ms (validate.commands[${index}].timeout)\n${run.output}`);
        }
        results.push({ name: command.name, exitCode: run.exitCode, output: run.output });
        if (run.exitCode !== 0) {
          throw fail(FAILURE_TYPES.validationCommand, `validation command "${command.name}" (${command.run.join(' ')}) exited with ${run.exitCode}:\n${run.output}`, results);
        }
      }
      return results;
    },

    /** The expand-only migration, before the new color starts. Re-running it must be harmless (the tool's job). */
    async runMigration(spec: DeploySpec, deployId: string): Promise<{ exitCode: number; output: string }> {
      const migrate = spec.migrate;
      if (!migrate) return { exitCode: 0, output: 'no migrate step' };
      const run = await runOneOff(buildMigrationContainer(spec, deployId, secretsOf(spec, migrate.service)), migrate.timeout);
      if (run.exitCode !== 0) {
        const what = run.exitCode === null ? `timed out after ${migrate.timeout} ms (migrate.timeout)` : `exited with ${run.exitCode}`;
        throw fail(FAILURE_TYPES.migration, `migration (${migrate.run.join(' ')}) ${what}:\n${run.output}`);
      }
      return { exitCode: 0, output: run.output };
    },

    /**
     * Creates and starts the target color's containers. A retry finds its own containers (same name and
     * deploy id) and only makes sure they run; leftovers of an earlier deploy are replaced, unless
     * `adoptStopped` (a restore) reuses those with the wanted image. Never touches a color nginx routes to.
     */
    async deployColor(spec: DeploySpec, color: Color, deployId: string, adoptStopped = false): Promise<Record<string, string>> {
      await assertNotRouted(router, spec.app, color, 'replace');
      return withHeartbeat(async () => {
        const ids: Record<string, string> = {};
        for (const [service, svc] of Object.entries(spec.services)) {
          const options = buildAppContainer({ spec, service, color, deployId, secretEnv: secretsOf(spec, service) });
          const existing = await inspectOrNull(docker, options.name!);
          const sameImage = existing?.Config.Labels?.[LABELS.image] === svc.image;
          // Ours: a retry of this step. Adopted: a restore starts the previous version's stopped container again.
          const ours = sameImage && (existing?.Config.Labels?.[LABELS.deployId] === deployId || adoptStopped);
          if (existing && !ours) await removeContainer(docker, options.name!);
          if (!existing || !ours) await docker.createContainer(options);
          const container = docker.getContainer(options.name!);
          try {
            await container.start();
          } catch (err) {
            if (statusOf(err) === 304) {
              // already running: a retry of this step
            } else if (isPortInUse(err)) {
              await removeContainer(docker, options.name!);
              throw fail(FAILURE_TYPES.portInUse, `services.${service}.hostPorts.${color}: host port ${svc.hostPorts[color]} is already in use: free it or choose another port (${(err as Error).message})`);
            } else {
              throw err;
            }
          }
          // Cleanup set "no restart" when it stopped this container; a running app restarts with dockerd.
          if (existing && ours && existing.HostConfig.RestartPolicy?.Name !== 'unless-stopped') await container.update({ RestartPolicy: { Name: 'unless-stopped' } });
          ids[service] = (await container.inspect()).Id;
        }
        return ids;
      });
    },

    /** Stops (kept for a fast rollback), removes or keeps the given color. Refuses a color nginx routes to. */
    async retireColor(spec: DeploySpec, color: Color, policy: 'stop' | 'remove' | 'keep', drainMs = 0): Promise<string[]> {
      // The drain: the retired color finishes its in-flight requests (nginx no longer sends it any).
      if (drainMs > 0) await sleep(drainMs);
      if (policy === 'keep') return [];
      await assertNotRouted(router, spec.app, color, policy);
      return withHeartbeat(async () => {
        const touched: string[] = [];
        // The whole color retires: also the containers of a service this spec no longer has (it was
        // dropped from greenlight.yml), which would otherwise keep running unrouted forever.
        const dropped = (await appServicesOf(docker, spec.app, color)).filter((service) => !(service in spec.services));
        for (const service of [...Object.keys(spec.services), ...dropped]) {
          const name = containerName(spec.app, service, color);
          if (policy === 'remove') {
            if (await removeContainer(docker, name)) touched.push(name);
            continue;
          }
          const info = await inspectOrNull(docker, name);
          if (!info?.State.Running) continue;
          try {
            // Graceful: the app gets SIGTERM and finishes in-flight requests. No restart on dockerd restart.
            await docker.getContainer(name).update({ RestartPolicy: { Name: 'no' } });
            await docker.getContainer(name).stop({ t: 10 });
            touched.push(name);
          } catch (err) {
            if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
          }
        }
        return touched;
      });
    },

    /** Compensation: removes the target color's containers. Refuses a color nginx routes to. */
    async removeColor(spec: DeploySpec, color: Color): Promise<string[]> {
      await assertNotRouted(router, spec.app, color, 'remove');
      const removed: string[] = [];
      for (const service of Object.keys(spec.services)) {
        const name = containerName(spec.app, service, color);
        if (await removeContainer(docker, name)) removed.push(name);
      }
      return removed;
    },
  };
}
