/**
 * Release activities: the record a successful deploy leaves in its app's releases workflow
 * (workflows/releases.ts), sent through the worker's own Temporal client. The record itself is built by
 * the pure src/releases.ts; this reads the image ids on the host and hashes the spec (node:crypto).
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { DockerHost } from '../host/docker';
import type { DeploySpec } from '../src/config/schema';
import { MESSAGES, releasesWorkflowId, RELEASES_WORKFLOW } from '../src/names';
import { canonicalJson, imagesToPrune, releaseDraft, type Release, type ReleaseOrigin, type ReleaseStoreState } from '../src/releases';

export interface ReleaseDeps {
  host: DockerHost;
}

/** `sha256:<hex>` of the spec's canonical JSON: equal specs, equal hashes, whatever their key order. */
export function specHashOf(spec: DeploySpec): string {
  return `sha256:${createHash('sha256').update(canonicalJson(spec)).digest('hex')}`;
}

export function createReleaseActivities({ host }: ReleaseDeps) {
  return {
    /**
     * Records the release of a deploy of `spec` that succeeded: starts the app's releases workflow on
     * the deploy workflow's queue (`origin.taskQueue`) with the record as its first signal, or signals the
     * running one. Idempotent: the store drops a second record of one deploy run. Returns the spec hash.
     * A fleet's step reads the ids on its host's spec (`hostSpec`) and records the fleet's (`released`).
     */
    recordRelease: async (hostSpec: DeploySpec, origin: ReleaseOrigin, released: DeploySpec = hostSpec): Promise<{ specHash: string }> => {
      const spec = released;
      const imageIds: Record<string, string | null> = {};
      for (const [service, { image }] of Object.entries(hostSpec.services)) imageIds[service] = await host.imageId(image);
      const specHash = specHashOf(spec);
      const draft = releaseDraft(spec, imageIds, specHash, origin);
      const initial: ReleaseStoreState = { app: spec.app, releases: [], next: 1 };
      await Context.current().client.workflow.signalWithStart(RELEASES_WORKFLOW, {
        workflowId: releasesWorkflowId(spec.app),
        taskQueue: origin.taskQueue,
        args: [initial],
        // The name, not workflows/releases.ts' definition: activities import no workflow code.
        signal: MESSAGES.recordRelease,
        signalArgs: [draft],
        staticSummary: `Releases of ${spec.app}`,
      });
      return { specHash };
    },

    /**
     * `retain.releases`: removes this host's images of the app's releases outside the newest `retain`,
     * never one a container on the host (any app's) or a retained release uses, nor the spec's own.
     * Returns the images removed.
     */
    pruneReleaseImages: async (spec: DeploySpec, retain: number): Promise<{ removed: string[] }> => {
      const releases = await Context.current().client.workflow.getHandle(releasesWorkflowId(spec.app)).query<Release[]>(MESSAGES.releases);
      const inUse = [...(await host.imagesInUse()), ...Object.values(spec.services).map((service) => service.image)];
      const removed: string[] = [];
      for (const image of imagesToPrune(releases, retain, inUse)) if (await host.removeImage(image)) removed.push(image);
      return { removed };
    },
  };
}
