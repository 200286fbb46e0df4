/**
 * The Docker engine of this host (dockerode): every Docker call greenlight makes goes through DockerHost.
 * Containers are addressed by their deterministic names, so each call is safe to repeat. Docker's own
 * errors pass through unchanged; what a failure means for a deploy is the activities' decision.
 */
import type Docker from 'dockerode';
import { InfrastructureError } from '../src/errors';
import { LABELS, type Color } from '../src/names';

type DockerError = Error & { statusCode?: number };

function statusOf(err: unknown): number | undefined {
  return (err as DockerError).statusCode;
}

function isPortInUse(err: unknown): boolean {
  return /port is already allocated|address already in use/i.test(String((err as Error).message));
}

/** A container could not start because its host port is taken; the message is Docker's. */
export class HostPortInUseError extends Error {
  override name = 'HostPortInUseError';
}

/** How a one-off container ended: its exit code (null: it ran out of time) and its last log lines. */
export interface OneOffRun {
  exitCode: number | null;
  output: string;
}

/** A Docker network as the preflight judges it. */
export interface NetworkInfo {
  name: string;
  driver: string;
  /** Docker's own `bridge` network (no name resolution between containers). */
  defaultBridge: boolean;
}

/** Demultiplexes a non-TTY docker log stream (8-byte frame headers). */
export function demuxLogs(buffer: Buffer): string {
  let out = '';
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    out += buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return out;
}

export class DockerHost {
  constructor(private readonly docker: Docker) {}

  /** Throws InfrastructureError when the engine does not answer. */
  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new InfrastructureError(`Docker engine unreachable (${(err as Error).message}): start dockerd (scripts/docker.sh)`);
    }
  }

  /** The engine's version and API version; Docker's own error when it does not answer. */
  async version(): Promise<{ version: string; apiVersion: string }> {
    const info = await this.docker.version();
    return { version: info.Version, apiVersion: info.ApiVersion };
  }

  async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  /**
   * The network of that exact name (Docker also finds one by an id prefix: that is not it), with its
   * driver and whether it is Docker's default bridge; null if there is none.
   */
  async networkOrNull(name: string): Promise<NetworkInfo | null> {
    try {
      const info = (await this.docker.getNetwork(name).inspect()) as Docker.NetworkInspectInfo;
      if (info.Name !== name) return null;
      return { name: info.Name, driver: info.Driver, defaultBridge: info.Options?.['com.docker.network.bridge.default_bridge'] === 'true' };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  /** The container's inspect data, or null if there is no container of that name. */
  async inspectOrNull(name: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.docker.getContainer(name).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  /** The container's id; throws if it does not exist. */
  async containerId(name: string): Promise<string> {
    return (await this.docker.getContainer(name).inspect()).Id;
  }

  async create(options: Docker.ContainerCreateOptions): Promise<void> {
    await this.docker.createContainer(options);
  }

  /**
   * Starts the container: false if it was already running (a retry). Throws HostPortInUseError when its
   * host port is taken; the container is then left created, not started.
   */
  async start(name: string): Promise<boolean> {
    try {
      await this.docker.getContainer(name).start();
      return true;
    } catch (err) {
      if (statusOf(err) === 304) return false;
      if (isPortInUse(err)) throw new HostPortInUseError((err as Error).message);
      throw err;
    }
  }

  /** Force-removes the container. False if there was none; true if a removal is already under way. */
  async remove(name: string): Promise<boolean> {
    try {
      await this.docker.getContainer(name).remove({ force: true });
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      if (statusOf(err) === 409 && /already in progress/.test(String((err as Error).message))) return true;
      throw err;
    }
  }

  /** What dockerd does with the container when it (or dockerd) stops. */
  async setRestartPolicy(name: string, policy: 'no' | 'unless-stopped'): Promise<void> {
    await this.docker.getContainer(name).update({ RestartPolicy: { Name: policy } });
  }

  /**
   * Graceful stop: the app gets SIGTERM and 10 s to finish in-flight requests, and no restart when dockerd
   * restarts. False if it was not running or is gone.
   */
  async stopGracefully(name: string): Promise<boolean> {
    try {
      await this.setRestartPolicy(name, 'no');
      await this.docker.getContainer(name).stop({ t: 10 });
      return true;
    } catch (err) {
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
      return false;
    }
  }

  /** Services that have an app container (running or not) of this color, by greenlight's labels. */
  async appServicesOf(app: string, color: Color): Promise<string[]> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${LABELS.app}=${app}`, `${LABELS.color}=${color}`, `${LABELS.role}=app`] } });
    return [...new Set(containers.map((c) => c.Labels[LABELS.service]).filter((service): service is string => Boolean(service)))].sort();
  }

  /**
   * Runs a one-off container to its end (exit code, or null on time-out) and removes it. Idempotent by
   * name: a previous attempt's container of the same name is removed first.
   */
  async runOneOff(options: Docker.ContainerCreateOptions, timeoutMs: number): Promise<OneOffRun> {
    const name = options.name!;
    await this.remove(name);
    const container = await this.docker.createContainer(options);
    try {
      await container.start();
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        container.wait() as Promise<{ StatusCode: number }>,
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs))),
      ]).finally(() => clearTimeout(timer));
      return { exitCode: waited?.StatusCode ?? null, output: await this.logTail(name, 20) };
    } finally {
      await this.remove(name);
    }
  }

  /** The container's last `lines` log lines (stdout and stderr), or '' if they cannot be read. */
  async logTail(name: string, lines = 5): Promise<string> {
    try {
      const buf = (await this.docker.getContainer(name).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
      return demuxLogs(Buffer.from(buf)).trim();
    } catch {
      return '';
    }
  }
}
