/** Router activities: read the live route, switch traffic, switch back (compensation), remove an app (first-deploy compensation). */
import { fail, sleep } from './support';
import type { DeploySpec } from '../src/config/schema';
import { webServices } from '../src/config/services';
import { FAILURE_TYPES, otherColor, type Color } from '../src/names';
import { RouterConfigRejectedError, type NginxRouter } from '../host/nginx';
import type { Route } from '../src/types';
import { parseColorPorts } from '../host/builders/nginx';

export interface RouterDeps {
  router: NginxRouter;
}

export function createRouterActivities({ router }: RouterDeps) {
  const rejected = (err: unknown) => (err instanceof RouterConfigRejectedError ? fail(FAILURE_TYPES.routerConfig, err.message) : err);
  return {
    /** The app's route on this host; a fleet passes its host spec (so the worker can check the host), one host the app name. */
    async readRoute(target: string | DeploySpec): Promise<Route | null> {
      return router.readRoute(typeof target === 'string' ? target : target.app);
    },

    /**
     * `nginx -t` of the config the switch would write, without writing it; and the live color (the
     * route's backup) stays on the host ports nginx reaches it at now: its containers are bound there.
     */
    async checkRouterConfig(spec: DeploySpec, route: Route): Promise<void> {
      if (route.backup) {
        const current = await router.readAppConfig(spec.app);
        const problems = current === null ? [] : liveHostPortProblems(spec, route.backup, parseColorPorts(current, spec.app, route.backup));
        if (problems.length > 0) throw fail(FAILURE_TYPES.preflight, problems.join('\n'), problems);
      }
      try {
        await router.check(spec.app, await router.renderConfig(spec, route));
      } catch (err) {
        throw rejected(err);
      }
    },

    /** Points the app's traffic at `route` (reload-free unless upstreams changed). Idempotent. */
    /** `at`: when nginx took the route (epoch ms), for the switch skew across a fleet. */
    async switchTraffic(spec: DeploySpec, route: Route, flipAt?: number): Promise<{ reloaded: boolean; tookMs: number; at?: number }> {
      const started = performance.now();
      try {
        // A fleet's hosts flip at one agreed instant (their clocks in sync, `greenlight doctor` checks),
        // so the skew is the clocks' and timers', not the step dispatch's. A step that arrives late flips at once.
        const result = await router.applyRoute(spec, route, flipAt === undefined ? undefined : () => sleep(Math.max(0, flipAt - Date.now())));
        return { reloaded: result.reloaded, tookMs: Math.round(performance.now() - started), at: Date.now() };
      } catch (err) {
        throw rejected(err);
      }
    },

    /**
     * A fleet's switch, part one, on every host before any host switches: `nginx -t`, the config swap and
     * a reload if needed. Part two (switchTraffic) is then one in-memory write on each host.
     */
    async prepareSwitch(spec: DeploySpec, route: Route): Promise<{ reloaded: boolean; configChanged: boolean }> {
      try {
        return await router.prepareRoute(spec, route);
      } catch (err) {
        throw rejected(err);
      }
    },

    /**
     * Compensation of a switch: traffic back to `route` on the config that served it before the switch
     * to `undone` (the previous locations, ports and upstreams, not only the previous color). Idempotent.
     */
    async switchBack(spec: DeploySpec, route: Route, undone: Route): Promise<{ reloaded: boolean; restored: boolean; tookMs: number }> {
      const started = performance.now();
      try {
        const result = await router.switchBack(spec, route, undone);
        return { reloaded: result.reloaded, restored: result.restored, tookMs: Math.round(performance.now() - started) };
      } catch (err) {
        throw rejected(err);
      }
    },

    /** Compensation of a first deploy: the app was not routed before, so it is not routed after. */
    async removeRoute(target: string | DeploySpec): Promise<boolean> {
      return router.removeApp(typeof target === 'string' ? target : target.app);
    },
  };
}

/**
 * A spec that moves the live color's host port: nginx (at the switch, on every host of a fleet at
 * prepare time, and after a rollback) would send that color's traffic where nothing listens, and
 * verify's fallback and compensation's health check would probe it there.
 */
export function liveHostPortProblems(spec: DeploySpec, live: Color, livePorts: Record<string, number>): string[] {
  const other = otherColor(live);
  return Object.entries(webServices(spec)).flatMap(([service, svc]) => {
    const now = livePorts[service];
    if (now === undefined || now === svc.hostPorts[live]) return [];
    return [
      `services.${service}.hostPorts.${live}: ${live} is live on host port ${now} (its containers are bound there, nginx routes to it), ` +
        `the spec says ${svc.hostPorts[live]}: a live color's host port cannot change in a deploy. Keep ${now} for ${live}; ` +
        `a new port can go to ${other} (the color this deploy starts), and to ${live} in the deploy after; nothing was changed`,
    ];
  });
}
