/**
 * Releases: what every successful deploy leaves on record (`greenlight releases`, `rollback --to`),
 * and the pure rules over the list. No Node built-ins: the releases workflow (workflows/releases.ts)
 * imports this module.
 */
import type { DeploySpec } from './config/schema';

/** How many releases an app's store keeps (the oldest go first): what `rollback --to` can reach. */
export const RELEASES_KEPT = 50;

/** One service's image as the deploy ran it: the reference in the spec and the image id on the host. */
export interface ReleaseImage {
  image: string;
  /** `sha256:...` as the (first) host's engine knows the image; null if it could not be read. */
  imageId: string | null;
}

/** Where a release comes from: the deploy run, its clock and who started it. */
export interface ReleaseOrigin {
  /** When the deploy succeeded (ISO 8601, the workflow's clock). */
  recordedAt: string;
  /** Who started the deploy: the starting client's identity (user@host of the CLI), or null. */
  startedBy: string | null;
  /** What the deploy was started for (`--requested-by`, a rollback's reason), or null. */
  requestedBy: string | null;
  deployWorkflowId: string;
  deployRunId: string;
  /** The deploy workflow's task queue: where `rollback --to` starts its deploy, and where the store runs. */
  taskQueue: string;
}

/** A release as the deploy sends it to the store, before the store numbers it: its origin and what it ran. */
export interface ReleaseDraft extends ReleaseOrigin {
  app: string;
  images: Record<string, ReleaseImage>;
  /** `sha256:<hex>` of the canonical JSON of the spec the deploy ran. */
  specHash: string;
  /** Each service's env key names (never values) and secret names (never values). */
  env: Record<string, { keys: string[]; secrets: string[] }>;
  /**
   * The validated spec the deploy ran, for `greenlight rollback --to`. It holds no secret values (a spec
   * names its secrets, the worker has the values); env values are in every deploy's history already.
   */
  spec: DeploySpec;
}

/** A recorded release: `r1`, `r2`, ... per app, in the order the deploys succeeded. */
export interface Release extends ReleaseDraft {
  id: string;
}

/** What the releases workflow carries across continue-as-new. */
export interface ReleaseStoreState {
  app: string;
  releases: Release[];
  /** The number the next release gets (never reused, even after old releases are dropped). */
  next: number;
}

/** JSON with every object's keys sorted: the same spec always gives the same text, so the same hash. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Each service's env key names and secret names, sorted: never a value. */
export function envNamesOf(spec: DeploySpec): ReleaseDraft['env'] {
  return Object.fromEntries(
    Object.entries(spec.services).map(([name, service]) => [name, { keys: Object.keys(service.env ?? {}).sort(), secrets: [...(service.secrets ?? [])].sort() }]),
  );
}

/** The draft of the release a deploy of `spec` leaves, given its image ids on the host and the spec's hash. */
export function releaseDraft(spec: DeploySpec, imageIds: Record<string, string | null>, specHash: string, origin: ReleaseOrigin): ReleaseDraft {
  const images = Object.fromEntries(Object.entries(spec.services).map(([service, { image }]) => [service, { image, imageId: imageIds[service] ?? null }]));
  return { app: spec.app, images, specHash, env: envNamesOf(spec), ...origin, spec };
}

/**
 * The store after `draft` arrived: numbered and appended, the oldest dropped beyond `kept`. A draft of a
 * deploy run already recorded (an activity retried after its signal landed) changes nothing.
 */
export function addRelease(state: ReleaseStoreState, draft: ReleaseDraft, kept = RELEASES_KEPT): ReleaseStoreState {
  if (state.releases.some((release) => release.deployRunId === draft.deployRunId)) return state;
  const releases = [...state.releases, { id: `r${state.next}`, ...draft }].slice(-kept);
  return { ...state, releases, next: state.next + 1 };
}

/** A release by its id (`r3`), or `latest`/`previous`; null when the store has none of that name. */
export function findRelease(releases: readonly Release[], id: string): Release | null {
  if (id === 'latest') return releases.at(-1) ?? null;
  if (id === 'previous') return releases.at(-2) ?? null;
  return releases.find((release) => release.id === id) ?? null;
}

/** A release's images as `service=image`, one map. */
export function imagesOf(release: Pick<Release, 'images'>): Record<string, string> {
  return Object.fromEntries(Object.entries(release.images).map(([service, { image }]) => [service, image]));
}

/**
 * `retain.releases`: the images a host may drop, given the app's releases (oldest first) and the images
 * its containers use (running or stopped, any color). An image of a release outside the newest `retain`
 * goes, unless a retained release or a container uses it (by reference or by image id). Sorted.
 */
/** Whether two service -> image maps name the same services with the same images. */
export function sameImages(a: Record<string, string>, b: Record<string, string>): boolean {
  return Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([service, image]) => b[service] === image);
}

export function imagesToPrune(releases: readonly Release[], retain: number, inUse: readonly string[]): string[] {
  const retained = releases.slice(-retain);
  const kept = new Set<string>(inUse);
  for (const release of retained) {
    for (const { image, imageId } of Object.values(release.images)) {
      kept.add(image);
      if (imageId) kept.add(imageId);
    }
  }
  const dropped = new Set<string>();
  for (const release of releases.slice(0, Math.max(0, releases.length - retain))) {
    for (const { image, imageId } of Object.values(release.images)) {
      if (!kept.has(image) && !(imageId && kept.has(imageId))) dropped.add(image);
    }
  }
  return [...dropped].sort();
}

/** What `rollback --fast` needs to know of the app's last deploy. */
export interface LastDeployFacts {
  running: boolean;
  outcome: string | null;
  /** The images of the color the last deploy replaced (its previous color). */
  previousImages: Record<string, string>;
  /** Its monitor's rollback during the bake, if it rolled the last deploy back (the previous color serves). */
  bakeRollback?: { at: string; from: string; to: string } | null;
}

/**
 * Why `rollback --fast` to `target` cannot switch back to the kept previous color (null: it can). The
 * previous color holds the release before the latest, if the latest deploy succeeded and its cleanup
 * kept that color's containers (`cleanup.previous: stop` or `keep`).
 */
export function fastRollbackProblem(releases: readonly Release[], target: Release, last: LastDeployFacts | null): string | null {
  const latest = releases.at(-1)!;
  const previous = releases.at(-2);
  if (target.id === latest.id) return `${target.id} is the latest release: it is what serves`;
  if (!previous || target.id !== previous.id) return `${target.id} is not the release of the previous color (${previous ? previous.id : 'none'} is)`;
  if (!last) return 'no deploy of the app is on record any more to say which color is kept';
  if (last.running) return 'a deploy of the app is running (`greenlight rollback APP` without --to rolls it back)';
  if (last.outcome !== 'succeeded') return `the last deploy ended ${last.outcome ?? 'without a status'}, so the other color holds no kept release`;
  if (last.bakeRollback) return `its monitor already rolled the last deploy back during the bake at ${last.bakeRollback.at} (${last.bakeRollback.from} -> ${last.bakeRollback.to}): ${target.id}'s color serves`;
  if (latest.spec.cleanup.previous === 'remove') return `the latest release's cleanup.previous is remove: the previous color's containers are gone`;
  const kept = last.previousImages;
  if (!sameImages(imagesOf(target), kept)) return `the previous color runs ${Object.entries(kept).map(([s, i]) => `${s}=${i}`).join(', ') || 'nothing'}, not ${target.id}'s images`;
  return null;
}

/**
 * The spec of a fast rollback: the release's own, gated by one healthy round (not `health.successes`)
 * and a single verify round (not `verify.window`), with no manual promotion gate. The drain and the
 * rest of cleanup are as the release had them.
 */
export function fastRollbackSpec(spec: DeploySpec): DeploySpec {
  return { ...spec, health: { ...spec.health, successes: 1 }, verify: { ...spec.verify, window: 0 }, promotion: { ...spec.promotion, manual: false } };
}
