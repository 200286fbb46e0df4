/**
 * The router-port checks of validate (host/ports.ts): the spec's router port and host ports
 * against the other apps greenlight's nginx serves (read back from their rendered configs), and nginx's
 * warnings. Pure parts only; the real nginx and sockets are in test/e2e/nginx-router.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { clashesWithOtherApps, type OtherAppPorts } from '../../host/ports';
import { answeredByRouter, parseAppPorts, renderAppConfig } from '../../host/builders/nginx';
import { nginxWarnings } from '../../host/nginx';
import { parseDeploySpec } from '../../src/config/load';
import { fleetHosts } from '../../src/config/hosts';
import { shopSpec } from '../../harness/specs';

// App "shop": router 4001, backend 5001/5002, frontend 5003/5004.
const shop = (overrides: Parameters<typeof shopSpec>[1] = {}) => parseDeploySpec(shopSpec({}, overrides));
const other = (app: string, routerPort: number | null, hostPorts: number[] = []): OtherAppPorts => ({ app, routerPort, hostPorts });

describe('parseAppPorts (what another app holds, read back from its rendered config)', () => {
  it('reads the router port and every host port of both colors', () => {
    const text = renderAppConfig(shop({ router: { port: 4100 } }), { live: 'blue', backup: 'green' });
    expect(parseAppPorts(text)).toEqual({ routerPort: 4100, hostPorts: [5001, 5002, 5003, 5004] });
  });

  it('returns no ports for text renderAppConfig did not write', () => {
    expect(parseAppPorts('# empty\n')).toEqual({ routerPort: null, hostPorts: [] });
  });
});

describe('clashesWithOtherApps', () => {
  it.each([
    { name: 'no other app', others: [], problems: [] },
    { name: 'other apps on other ports', others: [other('blog', 4002, [6001, 6002])], problems: [] },
    {
      name: "the router port is another app's router port",
      others: [other('blog', 4001, [6001, 6002])],
      problems: ['router.port: port 4001 is app "blog"\'s router port (greenlight\'s nginx serves blog there): two apps cannot share a port, choose another router port'],
    },
    {
      name: "the router port is another app's host port",
      others: [other('blog', 4002, [4001, 6002])],
      problems: ['router.port: port 4001 is a host port of app "blog" (its containers bind it): two apps cannot share a port, choose another router port'],
    },
    {
      name: "a host port is another app's router port",
      others: [other('blog', 5002, [6001, 6002])],
      problems: ['services.backend.hostPorts.green: port 5002 is app "blog"\'s router port (greenlight\'s nginx serves blog there): choose a host port no other app uses'],
    },
    {
      name: "host ports are another app's host ports",
      others: [other('blog', 4002, [5003, 5004])],
      problems: [
        'services.frontend.hostPorts.blue: port 5003 is a host port of app "blog" (its containers bind it): choose a host port no other app uses',
        'services.frontend.hostPorts.green: port 5004 is a host port of app "blog" (its containers bind it): choose a host port no other app uses',
      ],
    },
  ])('$name', ({ others, problems }) => {
    expect(clashesWithOtherApps(shop(), others)).toEqual(problems);
  });

  it("a fleet host's spec names the host, and its override where one is set", () => {
    const fleet = parseDeploySpec(
      shopSpec({}, { hosts: [{ name: 'web-1' }, { name: 'web-2', router: { port: 4100 }, hostPorts: { backend: { blue: 7001, green: 7002 } } }] }),
    );
    const [web1, web2] = fleetHosts(fleet).map((host) => host.spec);
    const others = [other('blog', 4100, [5001, 7002])];
    expect(clashesWithOtherApps(web1!, others)).toEqual([
      'services.backend.hostPorts.blue: port 5001 is a host port of app "blog" (its containers bind it) on host web-1: choose a host port no other app uses',
    ]);
    expect(clashesWithOtherApps(web2!, others)).toEqual([
      'hosts[web-2].router.port: port 4100 is app "blog"\'s router port (greenlight\'s nginx serves blog there) on host web-2: two apps cannot share a port, choose another router port',
      'hosts[web-2].hostPorts.backend.green: port 7002 is a host port of app "blog" (its containers bind it) on host web-2: choose a host port no other app uses',
    ]);
  });
});

describe('nginxWarnings (nginx -t output)', () => {
  it('keeps the [warn] lines, without time and pid, each once', () => {
    const output = [
      '2026/12/02 01:12:41 [warn] 16792#16792: conflicting server name "" on 0.0.0.0:4999, ignored',
      '2026/12/02 01:12:41 [warn] 16793#16793: conflicting server name "" on 0.0.0.0:4999, ignored',
      'nginx: the configuration file /p/nginx.conf syntax is ok',
      'nginx: configuration file /p/nginx.conf test is successful',
    ].join('\n');
    expect(nginxWarnings(output)).toEqual(['conflicting server name "" on 0.0.0.0:4999, ignored']);
  });

  it('finds none in a clean run', () => {
    expect(nginxWarnings('nginx: the configuration file /p/nginx.conf syntax is ok\nnginx: configuration file /p/nginx.conf test is successful\n')).toEqual([]);
  });
});

describe('answeredByRouter (paths verify does not probe through the router)', () => {
  it.each([
    ['/health', true],
    ['/.greenlight/structure', true],
    ['/health/green/backend', true],
    ['/health/green/nobody', false],
    ['/api/health', false],
    ['/', false],
  ])('%s -> %s', (path, answered) => {
    expect(answeredByRouter(shop(), path)).toBe(answered);
  });
});
