/**
 * The router-port checks of validate (host/ports.ts): the spec's router port and host ports
 * against the other apps greenlight's nginx serves (read back from their rendered configs), and nginx's
 * warnings. Pure parts only; the real nginx and sockets are in test/e2e/nginx-router.test.ts.
 */
import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { clashesWithOtherApps, routerPortProblems, type OtherAppPorts } from '../../host/ports';
import { answeredByRouter, parseAppPorts, parseColorPorts, renderAppConfig } from '../../host/builders/nginx';
import { nginxWarnings, type NginxRouter } from '../../host/nginx';
import { createRouterActivities } from '../../activities/router';
import { FAILURE_TYPES } from '../../src/names';
import { ApplicationFailure } from '@temporalio/common';
import { parseDeploySpec } from '../../src/config/load';
import { fleetHosts } from '../../src/config/hosts';
import type { DeploySpec } from '../../src/config/schema';
import type { Route } from '../../src/types';
import { shopSpec } from '../../harness/specs';

// App "shop": router 4001, backend 5001/5002, frontend 5003/5004.
const shop = (overrides: Parameters<typeof shopSpec>[1] = {}) => parseDeploySpec(shopSpec({}, overrides));
const other = (app: string, routerPort: number | null, hostPorts: number[] = []): OtherAppPorts => ({ app, routerPort, hostPorts });

describe('parseAppPorts (what another app holds, read back from its rendered config)', () => {
  it('reads the router port and every host port of both colors', () => {
    const text = renderAppConfig(shop({ router: { port: 4100 } }), { live: 'blue', backup: 'green' });
    expect(parseAppPorts(text)).toEqual({ routerPort: 4100, tls: false, redirectPort: null, hostPorts: [5001, 5002, 5003, 5004] });
  });

  it('reads an HTTPS router port (listen N ssl http2) and its redirect port', () => {
    const tls = { certificate: '/etc/tls/cert.pem', key: '/etc/tls/key.pem' };
    const https = (redirectPort?: number) => renderAppConfig(shop({ router: { port: 4100, tls: { ...tls, redirectPort } } }), { live: 'blue', backup: null }, '0123456789abcdef');
    expect(parseAppPorts(https(4180))).toEqual({ routerPort: 4100, tls: true, redirectPort: 4180, hostPorts: [5001, 5002, 5003, 5004] });
    expect(parseAppPorts(https())).toEqual({ routerPort: 4100, tls: true, redirectPort: null, hostPorts: [5001, 5002, 5003, 5004] });
  });

  it('returns no ports for text renderAppConfig did not write', () => {
    expect(parseAppPorts('# empty\n')).toEqual({ routerPort: null, tls: false, redirectPort: null, hostPorts: [] });
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

  describe('with a redirect port (router.tls.redirectPort 4080)', () => {
    const https = () => shop({ router: { port: 4001, tls: { certificate: '/etc/tls/cert.pem', key: '/etc/tls/key.pem', redirectPort: 4080 } } });
    it.each([
      { name: 'other apps on other ports', others: [{ ...other('blog', 4002, [6001]), redirectPort: 4081 }], problems: [] },
      {
        name: "the redirect port is another app's router port",
        others: [other('blog', 4080, [6001])],
        problems: ['router.tls.redirectPort: port 4080 is app "blog"\'s router port (greenlight\'s nginx serves blog there): two apps cannot share a port, choose another redirect port'],
      },
      {
        name: "the redirect port is another app's redirect port",
        others: [{ ...other('blog', 4002, [6001]), redirectPort: 4080 }],
        problems: ['router.tls.redirectPort: port 4080 is app "blog"\'s redirect port (greenlight\'s nginx redirects blog to HTTPS there): two apps cannot share a port, choose another redirect port'],
      },
      {
        name: "the redirect port is another app's host port",
        others: [other('blog', 4002, [4080])],
        problems: ['router.tls.redirectPort: port 4080 is a host port of app "blog" (its containers bind it): two apps cannot share a port, choose another redirect port'],
      },
      {
        name: "the router port is another app's redirect port",
        others: [{ ...other('blog', 4002, [6001]), redirectPort: 4001 }],
        problems: ['router.port: port 4001 is app "blog"\'s redirect port (greenlight\'s nginx redirects blog to HTTPS there): two apps cannot share a port, choose another router port'],
      },
    ])('$name', ({ others, problems }) => {
      expect(clashesWithOtherApps(https(), others)).toEqual(problems);
    });
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

describe('routerPortProblems: a redirect port another program holds', () => {
  /** A program listening on every interface, on a port the system picks. */
  async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }
  const routerOver = (config: string | null) => ({ readAppConfig: async () => config, otherAppsPorts: async () => [] }) as unknown as NginxRouter;
  const tls = { certificate: '/etc/tls/cert.pem', key: '/etc/tls/key.pem' };

  it('is refused, naming router.tls.redirectPort; the app\'s own redirect port is nginx\'s already', async () => {
    const holder = await holdPort();
    try {
      // Router port 5988: reserved for this test, below the ephemeral range (32768-60999) outgoing connections take ports from.
      const spec = shop({ router: { port: 5988, tls: { ...tls, redirectPort: holder.port } } });
      expect(await routerPortProblems(routerOver(null), spec)).toEqual([
        `router.tls.redirectPort: port ${holder.port} is already in use by another program (nginx could not listen on it, and every reload would fail for all apps): free it or choose another redirect port`,
      ]);
      // The app's current config redirects from that port: nginx holds it for this app.
      const own = renderAppConfig(spec, { live: 'blue', backup: null }, '0123456789abcdef');
      expect(await routerPortProblems(routerOver(own), spec)).toEqual([]);
    } finally {
      await holder.close();
    }
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

describe('parseColorPorts (where nginx reaches a color now, read back from the app config)', () => {
  it("reads each service's host port of one color", () => {
    const text = renderAppConfig(shop(), { live: 'blue', backup: null });
    expect(parseColorPorts(text, 'shop', 'blue')).toEqual({ backend: 5001, frontend: 5003 });
    expect(parseColorPorts(text, 'shop', 'green')).toEqual({ backend: 5002, frontend: 5004 });
  });

  it("reads no other app's upstreams, and nothing from text renderAppConfig did not write", () => {
    expect(parseColorPorts(renderAppConfig(shop(), { live: 'blue', backup: null }), 'sho', 'blue')).toEqual({});
    expect(parseColorPorts('# empty\n', 'shop', 'blue')).toEqual({});
  });
});

describe("checkRouterConfig refuses a spec that moves the live color's host port", () => {
  // Blue is live on the ports the router config names (backend 5001, frontend 5003).
  const live = renderAppConfig(shop(), { live: 'blue', backup: null });
  const moved = (backendBlue: number) => parseDeploySpec(shopSpec({ backend: { hostPorts: { blue: backendBlue, green: 5002 } } }));

  function activitiesOver(config: string | null) {
    const checked: string[] = [];
    const router = {
      readAppConfig: async () => config,
      renderConfig: async (spec: DeploySpec, route: Route) => renderAppConfig(spec, route),
      check: async (app: string) => void checked.push(app),
    } as unknown as NginxRouter;
    return { checked, check: createRouterActivities({ router }).checkRouterConfig };
  }

  it('blue live on 5001, the spec gives blue 5011: validation fails naming the field and the fix, nginx -t never runs', async () => {
    const { checked, check } = activitiesOver(live);
    const err = await check(moved(5011), { live: 'green', backup: 'blue' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(FAILURE_TYPES.preflight);
    expect((err as ApplicationFailure).message).toBe(
      'services.backend.hostPorts.blue: blue is live on host port 5001 (its containers are bound there, nginx routes to it), the spec says 5011: ' +
        "a live color's host port cannot change in a deploy. Keep 5001 for blue; a new port can go to green (the color this deploy starts), and to blue in the deploy after; nothing was changed",
    );
    expect(checked).toEqual([]);
  });

  it.each([
    { name: 'the same live ports', spec: () => shop(), config: live },
    { name: 'a new port for the color being deployed (green)', spec: () => parseDeploySpec(shopSpec({ backend: { hostPorts: { blue: 5001, green: 5012 } } })), config: live },
    { name: 'a first deploy (no config yet)', spec: () => moved(5011), config: null },
    { name: 'a service the live config does not have', spec: () => moved(5011), config: renderAppConfig(parseDeploySpec(shopSpec({}, { app: 'shop' })), { live: 'blue', backup: null }).replaceAll('gl_shop_backend_', 'gl_shop_api_') },
  ])('passes with $name', async ({ spec, config }) => {
    const { checked, check } = activitiesOver(config);
    await check(spec(), { live: 'green', backup: 'blue' });
    expect(checked).toEqual(['shop']);
  });
});
