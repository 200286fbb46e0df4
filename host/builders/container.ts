/**
 * Pure builders: spec -> Docker create options. No I/O; tested by exact equality.
 */
import type Docker from 'dockerode';
import { containerAlias, containerName, hookContainerName, LABELS, migrationContainerName, previewCheckContainerName, validationContainerName, type Color } from '../../src/names';
import type { HookFacts, HookStage } from '../../src/types';
import { DEFAULT_LIMITS, type DeploySpec, type ServiceSpec } from '../../src/config/schema';

/**
 * How much log an app container keeps (json-file, rotated): at most `files` files of `maxSize` each,
 * `bytes` in all. Validate counts it against the disk of Docker's data root (host/capacity.ts).
 */
export const APP_LOG = { maxSize: '10m', files: 3, bytes: 3 * 10 * 1024 ** 2 } as const;

export interface AppContainerInput {
  spec: DeploySpec;
  service: string;
  color: Color;
  deployId: string;
  /** Values of `services.<name>.secrets`, read from the worker's environment. */
  secretEnv: Record<string, string>;
  /** The container's fixed IPv4 address on the app network (ContainerAddresses), where nginx reaches it; none: Docker picks one. */
  address?: string | null;
}

export function appContainerLabels(app: string, service: string, color: Color, deployId: string, image: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.app]: app,
    [LABELS.service]: service,
    [LABELS.color]: color,
    [LABELS.deployId]: deployId,
    [LABELS.image]: image,
    [LABELS.role]: 'app',
  };
}

/** The service's limits as HostConfig fields, for its app and one-off containers alike. */
function limitsOf(svc: ServiceSpec): Pick<Docker.HostConfig, 'Memory' | 'MemorySwap' | 'PidsLimit' | 'NanoCpus' | 'SecurityOpt'> {
  // A deploy validated before limits existed carries none: it gets the defaults a new one would.
  const { memory, pids, cpus } = svc.limits ?? DEFAULT_LIMITS;
  return {
    Memory: memory,
    // Equal to Memory: no swap on top, so the limit is the memory the container can use.
    MemorySwap: memory,
    PidsLimit: pids,
    // Docker's --cpus in billionths of a CPU; no key without a limit, so such containers are as before.
    ...(cpus === undefined ? {} : { NanoCpus: Math.round(cpus * 1e9) }),
    ...((svc.noNewPrivileges ?? true) ? { SecurityOpt: ['no-new-privileges:true'] } : {}),
  };
}

/**
 * The labels that say whose a container is: managed, app and role, and for an app container its service and
 * color. A container under a name greenlight needs is greenlight's to replace only if these match.
 */
export function ownerLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const role = labels?.[LABELS.role];
  const keys = [LABELS.managed, LABELS.app, LABELS.role, ...(role === 'app' ? [LABELS.service, LABELS.color] : [])];
  return Object.fromEntries(keys.map((key) => [key, labels?.[key] ?? '']));
}

/**
 * The service's `stopTimeout` in whole seconds, as Docker takes it (rounded up: a job is never given less
 * than asked). A spec validated before `stopTimeout` existed gets Docker's own default, 10 s.
 */
export function stopTimeoutSeconds(svc: Pick<ServiceSpec, 'stopTimeout'>): number {
  return Math.ceil((svc.stopTimeout ?? 10_000) / 1000);
}

function envList(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort()
    .map((key) => `${key}=${env[key]}`);
}

export function buildAppContainer({ spec, service, color, deployId, secretEnv, address = null }: AppContainerInput): Docker.ContainerCreateOptions {
  const svc = spec.services[service];
  if (!svc) throw new Error(`unknown service ${service}`);
  // A worker (no port) publishes nothing: nginx does not route to it and nothing probes it over HTTP.
  const portKey = svc.port === undefined || !svc.hostPorts ? null : `${svc.port}/tcp`;
  return {
    name: containerName(spec.app, service, color),
    Image: svc.image,
    Env: envList({
      ...svc.env,
      ...secretEnv,
      GREENLIGHT_APP: spec.app,
      GREENLIGHT_SERVICE: service,
      GREENLIGHT_COLOR: color,
      GREENLIGHT_DEPLOY_ID: deployId,
    }),
    Labels: appContainerLabels(spec.app, service, color, deployId, svc.image),
    ...(portKey ? { ExposedPorts: { [portKey]: {} } } : {}),
    // Seconds after SIGTERM before Docker kills it, whoever stops it (cleanup, a handover, `docker stop`).
    StopTimeout: stopTimeoutSeconds(svc),
    HostConfig: {
      // Loopback only: the public entry is nginx; the host port is for nginx and the health probes.
      ...(portKey ? { PortBindings: { [portKey]: [{ HostIp: '127.0.0.1', HostPort: String(svc.hostPorts![color]) }] } } : {}),
      RestartPolicy: { Name: 'unless-stopped' },
      NetworkMode: spec.network,
      ExtraHosts: ['host.docker.internal:host-gateway'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': APP_LOG.maxSize, 'max-file': String(APP_LOG.files) } },
      ...limitsOf(svc),
    },
    // Only the color-specific alias: a shared one would let other containers reach the new color before the switch.
    // A fixed address stays the container's across its restarts and dockerd's: nginx routes to it.
    NetworkingConfig: { EndpointsConfig: { [spec.network]: { Aliases: [containerAlias(spec.app, service, color)], ...(address ? { IPAMConfig: { IPv4Address: address } } : {}) } } },
  };
}

/** A one-off container of the new image, with no network: isolated from production traffic and data. */
export function buildValidationContainer(spec: DeploySpec, commandIndex: number, deployId: string): Docker.ContainerCreateOptions {
  const command = spec.validate.commands[commandIndex];
  if (!command) throw new Error(`no validation command #${commandIndex}`);
  const image = spec.services[command.service]!.image;
  return {
    name: validationContainerName(spec.app, command.name),
    Image: image,
    Cmd: command.run,
    Env: envList({ GREENLIGHT_APP: spec.app, GREENLIGHT_VALIDATION: command.name, GREENLIGHT_DEPLOY_ID: deployId }),
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.app]: spec.app,
      [LABELS.service]: command.service,
      [LABELS.deployId]: deployId,
      [LABELS.image]: image,
      [LABELS.role]: 'validate',
    },
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none', AutoRemove: false, ...limitsOf(spec.services[command.service]!) },
  };
}

/** The service whose new image runs a preview check: its own, else the first service with a route. */
export function previewCheckService(spec: DeploySpec, check: { service?: string }): string {
  return check.service ?? Object.keys(spec.services).find((name) => spec.services[name]!.route !== undefined)!;
}

/**
 * A preview check (`preview.checks`): a one-off container of the new image on the app network, so it
 * reaches the preview at `previewUrl` (the network's gateway, where nginx also binds the preview port),
 * like a migration but without the service's environment and secrets: it tests what users would see.
 */
export function buildPreviewCheckContainer(spec: DeploySpec, checkIndex: number, deployId: string, previewUrl: string): Docker.ContainerCreateOptions {
  const check = spec.preview?.checks[checkIndex];
  if (!check) throw new Error(`no preview check #${checkIndex}`);
  const service = previewCheckService(spec, check);
  const svc = spec.services[service]!;
  return {
    name: previewCheckContainerName(spec.app, check.name),
    Image: svc.image,
    Cmd: check.command,
    Env: envList({ GREENLIGHT_APP: spec.app, GREENLIGHT_PREVIEW_CHECK: check.name, GREENLIGHT_PREVIEW_URL: previewUrl, GREENLIGHT_DEPLOY_ID: deployId }),
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.app]: spec.app,
      [LABELS.service]: service,
      [LABELS.deployId]: deployId,
      [LABELS.image]: svc.image,
      [LABELS.role]: 'preview-check',
    },
    HostConfig: { NetworkMode: spec.network, AutoRemove: false, ...limitsOf(svc) },
  };
}

/**
 * A one-off container on the app's network with the service's environment (and secrets), so it
 * reaches the shared database: the migration's and the hooks'. Never routed, never a color.
 */
function networkedOneOff(spec: DeploySpec, one: { name: string; service: string; image: string; cmd: string[]; env: Record<string, string>; role: string; deployId: string; secretEnv: Record<string, string> }): Docker.ContainerCreateOptions {
  const svc = spec.services[one.service];
  if (!svc) throw new Error(`unknown service ${one.service}`);
  return {
    name: one.name,
    Image: one.image,
    Cmd: one.cmd,
    Env: envList({ ...svc.env, ...one.secretEnv, ...one.env }),
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.app]: spec.app,
      [LABELS.service]: one.service,
      [LABELS.deployId]: one.deployId,
      [LABELS.image]: one.image,
      [LABELS.role]: one.role,
    },
    HostConfig: { NetworkMode: spec.network, ExtraHosts: ['host.docker.internal:host-gateway'], AutoRemove: false, ...limitsOf(svc) },
  };
}

/** The migration step: a one-off container of the new image (networkedOneOff). */
export function buildMigrationContainer(spec: DeploySpec, deployId: string, secretEnv: Record<string, string>): Docker.ContainerCreateOptions {
  const migrate = spec.migrate;
  if (!migrate) throw new Error('the spec has no migrate step');
  const svc = spec.services[migrate.service];
  if (!svc) throw new Error(`unknown service ${migrate.service}`);
  const env = { GREENLIGHT_APP: spec.app, GREENLIGHT_SERVICE: migrate.service, GREENLIGHT_MIGRATION: 'true', GREENLIGHT_DEPLOY_ID: deployId };
  return networkedOneOff(spec, { name: migrationContainerName(spec.app), service: migrate.service, image: svc.image, cmd: migrate.run, env, role: 'migrate', deployId, secretEnv });
}

/** `service=image` pairs in service order, comma separated: GREENLIGHT_IMAGES and GREENLIGHT_PREVIOUS_IMAGES. */
export function imagesEnv(images: Record<string, string>): string {
  return Object.keys(images)
    .sort()
    .map((service) => `${service}=${images[service]}`)
    .join(',');
}

/**
 * The image a hook runs in: the service's new image, or for postRollback the image the restored color
 * runs (null: the rolled-back deploy was the app's first, nothing was restored).
 */
export function hookImage(spec: DeploySpec, stage: HookStage, service: string, facts: HookFacts): string | null {
  if (stage !== 'postRollback') return spec.services[service]!.image;
  return facts.previousImages[service] ?? null;
}

/**
 * A hook (`hooks.<stage>[index]`): a one-off container like the migration's (networkedOneOff), with
 * the deploy's facts in its environment after the service's own (so the service cannot shadow them).
 */
export function buildHookContainer(spec: DeploySpec, stage: HookStage, index: number, facts: HookFacts, deployId: string, secretEnv: Record<string, string>): Docker.ContainerCreateOptions {
  const hook = spec.hooks?.[stage][index];
  if (!hook) throw new Error(`no hook hooks.${stage}[${index}]`);
  const image = hookImage(spec, stage, hook.service, facts) ?? spec.services[hook.service]!.image;
  const env: Record<string, string> = {
    GREENLIGHT_APP: spec.app,
    GREENLIGHT_SERVICE: hook.service,
    GREENLIGHT_HOOK: `${stage}.${hook.name}`,
    GREENLIGHT_DEPLOY_ID: deployId,
    GREENLIGHT_COLOR: facts.color,
    GREENLIGHT_PREVIOUS_COLOR: facts.previousColor ?? '',
    GREENLIGHT_IMAGES: imagesEnv(facts.images),
    GREENLIGHT_PREVIOUS_IMAGES: imagesEnv(facts.previousImages),
    ...(facts.outcome ? { GREENLIGHT_OUTCOME: facts.outcome } : {}),
  };
  return networkedOneOff(spec, { name: hookContainerName(spec.app, stage, hook.name), service: hook.service, image, cmd: hook.run, env, role: 'hook', deployId, secretEnv });
}
