/**
 * The activity factory: every activity is built from injected clients, so tests can pass real or fake
 * ones without module mocking. Workflows import only the *type* of what this returns.
 */
import type Docker from 'dockerode';
import { createDockerActivities } from './docker';
import { createHealthActivities } from './health';
import { DockerHost } from '../host/docker';
import { createProber, type Prober } from '../host/probe';
import { createRouterActivities } from './router';
import { heartbeating } from './support';
import { createValidateActivities } from './validate';
import type { NginxRouter } from '../host/nginx';

export interface ActivityDeps {
  docker: Docker;
  router: NginxRouter;
  probe?: Prober;
  env?: Record<string, string | undefined>;
  /** The fleet host this worker runs on (`greenlight worker --host`); it refuses other hosts' steps. */
  hostName?: string | null;
}

export function createActivities({ docker, router, probe = createProber(), env = process.env, hostName = null }: ActivityDeps) {
  const host = new DockerHost(docker);
  return heartbeating({
    ...createValidateActivities(),
    ...createDockerActivities({ host, router, env }),
    ...createHealthActivities({ host, probe }),
    ...createRouterActivities({ router }),
  }, hostName);
}

export type Activities = ReturnType<typeof createActivities>;
