/** What an app left on this host (containers, router config) and what it answers. */
import type Docker from 'dockerode';
import { parseColorAddresses } from '../host/builders/nginx';
import type { NginxRouter } from '../host/nginx';
import { LABELS, type Color } from '../src/names';

export interface ContainerState {
  name: string;
  state: string;
  image: string;
}

/** The app's containers (of one color), found by greenlight's labels whatever their name, sorted by name (code unit order: `-` before `_`, whatever the locale). */
export async function appContainers(docker: Docker, app: string, color?: Color): Promise<ContainerState[]> {
  const label = [`${LABELS.app}=${app}`, ...(color ? [`${LABELS.color}=${color}`] : [])];
  const list = await docker.listContainers({ all: true, filters: { label } });
  return list
    .map((c) => ({ name: c.Names[0]!.replace(/^\//, ''), state: c.State, image: c.Labels[LABELS.image] ?? c.Image }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Removes everything an app left on this host: containers and its router config. */
export async function resetApp(docker: Docker, router: NginxRouter, app: string): Promise<void> {
  for (const c of await appContainers(docker, app)) await docker.getContainer(c.name).remove({ force: true }).catch(() => undefined);
  await router.removeApp(app);
}

export async function get(url: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), body: await res.text() };
}

/**
 * Where the app's router config sends `color` of `service` (what X-Greenlight-Upstream then says): the
 * container's address, or 127.0.0.1:<host port> where the config routes by host port.
 */
export async function colorUpstream(router: NginxRouter, app: string, service: string, color: Color, hostPort: number): Promise<string> {
  const text = await router.readAppConfig(app);
  return (text === null ? undefined : parseColorAddresses(text, app, color)[service]) ?? `127.0.0.1:${hostPort}`;
}
