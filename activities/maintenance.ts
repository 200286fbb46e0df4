/** Maintenance activities: check that a host's router can take maintenance mode, set it, put it back. */
import { fail } from './support';
import { FAILURE_TYPES } from '../src/names';
import { MAINTENANCE_OFF } from '../src/maintenance';
import type { MaintenanceChange, MaintenanceState } from '../src/types';
import { renderMaintenancePage } from '../host/builders/maintenance';
import { MaintenanceRefusedError, type NginxRouter } from '../host/nginx';

/** The app on one host; a fleet host's step names its host (`hosts`), so a mis-pointed worker refuses it (support.ts). */
export interface MaintenanceHost {
  app: string;
  hosts?: Array<{ name: string }>;
}

/** A host's maintenance before a change: its state and page, what a failed change elsewhere puts back. */
export interface MaintenanceBefore {
  state: MaintenanceState;
  page: string | null;
}

export interface MaintenanceDeps {
  router: NginxRouter;
}

export function createMaintenanceActivities({ router }: MaintenanceDeps) {
  const refused = (err: unknown) => (err instanceof MaintenanceRefusedError ? fail(FAILURE_TYPES.preflight, err.message) : err);
  const set = (app: string, state: MaintenanceState, page: string | null) =>
    router.setMaintenance(app, state, page).catch((err: unknown) => {
      throw refused(err);
    });
  return {
    /** Whether this host's router can take maintenance mode for the app (PreflightError if not), and its state now. Changes nothing. */
    async checkMaintenance({ app }: MaintenanceHost): Promise<MaintenanceBefore> {
      const problem = await router.maintenanceProblem(app);
      if (problem !== null) throw fail(FAILURE_TYPES.preflight, problem);
      const state = await router.readMaintenance(app);
      return { state, page: state.on ? await router.readMaintenancePage(app) : null };
    },

    /**
     * Maintenance on (the user's page, or the default one with the message, escaped) or off, no reload.
     * Turned on again (a new message), it keeps the time it first went on. Idempotent.
     */
    async setMaintenance({ app }: MaintenanceHost, change: MaintenanceChange, since: string): Promise<MaintenanceState> {
      if (!change.on) return set(app, MAINTENANCE_OFF, null);
      const now = await router.readMaintenance(app);
      const state: MaintenanceState = { on: true, since: now.on ? now.since : since, message: change.message, retryAfter: change.retryAfter, pageFile: change.page?.file ?? null };
      return set(app, state, change.page?.html ?? renderMaintenancePage(app, change.message));
    },

    /** Puts a host back as checkMaintenance found it (another host's change failed). Idempotent. */
    async restoreMaintenance({ app }: MaintenanceHost, before: MaintenanceBefore): Promise<MaintenanceState> {
      return set(app, before.state, before.page);
    },
  };
}
