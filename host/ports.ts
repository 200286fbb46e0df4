/**
 * Port probes on this host (its loopback interface for host ports, every interface for the router's),
 * and validate's router-port checks, on every deploy: the spec's router port and host ports against
 * every other app greenlight's nginx serves on this host (their rendered configs), and a new or changed
 * router port against the programs listening on the host. Two apps on one port would have nginx serve
 * both from the first one's config; a port another program holds makes every nginx reload fail, for
 * every app.
 */
import { parseAppPorts, parsePreviewPort } from './builders/nginx';
import type { NginxRouter } from './nginx';
import type { DeploySpec } from '../src/config/schema';
import { webServices } from '../src/config/services';
import { COLORS } from '../src/names';
import { portIsFree } from './listen';


/** The ports one other app's config holds on this host. */
export interface OtherAppPorts {
  app: string;
  routerPort: number | null;
  /** Its plain-HTTP redirect port (router.tls.redirectPort), which nginx listens on too. */
  redirectPort?: number | null;
  hostPorts: number[];
  /** Its preview port (`preview.port`), which nginx listens on too. */
  previewPort?: number | null;
}

/** " on host web-1" in a fleet's host spec, nothing for one host. */
function onHost(spec: DeploySpec): string {
  return spec.hosts?.length === 1 ? ` on host ${spec.hosts[0]!.name}` : '';
}

/** Where the router's field is set: the host's override in a fleet, `router` otherwise ("router.port"). */
export function routerField(spec: DeploySpec, field: string): string {
  const host = spec.hosts?.length === 1 ? spec.hosts[0]! : null;
  return host?.router ? `hosts[${host.name}].router.${field}` : `router.${field}`;
}

function routerPortField(spec: DeploySpec): string {
  return routerField(spec, 'port');
}

function hostPortField(spec: DeploySpec, service: string, color: string): string {
  const host = spec.hosts?.length === 1 ? spec.hosts[0]! : null;
  return host?.hostPorts?.[service] ? `hosts[${host.name}].hostPorts.${service}.${color}` : `services.${service}.hostPorts.${color}`;
}

/** What another app holds `port` as, or null: "app "shop"'s router port" / "a host port of app "shop"". */
function heldBy(others: readonly OtherAppPorts[], port: number): string | null {
  for (const other of others) {
    if (other.routerPort === port) return `app "${other.app}"'s router port (greenlight's nginx serves ${other.app} there)`;
    if (other.redirectPort === port) return `app "${other.app}"'s redirect port (greenlight's nginx redirects ${other.app} to HTTPS there)`;
    if (other.hostPorts.includes(port)) return `a host port of app "${other.app}" (its containers bind it)`;
    if (other.previewPort === port) return `app "${other.app}"'s preview port (greenlight's nginx serves ${other.app}'s preview there)`;
  }
  return null;
}

/** Every port of the spec another app already holds, one problem each (pure: the configs are read by the caller). */
export function clashesWithOtherApps(spec: DeploySpec, others: readonly OtherAppPorts[]): string[] {
  const where = onHost(spec);
  const problems: string[] = [];
  const routerClash = heldBy(others, spec.router.port);
  if (routerClash) {
    problems.push(`${routerPortField(spec)}: port ${spec.router.port} is ${routerClash}${where}: two apps cannot share a port, choose another router port`);
  }
  const redirectPort = spec.router.tls?.redirectPort;
  const redirectClash = redirectPort === undefined ? null : heldBy(others, redirectPort);
  if (redirectClash) {
    problems.push(`${routerField(spec, 'tls.redirectPort')}: port ${redirectPort} is ${redirectClash}${where}: two apps cannot share a port, choose another redirect port`);
  }
  const previewPort = spec.preview?.port;
  const previewClash = previewPort === undefined ? null : heldBy(others, previewPort);
  if (previewClash) problems.push(`preview.port: port ${previewPort} is ${previewClash}${where}: two apps cannot share a port, choose another preview port`);
  for (const [service, svc] of Object.entries(webServices(spec))) {
    for (const color of COLORS) {
      const clash = heldBy(others, svc.hostPorts[color]);
      if (clash) problems.push(`${hostPortField(spec, service, color)}: port ${svc.hostPorts[color]} is ${clash}${where}: choose a host port no other app uses`);
    }
  }
  return problems;
}

/**
 * The router-port problems of `spec` on this host: clashes with other apps, and a router port that is
 * new or changed but held by another program. The app's own current port is nginx's already.
 */
export async function routerPortProblems(router: NginxRouter, spec: DeploySpec): Promise<string[]> {
  const problems = clashesWithOtherApps(spec, await router.otherAppsPorts(spec.app));
  const own = await router.readAppConfig(spec.app);
  // The ports nginx already listens on for this app: its own, whatever the spec now makes of them.
  const held = new Set<number | null>(own === null ? [] : [parseAppPorts(own).routerPort, parseAppPorts(own).redirectPort]);
  const wanted = [
    { field: routerPortField(spec), port: spec.router.port, what: 'router port' },
    ...(spec.router.tls?.redirectPort === undefined ? [] : [{ field: routerField(spec, 'tls.redirectPort'), port: spec.router.tls.redirectPort, what: 'redirect port' }]),
  ];
  const busy: string[] = [];
  const preview = spec.preview;
  const ownPreview = preview ? await router.readPreviewConfig(spec.app) : null;
  if (preview && (ownPreview === null || parsePreviewPort(ownPreview) !== preview.port) && !problems.some((problem) => problem.startsWith('preview.port:'))) {
    // nginx binds it on preview.address (and the app network's gateway): a program on it blocks it there.
    if (!(await portIsFree(preview.port, preview.address))) {
      busy.push(`preview.port: port ${preview.port} is already in use on ${preview.address} by another program${onHost(spec)} (nginx could not listen on it, and every reload would fail for all apps): free it or choose another preview port`);
    }
  }
  for (const { field, port, what } of wanted) {
    if (held.has(port) || problems.some((problem) => problem.startsWith(`${field}:`))) continue;
    // nginx listens on every interface (`listen <port>`), so a program on any address blocks it.
    if (!(await portIsFree(port, '0.0.0.0'))) {
      busy.push(`${field}: port ${port} is already in use by another program${onHost(spec)} (nginx could not listen on it, and every reload would fail for all apps): free it or choose another ${what}`);
    }
  }
  return [...busy, ...problems];
}
