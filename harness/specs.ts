/** Specs and host-state helpers shared by the e2e tests. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput, DeploySpec } from '../../src/config/schema';
import type { NginxRouter } from '../../host/nginx';
import { LABELS } from '../../src/names';
import { REPO, TEMPORAL_ADDRESS } from './paths';

const run = promisify(execFile);

/** A two-service app (backend + frontend behind one router), like the seed, on ports from `base`. */
export function twoServiceSpec(app: string, base: number, overrides: Partial<DeploySpecInput> = {}): DeploySpecInput {
  return {
    app,
    router: { port: base },
    services: {
      backend: {
        image: 'greenlight-example-backend:v1',
        port: 4000,
        hostPorts: { blue: base + 10, green: base + 12 },
        route: '/api',
        health: { endpoints: ['/api/health', '/api/health/detailed'] },
        verifyPaths: ['/api/items'],
      },
      frontend: {
        image: 'greenlight-example-frontend:v1',
        port: 3000,
        hostPorts: { blue: base + 20, green: base + 21 },
        route: '/',
        health: { endpoints: ['/health'] },
        verifyPaths: ['/'],
      },
    },
    health: { interval: '200ms', successes: 3, deadline: '20s' },
    verify: { window: '3s', interval: '100ms' },
    cleanup: { previous: 'stop', drain: '500ms' },
    ...overrides,
  };
}

export function withImages(spec: DeploySpecInput, images: Record<string, string>): DeploySpec {
  const services = Object.fromEntries(Object.entries(spec.services).map(([name, svc]) => [name, { ...svc, image: images[name] ?? svc.image }]));
  return parseDeploySpec({ ...spec, services });
}

export interface ContainerState {
  name: string;
  state: string;
  image: string;
}

export async function appContainers(docker: Docker, app: string): Promise<ContainerState[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.app}=${app}`] } });
  return list
    .map((c) => ({ name: c.Names[0]!.replace(/^\//, ''), state: c.State, image: c.Labels[LABELS.image] ?? c.Image }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes everything an app left on this host: containers and its router config. */
export async function resetApp(docker: Docker, router: NginxRouter, app: string): Promise<void> {
  for (const c of await appContainers(docker, app)) await docker.getContainer(c.name).remove({ force: true }).catch(() => undefined);
  await router.removeApp(app);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (bin/greenlight) as a subprocess. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(`${REPO}/bin/greenlight`, args, { env: { ...process.env, TEMPORAL_ADDRESS, ...env }, timeout: 240_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export async function get(url: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), body: await res.text() };
}

export async function waitUntil<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
