/**
 * The activity factory: every activity is built from injected clients, so tests can pass real or fake
 * ones without module mocking. Workflows import only the *type* of what this returns.
 */
import type Docker from 'dockerode';
import { createCanaryActivities } from './canary';
import { createDockerActivities } from './docker';
import { createHealthActivities } from './health';
import { createLogActivities } from './logs';
import { createMaintenanceActivities } from './maintenance';
import { createMonitorActivities } from './monitor';
import { createNotifyActivities } from './notify';
import { createPlanActivities } from './plan';
import { ContainerAddresses } from '../host/addresses';
import { capacityCheckFromEnv } from '../host/capacity';
import { DockerHost } from '../host/docker';
import { keptLogsHere, type KeptLogs } from '../host/kept-logs';
import { createProber, type Prober } from '../host/probe';
import { createPreviewActivities } from './preview';
import { createReleaseActivities } from './releases';
import { createRouterActivities } from './router';
import { redacting, heartbeating } from './support';
import { createValidateActivities } from './validate';
import type { NginxRouter } from '../host/nginx';
import { redactorFor, secretPolicyFromEnv, type SecretPolicy } from '../src/secrets';
import { uiUrlFromEnv } from '../src/settings';

export interface ActivityDeps {
  docker: Docker;
  router: NginxRouter;
  probe?: Prober;
  /** The worker's environment: GREENLIGHT_SECRETS and GREENLIGHT_SECRETS_FILE, and the listed values; GREENLIGHT_CAPACITY_CHECK. */
  env?: Record<string, string | undefined>;
  /** What specs may ask for; by default read from `env` (throws if the operator's settings are wrong). */
  secrets?: SecretPolicy;
  /** The fleet host this worker runs on (`greenlight worker --host`); it refuses other hosts' steps. */
  hostName?: string | null;
  /** Where a failed deploy's new color leaves its logs (`greenlight logs`); default `<GREENLIGHT_HOME>/logs`. */
  keptLogs?: KeptLogs;
}

export function createActivities({ docker, router, probe = createProber(), env = process.env, secrets = secretPolicyFromEnv(env), hostName = null, keptLogs = keptLogsHere() }: ActivityDeps) {
  // Settings first: a worker with a bad one refuses before it builds anything.
  const capacityCheck = capacityCheckFromEnv(env);
  const host = new DockerHost(docker);
  const addresses = new ContainerAddresses(host, router);
  // Every config this worker renders routes to the containers' own addresses.
  const routed = router.withUpstreams((spec) => addresses.upstreams(spec));
  const redact = redactorFor(secrets);
  const activities = heartbeating({
    ...createValidateActivities(),
    ...createDockerActivities({ host, router: routed, secrets, redact, addresses, capacityCheck }),
    ...createHealthActivities({ host, probe, redact, traffic: (app) => router.traffic(app) }),
    ...createRouterActivities({ router: routed }),
    ...createCanaryActivities({ router: routed }),
    ...createPreviewActivities({ host, router: routed, redact }),
    ...createMaintenanceActivities({ router }),
    ...createReleaseActivities({ host }),
    ...createMonitorActivities(),
    ...createPlanActivities({ host, router: routed }),
    ...createLogActivities({ host, redact, logs: keptLogs }),
    ...createNotifyActivities({ secrets, uiUrl: uiUrlFromEnv(env) }),
    /** The Docker engine this worker drives: a one-host deploy's first step, which pins the deploy to it. */
    identifyHost: () => host.identity(),
  }, hostName, () => host.identity());
  return redacting(activities, redact, ['validateSpec']);
}

export type Activities = ReturnType<typeof createActivities>;
