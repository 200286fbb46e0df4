/** Deploy specs shared by the tests and the bench. */
import { parseDeploySpec } from '../src/config/load';
import type { DeploySpecInput, DeploySpec } from '../src/config/schema';

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
