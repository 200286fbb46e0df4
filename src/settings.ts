/** Host-level settings of a worker and the CLI (not part of a deploy spec), from the environment. */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SettingError } from './errors';
import { DEFAULT_TASK_QUEUE } from './names';

/**
 * The folder that holds greenlight's package.json: this file is src/settings.ts in a checkout and
 * dist/src/settings.js once compiled (in a checkout's dist/ or an installed package).
 */
const PACKAGE_ROOT = resolve(__dirname, __filename.endsWith('.ts') ? '..' : '../..');

/**
 * A checkout has the TypeScript sources beside it; an installed package ships only dist/ (package.json
 * `files`). bin/greenlight tells the two apart the same way.
 */
export function isCheckout(packageRoot = PACKAGE_ROOT): boolean {
  return existsSync(join(packageRoot, 'src', 'settings.ts'));
}

/** greenlight's version, from its package.json (`greenlight --version`). */
export function packageVersion(packageRoot = PACKAGE_ROOT): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export interface HomeDefaults {
  /** The checkout's root when running from one, else null (an installed package). */
  checkout: string | null;
  uid: number;
  userHome: string;
}

/**
 * Where greenlight keeps its state when GREENLIGHT_HOME is not set. A checkout: `<repo>/.greenlight`,
 * beside the provisioning scripts that use it too. An installed package run by root (a host service):
 * `/var/lib/greenlight`, not `/root/...`, whose 0700 mode would keep nginx's unprivileged workers out of
 * their temp folders under the prefix. Anyone else: `~/.greenlight`, which needs no privileges to create.
 */
export function defaultGreenlightHome({ checkout, uid, userHome }: HomeDefaults): string {
  if (checkout) return join(checkout, '.greenlight');
  return uid === 0 ? '/var/lib/greenlight' : join(userHome, '.greenlight');
}

/** greenlight's state folder on this host: nginx prefix, logs, the dev server's database. */
export function greenlightHome(): string {
  if (process.env.GREENLIGHT_HOME) return resolve(process.env.GREENLIGHT_HOME);
  const home = defaultGreenlightHome({ checkout: isCheckout() ? PACKAGE_ROOT : null, uid: process.getuid?.() ?? -1, userHome: homedir() });
  // A symlinked state folder (a second checkout sharing one host's) must name the paths its target
  // does: nginx compares its sockets and files by path, and a reload with another spelling fails.
  return existsSync(home) ? realpathSync(home) : home;
}

/** The Temporal UI that notifications link to (GREENLIGHT_UI_URL, default the dev server's http://127.0.0.1:8233). */
export function uiUrlFromEnv(env: Record<string, string | undefined> = process.env): string {
  return env.GREENLIGHT_UI_URL || 'http://127.0.0.1:8233';
}

export function taskQueueFromEnv(): string {
  return process.env.GREENLIGHT_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
}

/** The fleet host this machine's worker serves (GREENLIGHT_HOST, or `greenlight worker --host`); null: one host. */
export function hostFromEnv(): string | null {
  return process.env.GREENLIGHT_HOST || null;
}

/** A fleet host's own task queue where the spec sets hosts[].taskQueue (GREENLIGHT_HOST_TASK_QUEUE). */
export function hostTaskQueueFromEnv(): string | undefined {
  return process.env.GREENLIGHT_HOST_TASK_QUEUE || undefined;
}

/** Where the worker serves Prometheus metrics (`greenlight worker --metrics-address`); unset: no endpoint. */
export const METRICS_ADDRESS_VARIABLE = 'GREENLIGHT_METRICS_ADDRESS';
/** The address the README and the errors suggest: loopback, the port Prometheus' client libraries use. */
export const SUGGESTED_METRICS_ADDRESS = '127.0.0.1:9464';

/**
 * An `ip:port` the worker's metrics endpoint may bind: an IPv4 address or a bracketed IPv6 one (the SDK's
 * exporter takes no host names) and a port from 1 to 65535. `source` names the setting in the error.
 */
export function parseMetricsAddress(value: string, source: string = METRICS_ADDRESS_VARIABLE): string {
  const fix = `expected ip:port, e.g. ${SUGGESTED_METRICS_ADDRESS} (loopback: a local Prometheus or agent scrapes it) or 0.0.0.0:9464 (every interface)`;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  if (!match) throw new SettingError(`${source}: "${value}" is not an address; ${fix}`);
  const [, ipv6, ipv4, port] = match;
  if (ipv6 !== undefined ? isIP(ipv6) !== 6 : isIP(ipv4!) !== 4) throw new SettingError(`${source}: "${ipv6 ?? ipv4}" is not an IP address (host names are not accepted); ${fix}`);
  if (Number(port) < 1 || Number(port) > 65_535) throw new SettingError(`${source}: port ${port} is out of range 1-65535; ${fix}`);
  return value.trim();
}

/**
 * The worker's metrics address from GREENLIGHT_METRICS_ADDRESS, checked; null when unset or empty: the
 * endpoint is off unless asked for, so tests and hosts that run several workers never fight over a port.
 */
export function metricsAddressFromEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  const value = env[METRICS_ADDRESS_VARIABLE]?.trim();
  return value ? parseMetricsAddress(value) : null;
}

/** Where greenlight's nginx serves its real-traffic counters for Prometheus; unset: no endpoint. */
export const ROUTER_METRICS_ADDRESS_VARIABLE = 'GREENLIGHT_ROUTER_METRICS_ADDRESS';

/** The router's metrics address from GREENLIGHT_ROUTER_METRICS_ADDRESS, checked as the worker's is; null when unset. */
export function routerMetricsAddressFromEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  const value = env[ROUTER_METRICS_ADDRESS_VARIABLE]?.trim();
  return value ? parseMetricsAddress(value, ROUTER_METRICS_ADDRESS_VARIABLE) : null;
}

/** The URL a scraper on this host uses for an endpoint on `bindAddress` (an unspecified address answers on loopback). */
export function metricsUrl(bindAddress: string): string {
  const local = bindAddress.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
  return `http://${local}/metrics`;
}
