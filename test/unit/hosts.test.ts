/** A fleet spec's hosts: the schema's checks (each naming its field and fix) and each host's resolved spec. */
import { describe, expect, it } from 'vitest';
import { fleetHosts, hostOfSpec } from '../../src/config/hosts';
import { parseDeploySpec } from '../../src/config/load';
import { ConfigError } from '../../src/errors';
import { hostTaskQueue } from '../../src/names';
import { shopSpec } from '../../harness/specs';

const fleet = (hosts: unknown, extra: Record<string, unknown> = {}) => ({ ...shopSpec(), hosts, ...extra });

function issuesOf(input: unknown): string[] {
  try {
    parseDeploySpec(input);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected the spec to be rejected');
}

describe('hosts in the deploy spec', () => {
  it.each([
    { name: 'empty list', input: fleet([]), issue: 'hosts: needs at least one host, or leave `hosts` out' },
    { name: 'bad host name', input: fleet([{ name: 'Web_1' }]), issue: 'hosts.0.name: must be 2-32 lowercase letters' },
    { name: 'host listed twice', input: fleet([{ name: 'web-1' }, { name: 'web-1' }]), issue: 'hosts.1.name: host "web-1" is listed twice: give every host its own name' },
    { name: 'two hosts on one queue', input: fleet([{ name: 'web-1' }, { name: 'web-2', taskQueue: 'greenlight-host-web-1' }]), issue: 'hosts.1.taskQueue: task queue "greenlight-host-web-1" is already host web-1\'s: one worker (one queue) per host' },
    { name: 'override of an unknown service', input: fleet([{ name: 'web-1', hostPorts: { db: { blue: 1, green: 2 } } }]), issue: 'hosts.0.hostPorts.db: unknown service "db": use one of backend, frontend' },
    { name: 'override clashing on its host', input: fleet([{ name: 'web-1', hostPorts: { backend: { blue: 5003, green: 5009 } } }]), issue: 'hosts.0.hostPorts.backend.blue: port 5003 is already frontend.blue on host web-1' },
    { name: 'unknown host key', input: fleet([{ name: 'web-1', region: 'eu' }]), issue: 'hosts.0.region: unknown key' },
    { name: 'fleet settings without hosts', input: { ...shopSpec(), fleet: { hostTimeout: '10s' } }, issue: 'fleet: needs `hosts`' },
  ])('$name', ({ input, issue }) => {
    expect(issuesOf(input).some((line) => line.startsWith(issue)), issuesOf(input).join('\n')).toBe(true);
  });

  it('resolves each host: its queue, router port and host ports, and a spec naming only that host', () => {
    const spec = parseDeploySpec(fleet([{ name: 'web-1' }, { name: 'web-2', taskQueue: 'q-web-2', router: { port: 4912 }, hostPorts: { backend: { blue: 6001, green: 6002 } } }], { fleet: { hostTimeout: '10s' } }));
    expect(spec.fleet).toEqual({ hostTimeout: 10_000 });
    const [web1, web2] = fleetHosts(spec);
    expect(web1!.taskQueue).toBe(hostTaskQueue('web-1'));
    expect(web1!.spec.router.port).toBe(4001);
    expect(web1!.spec.services.backend!.hostPorts).toEqual({ blue: 5001, green: 5002 });
    expect(hostOfSpec(web1!.spec)).toBe('web-1');
    expect(web2!.taskQueue).toBe('q-web-2');
    expect(web2!.spec.router.port).toBe(4912);
    expect(web2!.spec.services.backend!.hostPorts).toEqual({ blue: 6001, green: 6002 });
    expect(web2!.spec.services.frontend!.hostPorts).toEqual({ blue: 5003, green: 5004 });
    expect(hostOfSpec(web2!.spec)).toBe('web-2');
    // The fleet spec itself names no single host (validateSpec may run on any host).
    expect(hostOfSpec(spec)).toBeNull();
  });

  it('a spec without hosts is a one-host spec: no fleet, nothing added', () => {
    const spec = parseDeploySpec(shopSpec());
    expect(fleetHosts(spec)).toEqual([]);
    expect('hosts' in spec && spec.hosts !== undefined).toBe(false);
    expect(spec.fleet).toBeUndefined();
  });
});
