/**
 * Deploy specs for the tests, the bench and the demo harness: the example app's two services (backend
 * on "/api", frontend on "/") and a one-service app ("web"). Callers pass their own images, ports and
 * settings; a builder only fixes the shape.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseDeploySpec } from '../src/config/load';
import type { DeploySpecInput, DeploySpec } from '../src/config/schema';

export type ServiceInput = DeploySpecInput['services'][string];
type HostPorts = ServiceInput['hostPorts'];

/** The example app's images at one version (tag): `exampleImages('v2')`. */
export function exampleImages(tag: string): { backend: string; frontend: string } {
  return { backend: `greenlight-example-backend:${tag}`, frontend: `greenlight-example-frontend:${tag}` };
}

export interface TwoServiceOptions {
  images: { backend: string; frontend: string };
  hostPorts: { backend: HostPorts; frontend: HostPorts };
  /** More fields of a service (env, health, verifyPaths, ...). */
  backend?: Partial<ServiceInput>;
  frontend?: Partial<ServiceInput>;
}

/** The example app's services: backend (container port 4000) on "/api", frontend (3000) on "/". */
export function twoServices({ images, hostPorts, backend = {}, frontend = {} }: TwoServiceOptions): Record<string, ServiceInput> {
  return {
    backend: { image: images.backend, port: 4000, hostPorts: hostPorts.backend, route: '/api', ...backend },
    frontend: { image: images.frontend, port: 3000, hostPorts: hostPorts.frontend, route: '/', ...frontend },
  };
}

/** The example app on the real images (v1), router on `base` and host ports from it, with fast health, verify and drain. */
export function twoServiceSpec(app: string, base: number, overrides: Partial<DeploySpecInput> = {}): DeploySpecInput {
  return {
    app,
    router: { port: base },
    services: twoServices({
      images: exampleImages('v1'),
      hostPorts: { backend: { blue: base + 10, green: base + 12 }, frontend: { blue: base + 20, green: base + 21 } },
      backend: { health: { endpoints: ['/api/health', '/api/health/detailed'] }, verifyPaths: ['/api/items'] },
      frontend: { health: { endpoints: ['/health'] }, verifyPaths: ['/'] },
    }),
    health: { interval: '200ms', successes: 3, deadline: '20s' },
    verify: { window: '3s', interval: '100ms' },
    cleanup: { previous: 'stop', drain: '500ms' },
    ...overrides,
  };
}

/** App "shop" with the two services on made-up images (v2) and host ports 5001-5004, everything else defaulted. */
export function shopSpec(services: Pick<TwoServiceOptions, 'backend' | 'frontend'> = {}, overrides: Partial<DeploySpecInput> = {}): DeploySpecInput {
  return {
    app: 'shop',
    services: twoServices({
      images: { backend: 'shop-backend:v2', frontend: 'shop-frontend:v2' },
      hostPorts: { backend: { blue: 5001, green: 5002 }, frontend: { blue: 5003, green: 5004 } },
      ...services,
    }),
    ...overrides,
  };
}

/** One service, "web", through the real schema (every default is the one production sees). */
export function webSpec(app: string, web: ServiceInput, overrides: Partial<DeploySpecInput> = {}): DeploySpec {
  return parseDeploySpec({ app, services: { web }, ...overrides });
}

/** The spec with new images for some of its services, validated. */
export function withImages(spec: DeploySpecInput, images: Record<string, string>): DeploySpec {
  const services = Object.fromEntries(Object.entries(spec.services).map(([name, svc]) => [name, { ...svc, image: images[name] ?? svc.image }]));
  return parseDeploySpec({ ...spec, services });
}

/** Writes a spec (valid or not) as `<dir>/<name>.yml`, for the CLI's `-f`. */
export function writeSpecFile(dir: string, name: string, spec: unknown): string {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, stringify(spec));
  return file;
}
