/**
 * The preview (`preview`): the router serves the new color on the preview port from the health gate
 * until the switch, and `preview.checks` run against it in one-off containers (the validation commands'
 * runner). The check containers reach the preview at the app network's gateway, the host's address on
 * that network, where nginx also binds the preview port when there are checks.
 */
import { buildPreviewCheckContainer } from '../host/builders/container';
import { previewUrl } from '../host/builders/nginx';
import type { DockerHost } from '../host/docker';
import { RouterConfigRejectedError, type NginxRouter } from '../host/nginx';
import type { DeploySpec } from '../src/config/schema';
import { FAILURE_TYPES, type Color } from '../src/names';
import type { Redactor } from '../src/secrets';
import type { PreviewStatus } from '../src/types';
import { fail, runOneOffCommands } from './support';

export interface PreviewDeps {
  host: DockerHost;
  router: NginxRouter;
  redact: Redactor;
}

export function createPreviewActivities(deps: PreviewDeps) {
  const { host, router } = deps;
  /** The app network's gateway on this host: where a check container reaches the host's nginx. */
  const gatewayOf = async (spec: DeploySpec): Promise<string> => {
    const gateway = (await host.networkAddressing(spec.network))?.gateway ?? null;
    if (gateway === null) {
      throw fail(FAILURE_TYPES.preflight, `preview.checks: Docker network "${spec.network}" has no configured IPv4 gateway, so a check container cannot reach the preview: create the network with --subnet and --gateway (scripts/docker.sh does), or leave preview.checks out`);
    }
    return gateway;
  };
  /** preview.address, and with checks the network's gateway (once). */
  const listenOn = async (spec: DeploySpec): Promise<string[]> => {
    const preview = spec.preview!;
    if (preview.checks.length === 0) return [preview.address];
    const gateway = await gatewayOf(spec);
    return gateway === preview.address ? [gateway] : [preview.address, gateway];
  };
  return {
    /** Opens the preview of `color` (idempotent): its config in place (one reload when new or changed), then the color in the dict. */
    async openPreview(spec: DeploySpec, color: Color): Promise<PreviewStatus & { reloaded: boolean }> {
      try {
        const { reloaded } = await router.openPreview(spec, color, await listenOn(spec));
        return { url: previewUrl(spec), color, reloaded };
      } catch (err) {
        throw err instanceof RouterConfigRejectedError ? fail(FAILURE_TYPES.routerConfig, err.message) : err;
      }
    },

    /** Closes the preview (503 "no preview open"); `forget` removes its config too (a first deploy's rollback). Idempotent. */
    async closePreview(spec: DeploySpec, forget = false): Promise<void> {
      await router.closePreview(spec.app, forget);
    },

    /** Runs preview.checks in order against the preview (GREENLIGHT_PREVIEW_URL on the gateway); the first failure is PreviewCheckFailed. */
    async runPreviewChecks(spec: DeploySpec, deployId: string): Promise<Array<{ name: string; exitCode: number; output: string }>> {
      const preview = spec.preview;
      if (!preview || preview.checks.length === 0) return [];
      const url = previewUrl(spec, await gatewayOf(spec));
      const commands = preview.checks.map((check, index) => ({
        what: `preview check "${check.name}"`,
        field: `preview.checks[${index}]`,
        name: check.name,
        run: check.command,
        timeout: check.timeout,
        options: buildPreviewCheckContainer(spec, index, deployId, url),
      }));
      return runOneOffCommands(deps, commands, FAILURE_TYPES.previewCheck);
    },
  };
}
