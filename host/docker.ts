/**
 * The Docker engine of this host (dockerode): every Docker call greenlight makes goes through DockerHost.
 * An app's containers are found by their labels (so also those named by an older scheme), and a name
 * greenlight needs is taken over only from a container whose labels say it is that one (claimName), so
 * each call is safe to repeat and no app touches another's containers. Docker's own errors pass through
 * unchanged; what a failure means for a deploy is the activities' decision.
 */
import type Docker from 'dockerode';
import { InfrastructureError } from '../src/errors';
import { LABELS, type Color } from '../src/names';
import type { EngineIdentity } from '../src/types';
import { ownerLabels } from './builders/container';

type DockerError = Error & { statusCode?: number };

function statusOf(err: unknown): number | undefined {
  return (err as DockerError).statusCode;
}

function isPortInUse(err: unknown): boolean {
  return /port is already allocated|bind: address already in use/i.test(String((err as Error).message));
}

/** Docker's answer to a start whose fixed address on its network another container holds: "Address already in use". */
function isAddressInUse(err: unknown): boolean {
  const message = String((err as Error).message);
  return /address already in use/i.test(message) && !isPortInUse(err);
}

/** A container could not start because another container holds its address on the app network; the message is Docker's. */
export class ContainerAddressInUseError extends Error {
  override name = 'ContainerAddressInUseError';
}

/** A container could not start because its host port is taken; the message is Docker's. */
export class HostPortInUseError extends Error {
  override name = 'HostPortInUseError';
}

/**
 * A name greenlight needs is held by a container whose labels are not those of the container greenlight
 * would put there (another app's, or not greenlight's). Greenlight never removes it; the message names
 * it and the fix.
 */
export class ContainerNameTakenError extends Error {
  override name = 'ContainerNameTakenError';
  constructor(
    readonly container: string,
    wanted: Record<string, string>,
    found: Record<string, string>,
  ) {
    super(
      `container name "${container}" is taken by another container (${describeOwner(found)}; greenlight's would be ${describeOwner(wanted)}), ` +
        `which greenlight never removes: rename or remove that container (docker rename ${container} <other name>), or choose another app name`,
    );
  }
}

/** `app=shop, service=web, ...` from greenlight's labels, or that there are none. */
function describeOwner(labels: Record<string, string>): string {
  const set = Object.entries(labels).filter(([key, value]) => key !== LABELS.managed && value !== '');
  if (labels[LABELS.managed] !== 'true' || set.length === 0) return 'not labelled as greenlight\'s';
  return set.map(([key, value]) => `${key.replace(/^greenlight\./, '')}=${value}`).join(', ');
}

/** An app container as found by its labels: id, name (without Docker's leading "/"), state, labels. */
export interface AppContainer {
  id: string;
  name: string;
  /** Running or paused: its processes exist and hold its host ports (a paused one still has to be stopped). */
  running: boolean;
  labels: Record<string, string>;
  /** Its fixed address (IPv4, no port) per network it was created with one on. */
  addresses: Record<string, string>;
}

/** An app network's addressing: its configured IPv4 subnet and gateway, and the addresses containers hold or are fixed to on it. */
export interface NetworkAddressing {
  subnet: string;
  gateway: string | null;
  taken: Set<string>;
}

/** The fixed IPv4 address per network of a listed or inspected container. */
function fixedAddresses(networks: Record<string, { IPAMConfig?: { IPv4Address?: string } | null }> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(networks ?? {}).flatMap(([network, endpoint]) => (endpoint.IPAMConfig?.IPv4Address ? [[network, endpoint.IPAMConfig.IPv4Address]] : [])),
  );
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
  private engine: Promise<EngineIdentity> | undefined;

  constructor(private readonly docker: Docker) {}

  /**
   * Which Docker engine this is, for pinning a deploy to it: `docker info`'s ID, host name and data root,
   * and the host name for messages. The ID alone does not tell engines apart: Docker 20.10 derives it
   * from the machine's /etc/docker/key.json, so every engine of one machine (the fleet simulation's)
   * has the same one, and so do machines cloned from one image; those still differ by host name or data
   * root. Asked once per worker (its engine does not change); a failed ask is asked again next time.
   */
  identity(): Promise<EngineIdentity> {
    this.engine ??= this.docker.info().then(
      (info: { ID?: string; Name?: string; DockerRootDir?: string }) => ({ id: [info.ID, info.Name, info.DockerRootDir].map((part) => part ?? '?').join(' '), name: info.Name ?? '?' }),
      (err: unknown) => {
        this.engine = undefined;
        throw err;
      },
    );
    return this.engine;
  }

  /** `docker info`: the engine's host name, CPU count (what Docker checks --cpus against) and data root. */
  async engineInfo(): Promise<{ name: string; cpus: number; rootDir: string }> {
    const info = (await this.docker.info()) as { Name?: string; NCPU?: number; DockerRootDir?: string };
    return { name: info.Name ?? '?', cpus: info.NCPU ?? 0, rootDir: info.DockerRootDir ?? '/var/lib/docker' };
  }

  /**
   * Bytes the container has written to its writable layer (`docker inspect --size`: Docker walks the
   * layer's files, milliseconds for an app's), 0 when it is gone.
   */
  async writableLayerBytes(id: string): Promise<number> {
    try {
      const info = (await this.docker.getContainer(id).inspect({ size: true } as Docker.ContainerInspectOptions)) as { SizeRw?: number };
      return info.SizeRw ?? 0;
    } catch (err) {
      if (statusOf(err) === 404) return 0;
      throw err;
    }
  }

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

  /** Whether the engine keeps containers running while dockerd itself is down (`live-restore`). */
  async liveRestore(): Promise<boolean> {
    return ((await this.docker.info()) as { LiveRestoreEnabled?: boolean }).LiveRestoreEnabled === true;
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

  /** The local image's id (`sha256:...`), or null when the engine has no such image. */
  async imageId(image: string): Promise<string | null> {
    try {
      return (await this.docker.getImage(image).inspect()).Id;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  /** Every image a container on this engine uses (any app, running or stopped): by reference and by id. */
  async imagesInUse(): Promise<string[]> {
    const containers = await this.docker.listContainers({ all: true });
    return [...new Set(containers.flatMap((c) => [c.Image, c.ImageID]))].sort();
  }

  /** Removes the image reference `image` (its layers go with its last reference); false if there is none or a container uses it. */
  async removeImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).remove();
      return true;
    } catch (err) {
      if (statusOf(err) === 404 || statusOf(err) === 409) return false;
      throw err;
    }
  }

  /** Whether the local image has a HEALTHCHECK (its own or its base's): what `health.type: docker` reads. */
  async imageHasHealthcheck(image: string): Promise<boolean> {
    const info = await this.docker.getImage(image).inspect();
    const test = info.Config?.Healthcheck?.Test;
    return Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
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

  /**
   * The network's IPv4 subnet as configured (Docker fixes container addresses only on such a network)
   * and every address on it a container holds (running) or is fixed to (running or not); null when the
   * network has no configured IPv4 subnet or does not exist.
   */
  async networkAddressing(name: string): Promise<NetworkAddressing | null> {
    let info: Docker.NetworkInspectInfo;
    try {
      info = (await this.docker.getNetwork(name).inspect()) as Docker.NetworkInspectInfo;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
    const config = (info.IPAM?.Config ?? []).find((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c.Subnet ?? ''));
    if (info.Name !== name || !config?.Subnet) return null;
    const taken = new Set(Object.values(info.Containers ?? {}).map((c) => c.IPv4Address.split('/')[0]!).filter(Boolean));
    for (const c of await this.docker.listContainers({ all: true })) {
      const fixed = fixedAddresses(c.NetworkSettings?.Networks as Parameters<typeof fixedAddresses>[0])[name];
      if (fixed) taken.add(fixed);
    }
    return { subnet: config.Subnet, gateway: config.Gateway ?? null, taken };
  }

  /** The container port the container exposes (its first TCP one), from its inspect data; null if none. */
  static exposedPort(info: Docker.ContainerInspectInfo): number | null {
    const key = Object.keys(info.Config.ExposedPorts ?? {}).find((k) => k.endsWith('/tcp'));
    return key === undefined ? null : Number(key.split('/')[0]);
  }

  /** The container's inspect data (by name or id), or null if there is no such container. */
  async inspectOrNull(name: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.docker.getContainer(name).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  /**
   * Checks that `name` may be used for a container with these labels: null if no container has it, its
   * inspect data if that container's owner labels (ownerLabels) are the same, so it is a previous
   * attempt's, greenlight's to reuse or replace. Throws ContainerNameTakenError otherwise.
   */
  async claimName(name: string, labels: Record<string, string> | undefined): Promise<Docker.ContainerInspectInfo | null> {
    const info = await this.inspectOrNull(name);
    if (!info) return null;
    const wanted = ownerLabels(labels);
    const found = ownerLabels(info.Config.Labels ?? {});
    if (Object.keys(wanted).some((key) => wanted[key] !== found[key])) throw new ContainerNameTakenError(name, wanted, found);
    return info;
  }

  /** Creates the container: its id. */
  async create(options: Docker.ContainerCreateOptions): Promise<string> {
    return (await this.docker.createContainer(options)).id;
  }

  /**
   * Starts the container: false if it was already running (a retry). Throws HostPortInUseError when its
   * host port is taken, ContainerAddressInUseError when its fixed address is; the container is then left
   * created, not started.
   */
  async start(name: string): Promise<boolean> {
    try {
      await this.docker.getContainer(name).start();
      return true;
    } catch (err) {
      if (statusOf(err) === 304) return false;
      if (isPortInUse(err)) throw new HostPortInUseError((err as Error).message);
      if (isAddressInUse(err)) throw new ContainerAddressInUseError((err as Error).message);
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
   * Graceful stop: the app gets SIGTERM and `seconds` (its service's stopTimeout; Docker's default 10 s)
   * to finish in-flight requests or its job, and no restart when dockerd restarts. False if it was not
   * running or is gone.
   */
  async stopGracefully(name: string, seconds = 10): Promise<boolean> {
    try {
      await this.setRestartPolicy(name, 'no');
      await this.docker.getContainer(name).stop({ t: seconds });
      return true;
    } catch (err) {
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
      return false;
    }
  }

  /**
   * The app's containers of this color (and service), running or not, found by greenlight's labels
   * whatever their name (also those of the older `<app>-<service>-<color>` scheme), sorted by name
   * (code unit order, not the locale's).
   */
  async appContainers(app: string, color: Color, service?: string): Promise<AppContainer[]> {
    const label = [`${LABELS.managed}=true`, `${LABELS.app}=${app}`, `${LABELS.color}=${color}`, `${LABELS.role}=app`, ...(service === undefined ? [] : [`${LABELS.service}=${service}`])];
    const containers = await this.docker.listContainers({ all: true, filters: { label } });
    return containers
      .map((c) => ({ id: c.Id, name: (c.Names[0] ?? c.Id).replace(/^\//, ''), running: c.State === 'running' || c.State === 'paused', labels: c.Labels, addresses: fixedAddresses(c.NetworkSettings?.Networks as Parameters<typeof fixedAddresses>[0]) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every container labelled for the app (any role, color or state), for `greenlight plan`'s drift check. */
  async labelledContainers(app: string): Promise<Array<{ name: string; running: boolean; image: string; labels: Record<string, string> }>> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`, `${LABELS.app}=${app}`] } });
    return containers.map((c) => ({ name: (c.Names[0] ?? c.Id).replace(/^\//, ''), running: c.State === 'running', image: c.Image, labels: c.Labels })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Runs a one-off container to its end (exit code, or null on time-out) and removes it. Idempotent by
   * name: a previous attempt's container of the same name is removed first, and only that (claimName).
   */
  async runOneOff(options: Docker.ContainerCreateOptions, timeoutMs: number): Promise<OneOffRun> {
    const name = options.name!;
    if (await this.claimName(name, options.Labels)) await this.remove(name);
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

  /**
   * Runs `cmd` inside the running container (docker exec): its exit code, or null when it did not end
   * within `timeoutMs` (or the container does not run). Output is discarded.
   */
  async exec(name: string, cmd: string[], timeoutMs: number): Promise<number | null> {
    try {
      const exec = await this.docker.getContainer(name).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        new Promise<boolean>((resolve) => {
          stream.on('end', () => resolve(true));
          stream.on('close', () => resolve(true));
          stream.on('error', () => resolve(true));
          stream.resume();
        }),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]).finally(() => clearTimeout(timer));
      if (!ended) {
        stream.destroy();
        return null;
      }
      const info = await exec.inspect();
      return info.Running ? null : (info.ExitCode ?? null);
    } catch (err) {
      if (statusOf(err) === 404 || statusOf(err) === 409) return null;
      throw err;
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
