/**
 * Whether the new color fits on this host, checked at validate before anything is created: during a
 * deploy both colors run (the live one keeps serving until cleanup), so a host sized for one color can
 * run out of memory or disk halfway through deploy-green. `capacityNeeds` and `capacityProblems` are
 * pure; `measureCapacity` reads the host (the worker runs on its Docker host, as nginx and the host-port
 * checks already require).
 *
 * The rules, and why:
 * - Memory needed: the sum of the new color's memory limits (one container per service; every container
 *   has a limit, 512 MiB by default), plus MEMORY_RESERVE_BYTES for the host itself. The one-off
 *   containers (validation commands, migration) are not added: each runs alone, before the new color
 *   starts, and is removed when it ends; its limit is one service's, which the sum already covers.
 * - Memory free: the kernel's MemAvailable (/proc/meminfo): what new work can take without swapping,
 *   after everything already running, the live color included, and counting reclaimable page cache. Not
 *   `docker info` MemTotal minus the containers' use: that misses everything outside Docker on the host
 *   (the database, nginx, the worker itself) and counts page cache as used.
 * - Disk needed, on the filesystem of Docker's data root (the images are already loaded, validate checked
 *   that): per new container its log cap (json-file rotation, APP_LOG) and its writable layer, estimated
 *   as the largest one the service's existing containers have (either color) and at least
 *   WRITABLE_LAYER_MIN_BYTES; plus DISK_RESERVE_BYTES, below which Docker and the host itself fail.
 * - CPUs: `limits.cpus` above the host's CPU count is refused by Docker at create, so it is refused here.
 *   CPU limits are caps, not reservations: they are not summed.
 */
import { statfs, readFile } from 'node:fs/promises';
import { APP_LOG } from './builders/container';
import { DEFAULT_LIMITS, type DeploySpec } from '../src/config/schema';
import { GreenlightError } from '../src/errors';
import type { Color } from '../src/names';

/** The worker's switch: `off` skips the capacity check (every other check of validate still runs). */
export const CAPACITY_CHECK_VAR = 'GREENLIGHT_CAPACITY_CHECK';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
/** Memory left for the host beyond the new color's limits: the worker, nginx's reloads, docker exec, the kernel. */
export const MEMORY_RESERVE_BYTES = 256 * MIB;
/** Disk left free on Docker's data root: below about this, image and log writes start failing host-wide. */
export const DISK_RESERVE_BYTES = 1 * GIB;
/** A new container's writable layer when no container of the service has one at least this large. */
export const WRITABLE_LAYER_MIN_BYTES = 64 * MIB;

/** What the host has, as `measureCapacity` read it. A null amount could not be read (`...ReadError` says why). */
export interface HostCapacity {
  /** The host as messages name it: the fleet host, or the Docker engine's host name. */
  host: string;
  memoryAvailableBytes: number | null;
  memoryReadError?: string;
  /** The Docker engine's CPU count (docker info NCPU), which Docker checks `--cpus` against. */
  cpus: number;
  dockerRootDir: string;
  diskFreeBytes: number | null;
  diskReadError?: string;
  /** Per service, the largest writable layer among the app's existing containers of it (either color). */
  writableLayerBytes: Record<string, number>;
}

export interface ServiceNeed {
  service: string;
  memoryBytes: number;
  diskBytes: number;
  writableLayerBytes: number;
}

export interface CapacityNeeds {
  services: ServiceNeed[];
  /** Sum of the services' memory limits plus MEMORY_RESERVE_BYTES. */
  memoryBytes: number;
  /** Sum of the services' log caps and writable layers plus DISK_RESERVE_BYTES. */
  diskBytes: number;
}

/** Whether the check runs: on unless the worker's environment sets GREENLIGHT_CAPACITY_CHECK=off. */
export function capacityCheckFromEnv(env: Record<string, string | undefined>): boolean {
  const value = env[CAPACITY_CHECK_VAR];
  if (value === undefined || value === '' || value === 'on') return true;
  if (value === 'off') return false;
  throw new GreenlightError(`${CAPACITY_CHECK_VAR}="${value}" is not a setting: use "off" to skip validate's memory and disk check, or leave it unset (or "on")`);
}

/** What the new color needs on one host: one container per service. */
export function capacityNeeds(spec: DeploySpec, writableLayerBytes: Record<string, number>): CapacityNeeds {
  const services = Object.entries(spec.services).map(([service, svc]): ServiceNeed => {
    const writable = Math.max(WRITABLE_LAYER_MIN_BYTES, writableLayerBytes[service] ?? 0);
    return { service, memoryBytes: (svc.limits ?? DEFAULT_LIMITS).memory, diskBytes: APP_LOG.bytes + writable, writableLayerBytes: writable };
  });
  const sum = (pick: (need: ServiceNeed) => number) => services.reduce((total, need) => total + pick(need), 0);
  return { services, memoryBytes: sum((n) => n.memoryBytes) + MEMORY_RESERVE_BYTES, diskBytes: sum((n) => n.diskBytes) + DISK_RESERVE_BYTES };
}

/** What the smallest deploy needs, one service with the default limits: a host with less refuses every deploy. */
export const ONE_DEFAULT_SERVICE = {
  memoryBytes: DEFAULT_LIMITS.memory + MEMORY_RESERVE_BYTES,
  diskBytes: APP_LOG.bytes + WRITABLE_LAYER_MIN_BYTES + DISK_RESERVE_BYTES,
} as const;

/** Bytes in the unit a person reads them in: "512 MiB", "1.5 GiB", "1000 GiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${trim(bytes / GIB)} GiB`;
  if (bytes >= MIB) return `${trim(bytes / MIB)} MiB`;
  return `${trim(bytes / 1024)} KiB`;
}

/** At most one decimal, none when it is 0: 1.5, 2, 1000. */
function trim(amount: number): string {
  const rounded = Math.round(amount * 10) / 10;
  return Number.isInteger(rounded) ? String(rounded) : rounded.toFixed(1);
}

/**
 * Every way the new color would not fit on the host, each naming the field, the host, what is needed and
 * what is free, and the fix; [] when it fits.
 */
export function capacityProblems(spec: DeploySpec, targetColor: Color, capacity: HostCapacity): string[] {
  const { host } = capacity;
  const needs = capacityNeeds(spec, capacity.writableLayerBytes);
  const problems: string[] = [];

  for (const [service, svc] of Object.entries(spec.services)) {
    const cpus = svc.limits?.cpus;
    if (cpus !== undefined && cpus > capacity.cpus) {
      problems.push(`services.${service}.limits.cpus: ${cpus} CPUs asked, but host ${host} has ${capacity.cpus} (Docker refuses more than the host has): lower services.${service}.limits.cpus to at most ${capacity.cpus}`);
    }
  }

  const largest = [...needs.services].sort((a, b) => b.memoryBytes - a.memoryBytes)[0]!;
  const memoryField = `services.${largest.service}.limits.memory`;
  if (capacity.memoryAvailableBytes === null) {
    problems.push(`${memoryField}: cannot read the memory available on host ${host} (${capacity.memoryReadError}): run the worker on the Docker host itself (Linux), or set ${CAPACITY_CHECK_VAR}=off on its worker to skip this check`);
  } else if (needs.memoryBytes > capacity.memoryAvailableBytes) {
    const parts = needs.services.map((n) => `${n.service} ${formatBytes(n.memoryBytes)}`).join(', ');
    const others = needs.services.length > 1 ? ' (the largest), or the other services\' limits' : '';
    problems.push(
      `${memoryField}: host ${host} has ${formatBytes(capacity.memoryAvailableBytes)} of memory available, the ${targetColor} color needs ${formatBytes(needs.memoryBytes)} ` +
        `(${parts}, plus ${formatBytes(MEMORY_RESERVE_BYTES)} kept for the host; the live color keeps running until cleanup): lower ${memoryField}${others}, or free memory on ${host}`,
    );
  }

  const where = `Docker's data root ${capacity.dockerRootDir}`;
  if (capacity.diskFreeBytes === null) {
    problems.push(`disk: cannot read the free space of ${where} on host ${host} (${capacity.diskReadError}): run the worker on the Docker host itself, or set ${CAPACITY_CHECK_VAR}=off on its worker to skip this check`);
  } else if (needs.diskBytes > capacity.diskFreeBytes) {
    const layers = needs.services.map((n) => `${n.service} ${formatBytes(n.writableLayerBytes)}`).join(', ');
    const containers = needs.services.length > 1 ? `${needs.services.length} containers` : '1 container';
    problems.push(
      `disk: host ${host} has ${formatBytes(capacity.diskFreeBytes)} free on ${where}, the ${targetColor} color needs ${formatBytes(needs.diskBytes)} ` +
        `(${containers} with ${formatBytes(APP_LOG.bytes)} of logs${needs.services.length > 1 ? ' each' : ''}, writable layer${needs.services.length > 1 ? 's' : ''} ${layers}, plus ${formatBytes(DISK_RESERVE_BYTES)} kept free): ` +
        `free disk on ${host} (docker system df shows what uses it; docker image prune removes dangling images)`,
    );
  }
  return problems;
}

/** MemAvailable from the text of /proc/meminfo, in bytes; null if it has no such line. */
export function parseMemAvailable(meminfo: string): number | null {
  const match = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo);
  return match ? Number(match[1]) * 1024 : null;
}

/** What the engine says about itself, and the writable layers of the app's existing containers. */
export interface EngineFacts {
  host: string;
  cpus: number;
  dockerRootDir: string;
  writableLayerBytes: Record<string, number>;
}

/** Reads this machine's available memory and the free space of the engine's data root. */
export async function measureCapacity(engine: EngineFacts, readMeminfo = () => readFile('/proc/meminfo', 'utf8')): Promise<HostCapacity> {
  const capacity: HostCapacity = { ...engine, memoryAvailableBytes: null, diskFreeBytes: null };
  try {
    capacity.memoryAvailableBytes = parseMemAvailable(await readMeminfo());
    if (capacity.memoryAvailableBytes === null) capacity.memoryReadError = '/proc/meminfo has no MemAvailable line';
  } catch (err) {
    capacity.memoryReadError = `/proc/meminfo: ${(err as Error).message}`;
  }
  try {
    const fs = await statfs(engine.dockerRootDir);
    capacity.diskFreeBytes = fs.bavail * fs.bsize;
  } catch (err) {
    capacity.diskReadError = (err as Error).message;
  }
  return capacity;
}
