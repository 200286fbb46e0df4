/**
 * `greenlight plan`: what a deploy of a spec would change on a host, and where the host drifted from
 * what greenlight left there. Pure: the caller reads the host (worker/plan-host.ts) and the live spec
 * (the last successful deploy's input); this only compares. Env and secrets are compared by name and
 * only names come out: a plan is printed in CI logs.
 */
import type { DeploySpec, ServiceSpec } from '../../src/config/schema';
import { COLORS, containerName, LABELS, otherColor, type Color } from '../../src/names';

/** A container labelled for the app, as the host lists it. */
export interface LabelledContainer {
  name: string;
  running: boolean;
  image: string;
  labels: Record<string, string>;
}

/** What was read from one host: null fields where there was nothing to read. */
export interface HostState {
  /** The color the router serves the app from (its config's route), null: app not routed here. */
  liveColor: Color | null;
  containers: LabelledContainer[];
  /** The app's config file as it is on the host. */
  liveConfig: string | null;
  /** What greenlight renders for the live spec and the live color (null without a live spec or color). */
  renderedLive: string | null;
  /** What this spec would render for its target color going live. */
  renderedNext: string;
  /** Images of the spec the host's engine does not have. */
  missingImages: string[];
}

export interface EnvChange {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface ServicePlan {
  service: string;
  change: 'added' | 'removed' | 'changed' | 'unchanged';
  image: { from: string | null; to: string | null };
  env: EnvChange;
  secrets: { added: string[]; removed: string[] };
  ports: { from: PortsOf | null; to: PortsOf | null } | null;
  /** Other settings of the service that differ (health, verifyPaths, readTimeout, limits, ...), by name. */
  settings: string[];
}

interface PortsOf {
  port: number | null;
  hostPorts: { blue: number; green: number } | null;
}

export interface HostPlan {
  /** The fleet host, null for a one-host spec. */
  host: string | null;
  /** Whether the host's Docker engine and router were read (drift and the router diff need it). */
  read: boolean;
  /** Why the host could not be read when it was asked to be (its worker did not answer, ...); null otherwise. */
  unread: string | null;
  liveColor: Color | null;
  /** The color a deploy would start (null when nothing would change). */
  targetColor: Color | null;
  services: ServicePlan[];
  /** App-wide settings that differ (router, health, verify, cleanup, ...), by name. */
  settings: string[];
  /** The router config's diff, live -> what this spec renders: "-"/"+" lines with a little context. */
  route: string[];
  start: string[];
  stop: string[];
  drift: string[];
  changed: boolean;
}

export interface Plan {
  app: string;
  /** Whether a live spec (the last successful deploy) was found; false: a first deploy. */
  firstDeploy: boolean;
  hosts: HostPlan[];
  changed: boolean;
  drift: boolean;
}

const sorted = (names: Iterable<string>) => [...names].sort();

/** Keys in which two records differ (by JSON), sorted. */
function differingKeys(a: Record<string, unknown>, b: Record<string, unknown>, skip: ReadonlySet<string>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => !skip.has(k)));
  return sorted([...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])));
}

export function envChange(from: Record<string, string>, to: Record<string, string>): EnvChange {
  return {
    added: sorted(Object.keys(to).filter((k) => !Object.hasOwn(from, k))),
    removed: sorted(Object.keys(from).filter((k) => !Object.hasOwn(to, k))),
    changed: sorted(Object.keys(to).filter((k) => Object.hasOwn(from, k) && from[k] !== to[k])),
  };
}

const SERVICE_OWN = new Set(['image', 'env', 'secrets', 'port', 'hostPorts']);
const APP_OWN = new Set(['app', 'services', 'hosts']);

const portsOf = (svc: ServiceSpec | undefined): PortsOf | null => (svc ? { port: svc.port ?? null, hostPorts: svc.hostPorts ?? null } : null);

export function servicePlan(service: string, from: ServiceSpec | undefined, to: ServiceSpec | undefined): ServicePlan {
  const env = envChange(from?.env ?? {}, to?.env ?? {});
  const fromSecrets = new Set(from?.secrets ?? []);
  const toSecrets = new Set(to?.secrets ?? []);
  const secrets = { added: sorted([...toSecrets].filter((s) => !fromSecrets.has(s))), removed: sorted([...fromSecrets].filter((s) => !toSecrets.has(s))) };
  const ports = JSON.stringify(portsOf(from)) === JSON.stringify(portsOf(to)) ? null : { from: portsOf(from), to: portsOf(to) };
  const settings = from && to ? differingKeys(from as Record<string, unknown>, to as Record<string, unknown>, SERVICE_OWN) : [];
  const image = { from: from?.image ?? null, to: to?.image ?? null };
  const same = image.from === image.to && !ports && settings.length === 0 && [env.added, env.removed, env.changed, secrets.added, secrets.removed].every((l) => l.length === 0);
  const change = !from ? 'added' : !to ? 'removed' : same ? 'unchanged' : 'changed';
  return { service, change, image, env, secrets, ports, settings };
}

/**
 * A line diff of two texts, unified-ish: changed lines with `-`/`+`, one line of context around each
 * run, `@@` between runs. Empty when the texts are equal. LCS, fine for configs of a few hundred lines.
 */
export function lineDiff(before: string, after: string): string[] {
  if (before === after) return [];
  const lines = (text: string) => (text === '' ? [] : text.split('\n'));
  const a = lines(before);
  const b = lines(after);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: Array<{ op: ' ' | '-' | '+'; line: string }> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ op: ' ', line: a[i++]! });
      j++;
    }
    // Removals before additions, as diff -u prints them.
    else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ op: '-', line: a[i++]! });
    else ops.push({ op: '+', line: b[j++]! });
  }
  const near = (k: number) => ops.slice(Math.max(0, k - 1), k + 2).some((o) => o.op !== ' ');
  const out: string[] = [];
  let last = -2;
  ops.forEach((o, k) => {
    if (!near(k)) return;
    if (last >= 0 && k > last + 1) out.push('@@');
    out.push(`${o.op} ${o.line}`);
    last = k;
  });
  return out;
}

/** Containers labelled for the app that are none of the live spec's (or this spec's) services' colors. */
export function strayContainers(app: string, services: readonly string[], containers: readonly LabelledContainer[]): LabelledContainer[] {
  const accounted = new Set(services.flatMap((service) => COLORS.map((color) => containerName(app, service, color))));
  return containers.filter((c) => !(c.labels[LABELS.role] === 'app' && accounted.has(c.name)));
}

export interface HostPlanInput {
  host: string | null;
  /** This spec as the host runs it. */
  next: DeploySpec;
  /** The live spec as the host runs it (the last successful deploy), null: none. */
  live: DeploySpec | null;
  /** Null: the host could not be read from here (a fleet host elsewhere); `liveColor` then says what the last deploy left. */
  state: HostState | null;
  liveColor?: Color | null;
  /** Why the host could not be read, when it was asked to be. */
  readError?: string | null;
}

const UNREAD: HostState = { liveColor: null, containers: [], liveConfig: null, renderedLive: null, renderedNext: '', missingImages: [] };

export function hostPlan({ host, next, live, state: read, liveColor: recordedColor = null, readError = null }: HostPlanInput): HostPlan {
  const state = read ?? { ...UNREAD, liveColor: recordedColor };
  const names = sorted(new Set([...Object.keys(live?.services ?? {}), ...Object.keys(next.services)]));
  const services = names.map((name) => servicePlan(name, live?.services[name], next.services[name]));
  const settings = live ? differingKeys(live as unknown as Record<string, unknown>, next as unknown as Record<string, unknown>, APP_OWN) : [];
  const liveColor = state.liveColor;
  const route = read ? lineDiff(state.liveConfig ?? '', state.renderedNext) : [];
  const changed = !live || !liveColor || services.some((s) => s.change !== 'unchanged') || settings.length > 0 || route.length > 0;
  const targetColor = changed ? (liveColor ? otherColor(liveColor) : 'blue') : null;
  const start = targetColor ? Object.keys(next.services).sort().map((service) => containerName(next.app, service, targetColor)) : [];
  const byName = new Map(state.containers.map((c) => [c.name, c]));
  const keep = next.cleanup.previous === 'keep';
  // The live color's containers stop after the switch (unless cleanup keeps them); a removed service's too.
  const stop = targetColor && liveColor
    ? names.filter((service) => !keep || !next.services[service]).map((service) => containerName(next.app, service, liveColor)).filter((name) => !read || byName.get(name)?.running)
    : [];
  const drift: string[] = [];
  for (const stray of strayContainers(next.app, names, state.containers)) {
    drift.push(`container ${stray.name} (${stray.running ? 'running' : 'stopped'}, ${stray.image}) is labelled for ${next.app} but no color accounts for it`);
  }
  if (state.liveConfig !== null && state.renderedLive !== null && state.liveConfig !== state.renderedLive) {
    drift.push(`the router config of ${next.app} differs from what greenlight rendered for ${liveColor ?? 'the live color'}:`);
    drift.push(...lineDiff(state.renderedLive, state.liveConfig).map((line) => `  ${line}`));
  }
  for (const image of state.missingImages) drift.push(`image ${image} is missing on the host`);
  return { host, read: read !== null, unread: read === null ? readError : null, liveColor, targetColor, services, settings, route, start, stop, drift, changed };
}

export function plan(app: string, firstDeploy: boolean, hosts: HostPlan[]): Plan {
  return { app, firstDeploy, hosts, changed: hosts.some((h) => h.changed), drift: hosts.some((h) => h.drift.length > 0) };
}

const list = (names: string[]) => names.join(', ');

/** The plan as the CLI prints it: names only, never an env value. */
export function formatPlan(p: Plan): string[] {
  const lines: string[] = [`${p.app}: ${p.changed ? 'changes' : 'no changes'}${p.firstDeploy ? ' (first deploy)' : ''}${p.drift ? ', drift' : ''}`];
  for (const h of p.hosts) {
    const indent = h.host ? '    ' : '  ';
    if (h.host) lines.push(`  host ${h.host}:`);
    lines.push(`${indent}live ${h.liveColor ?? 'nothing'}${h.targetColor ? `, would deploy ${h.targetColor}` : ''}${h.read ? '' : h.unread ? ` (NOT READ: ${h.unread}; no drift or router diff for this host)` : ' (host not read)'}`);
    for (const s of h.services) {
      if (s.change === 'unchanged') continue;
      lines.push(`${indent}service ${s.service} ${s.change}: image ${s.image.from ?? '(none)'} -> ${s.image.to ?? '(none)'}`);
      if (s.env.added.length) lines.push(`${indent}  env added: ${list(s.env.added)}`);
      if (s.env.removed.length) lines.push(`${indent}  env removed: ${list(s.env.removed)}`);
      if (s.env.changed.length) lines.push(`${indent}  env changed: ${list(s.env.changed)}`);
      if (s.secrets.added.length) lines.push(`${indent}  secrets added: ${list(s.secrets.added)}`);
      if (s.secrets.removed.length) lines.push(`${indent}  secrets removed: ${list(s.secrets.removed)}`);
      if (s.ports) lines.push(`${indent}  ports: ${JSON.stringify(s.ports.from)} -> ${JSON.stringify(s.ports.to)}`);
      if (s.settings.length) lines.push(`${indent}  settings changed: ${list(s.settings)}`);
    }
    if (h.settings.length) lines.push(`${indent}app settings changed: ${list(h.settings)}`);
    if (h.route.length) lines.push(`${indent}router config:`, ...h.route.map((l) => `${indent}  ${l}`));
    if (h.start.length) lines.push(`${indent}would start: ${list(h.start)}`);
    if (h.stop.length) lines.push(`${indent}would stop: ${list(h.stop)}`);
    for (const d of h.drift) lines.push(`${indent}drift: ${d}`);
  }
  return lines;
}

/** At most this many lines of a deploy's change summary (the Temporal UI's details); the rest are counted. */
export const SUMMARY_LINES = 30;

const portsText = (p: PortsOf | null) => (p === null ? '(none)' : `${p.port ?? 'no port'}${p.hostPorts ? ` (blue ${p.hostPorts.blue}, green ${p.hostPorts.green})` : ''}`);

/** One host's changes to the live spec, a line each: names only (env, secrets, settings), never a value. */
function hostChanges(h: HostPlan): string[] {
  const lines: string[] = [];
  for (const s of h.services) {
    if (s.change === 'unchanged') continue;
    if (s.change === 'added') lines.push(`${s.service}: added, image ${s.image.to}`);
    else if (s.change === 'removed') lines.push(`${s.service}: removed (was ${s.image.from})`);
    else if (s.image.from !== s.image.to) lines.push(`${s.service}: image ${s.image.from} -> ${s.image.to}`);
    const names = [
      ...(s.env.added.length ? [`env added ${list(s.env.added)}`] : []),
      ...(s.env.removed.length ? [`env removed ${list(s.env.removed)}`] : []),
      ...(s.env.changed.length ? [`env changed ${list(s.env.changed)}`] : []),
      ...(s.secrets.added.length ? [`secrets added ${list(s.secrets.added)}`] : []),
      ...(s.secrets.removed.length ? [`secrets removed ${list(s.secrets.removed)}`] : []),
    ];
    if (names.length) lines.push(`${s.service}: ${names.join('; ')}`);
    if (s.ports && s.change === 'changed') lines.push(`${s.service}: ports ${portsText(s.ports.from)} -> ${portsText(s.ports.to)}`);
    if (s.settings.length) lines.push(`${s.service}: settings changed: ${list(s.settings)}`);
  }
  if (h.settings.length) lines.push(`app settings changed: ${list(h.settings)}`);
  return lines;
}

/**
 * What a deploy changes against the live spec, as its Temporal UI details show it: per service the image
 * old -> new, env and secret names added, removed or changed, ports, other settings by name, and app-wide
 * settings. Names only, never a value (many people read the UI). A fleet's hosts alike print once; a
 * host whose changes differ gets its own lines. At most SUMMARY_LINES lines.
 */
export function planSummary(p: Plan): string[] {
  const perHost = p.hosts.map((h) => ({ host: h.host, lines: hostChanges(h) }));
  const alike = perHost.every((h) => JSON.stringify(h.lines) === JSON.stringify(perHost[0]?.lines));
  const lines = [
    ...(p.firstDeploy ? [`first deploy of ${p.app}`] : []),
    ...(alike ? (perHost[0]?.lines ?? []) : perHost.flatMap((h) => h.lines.map((line) => `host ${h.host}: ${line}`))),
  ];
  if (lines.length === 0) lines.push('nothing changes against the live spec (the same spec deployed again)');
  if (lines.length <= SUMMARY_LINES) return lines;
  return [...lines.slice(0, SUMMARY_LINES - 1), `… and ${lines.length - SUMMARY_LINES + 1} more (greenlight plan shows all)`];
}
