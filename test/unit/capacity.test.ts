/**
 * The capacity check of validate (host/capacity.ts): what the new color needs, how it is compared with
 * what the host has, and the messages, table-driven on specs that go through the real schema.
 */
import { describe, expect, it } from 'vitest';
import {
  capacityCheckFromEnv,
  capacityNeeds,
  capacityProblems,
  formatBytes,
  measureCapacity,
  ONE_DEFAULT_SERVICE,
  parseMemAvailable,
  type HostCapacity,
} from '../../host/capacity';
import { createActivities } from '../../activities';
import type { DockerHost } from '../../host/docker';
import type { NginxRouter } from '../../host/nginx';
import { GreenlightError } from '../../src/errors';
import { parseDeploySpec } from '../../src/config/load';
import { shopSpec, webSpec } from '../../harness/specs';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

/** A roomy host: 20 GiB of memory available, 2 CPUs, 80 GiB free on Docker's data root, no containers yet. */
const roomy = (overrides: Partial<HostCapacity> = {}): HostCapacity => ({
  host: 'web-1',
  memoryAvailableBytes: 20 * GIB,
  cpus: 2,
  dockerRootDir: '/var/lib/docker',
  diskFreeBytes: 80 * GIB,
  writableLayerBytes: {},
  ...overrides,
});

const web = (limits: Record<string, unknown> = {}) => webSpec('shop', { image: 'web:1', port: 3000, hostPorts: { blue: 5001, green: 5002 }, ...(Object.keys(limits).length ? { limits } : {}) });
/** The example's two services, backend with its own memory limit, frontend defaulted (512 MiB). */
const shop = (backendMemory = '512m') => parseDeploySpec(shopSpec({ backend: { limits: { memory: backendMemory } } }));

describe('capacityNeeds', () => {
  it("sums the services' memory limits, log caps and writable layers, plus the reserves", () => {
    // backend's existing containers wrote 200 MiB; frontend's none, so it gets the 64 MiB floor.
    expect(capacityNeeds(shop('1g'), { backend: 200 * MIB, frontend: 1 * MIB })).toEqual({
      services: [
        { service: 'backend', memoryBytes: 1 * GIB, diskBytes: 30 * MIB + 200 * MIB, writableLayerBytes: 200 * MIB },
        { service: 'frontend', memoryBytes: 512 * MIB, diskBytes: 30 * MIB + 64 * MIB, writableLayerBytes: 64 * MIB },
      ],
      memoryBytes: 1 * GIB + 512 * MIB + 256 * MIB,
      diskBytes: 30 * MIB + 200 * MIB + 30 * MIB + 64 * MIB + 1 * GIB,
    });
  });

  it('ONE_DEFAULT_SERVICE is what a one-service spec with the defaults needs (what doctor compares with)', () => {
    const { memoryBytes, diskBytes } = capacityNeeds(web(), {});
    expect(ONE_DEFAULT_SERVICE).toEqual({ memoryBytes, diskBytes });
  });

  it('counts the default limits for a spec validated before limits existed (an in-flight deploy)', () => {
    const spec = web();
    delete (spec.services.web as Partial<typeof spec.services.web>).limits;
    expect(capacityNeeds(spec, {}).memoryBytes).toBe(512 * MIB + 256 * MIB);
  });
});

describe('capacityProblems', () => {
  const memoryShort = (available: string, needed: string, parts: string, fix: string) =>
    `${fix.split(' ')[1]}: host web-1 has ${available} of memory available, the green color needs ${needed} (${parts}, plus 256 MiB kept for the host; the live color keeps running until cleanup): ${fix}, or free memory on web-1`;

  it.each([
    { name: 'the defaults on a roomy host', spec: shop(), capacity: roomy(), problems: [] },
    { name: 'memory needed exactly what is available', spec: web({ memory: '1g' }), capacity: roomy({ memoryAvailableBytes: 1 * GIB + 256 * MIB }), problems: [] },
    {
      name: 'a memory limit that cannot fit',
      spec: web({ memory: '1000g' }),
      capacity: roomy(),
      problems: [memoryShort('20 GiB', '1000.3 GiB', 'web 1000 GiB', 'lower services.web.limits.memory')],
    },
    {
      name: 'one byte short',
      spec: web({ memory: '1g' }),
      capacity: roomy({ memoryAvailableBytes: 1 * GIB + 256 * MIB - 1 }),
      problems: [memoryShort('1.2 GiB', '1.3 GiB', 'web 1 GiB', 'lower services.web.limits.memory')],
    },
    {
      name: 'two services: the largest limit is named, and the others',
      spec: shop('2g'),
      capacity: roomy({ memoryAvailableBytes: 2 * GIB }),
      problems: [memoryShort('2 GiB', '2.8 GiB', "backend 2 GiB, frontend 512 MiB", "lower services.backend.limits.memory (the largest), or the other services' limits")],
    },
    {
      name: 'disk short, with a measured writable layer',
      spec: shop(),
      capacity: roomy({ diskFreeBytes: 1 * GIB, writableLayerBytes: { backend: 300 * MIB } }),
      problems: [
        "disk: host web-1 has 1 GiB free on Docker's data root /var/lib/docker, the green color needs 1.4 GiB (2 containers with 30 MiB of logs each, writable layers backend 300 MiB, frontend 64 MiB, plus 1 GiB kept free): free disk on web-1 (docker system df shows what uses it; docker image prune removes dangling images)",
      ],
    },
    {
      name: 'more CPUs than the host has',
      spec: web({ cpus: 4 }),
      capacity: roomy(),
      problems: ['services.web.limits.cpus: 4 CPUs asked, but host web-1 has 2 (Docker refuses more than the host has): lower services.web.limits.cpus to at most 2'],
    },
    { name: "as many CPUs as the host has", spec: web({ cpus: 2 }), capacity: roomy(), problems: [] },
    {
      name: 'memory and disk that cannot be read',
      spec: web(),
      capacity: roomy({ memoryAvailableBytes: null, memoryReadError: '/proc/meminfo: ENOENT', diskFreeBytes: null, diskReadError: 'EACCES: permission denied' }),
      problems: [
        'services.web.limits.memory: cannot read the memory available on host web-1 (/proc/meminfo: ENOENT): run the worker on the Docker host itself (Linux), or set GREENLIGHT_CAPACITY_CHECK=off on its worker to skip this check',
        "disk: cannot read the free space of Docker's data root /var/lib/docker on host web-1 (EACCES: permission denied): run the worker on the Docker host itself, or set GREENLIGHT_CAPACITY_CHECK=off on its worker to skip this check",
      ],
    },
    {
      name: 'everything short at once: every problem is reported',
      spec: web({ memory: '4g', cpus: 8 }),
      capacity: roomy({ memoryAvailableBytes: 1 * GIB, diskFreeBytes: 512 * MIB }),
      problems: [
        'services.web.limits.cpus: 8 CPUs asked, but host web-1 has 2 (Docker refuses more than the host has): lower services.web.limits.cpus to at most 2',
        memoryShort('1 GiB', '4.3 GiB', 'web 4 GiB', 'lower services.web.limits.memory'),
        "disk: host web-1 has 512 MiB free on Docker's data root /var/lib/docker, the green color needs 1.1 GiB (1 container with 30 MiB of logs, writable layer web 64 MiB, plus 1 GiB kept free): free disk on web-1 (docker system df shows what uses it; docker image prune removes dangling images)",
      ],
    },
  ])('$name', ({ spec, capacity, problems }) => {
    expect(capacityProblems(spec, 'green', capacity)).toEqual(problems);
  });
});

describe('formatBytes', () => {
  it.each([
    [512 * 1024, '512 KiB'],
    [1 * MIB, '1 MiB'],
    [1.25 * MIB, '1.3 MiB'],
    [1023 * MIB, '1023 MiB'],
    [1 * GIB, '1 GiB'],
    [1.5 * GIB, '1.5 GiB'],
    [1000.25 * GIB, '1000.3 GiB'],
  ])('%d bytes are %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('parseMemAvailable', () => {
  it.each([
    ['MemTotal:       24683584 kB\nMemFree:         1000000 kB\nMemAvailable:   24039328 kB\nBuffers:  1 kB\n', 24039328 * 1024],
    ['MemTotal:       24683584 kB\nMemFree:         1000000 kB\n', null],
    ['', null],
  ])('reads MemAvailable from /proc/meminfo (%#)', (text, bytes) => {
    expect(parseMemAvailable(text)).toBe(bytes);
  });
});

describe('capacityCheckFromEnv', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['on', true],
    ['off', false],
  ])('GREENLIGHT_CAPACITY_CHECK=%j: check %s', (value, on) => {
    expect(capacityCheckFromEnv({ GREENLIGHT_CAPACITY_CHECK: value })).toBe(on);
  });

  it('a worker with a bad setting does not start: createActivities refuses, naming it', () => {
    const build = () => createActivities({ docker: {} as ConstructorParameters<typeof DockerHost>[0], router: {} as NginxRouter, env: { GREENLIGHT_CAPACITY_CHECK: 'disabled' } });
    expect(build).toThrow(/^GREENLIGHT_CAPACITY_CHECK="disabled" is not a setting/);
  });

  it.each(['no', 'OFF', 'false', '0'])('refuses GREENLIGHT_CAPACITY_CHECK=%j, naming the setting and what it takes', (value) => {
    expect(() => capacityCheckFromEnv({ GREENLIGHT_CAPACITY_CHECK: value })).toThrow(
      new GreenlightError(`GREENLIGHT_CAPACITY_CHECK="${value}" is not a setting: use "off" to skip validate's memory and disk check, or leave it unset (or "on")`),
    );
  });
});

describe('measureCapacity', () => {
  const engine = { host: 'web-1', cpus: 2, dockerRootDir: '/', writableLayerBytes: { web: 5 } };

  it("reads MemAvailable and the free space of the data root's filesystem", async () => {
    const capacity = await measureCapacity(engine, async () => 'MemAvailable:   2048 kB\n');
    expect(capacity).toMatchObject({ ...engine, memoryAvailableBytes: 2048 * 1024 });
    expect(capacity.diskFreeBytes).toBeGreaterThan(0);
    expect(capacity.diskReadError).toBeUndefined();
  });

  it('says why when neither can be read', async () => {
    const capacity = await measureCapacity({ ...engine, dockerRootDir: '/nonexistent/docker' }, async () => {
      throw new Error('ENOENT: no such file or directory');
    });
    expect(capacity).toMatchObject({ memoryAvailableBytes: null, memoryReadError: '/proc/meminfo: ENOENT: no such file or directory', diskFreeBytes: null });
    expect(capacity.diskReadError).toMatch(/^ENOENT: no such file or directory, statfs '\/nonexistent\/docker'$/);
  });

  it('says so when /proc/meminfo has no MemAvailable', async () => {
    expect(await measureCapacity(engine, async () => 'MemTotal: 1 kB\n')).toMatchObject({ memoryAvailableBytes: null, memoryReadError: '/proc/meminfo has no MemAvailable line' });
  });
});
