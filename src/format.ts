/**
 * How greenlight writes images and durations for people (CLI lines, workflow and activity summaries).
 * Pure: no Node built-ins, so workflow code imports it too.
 */

/** The image of each service, in the services' order: `{ backend: 'shop-backend:v2', ... }`. */
export function serviceImages(services: Record<string, { image: string }>): Record<string, string> {
  return Object.fromEntries(Object.entries(services).map(([service, { image }]) => [service, image]));
}

/** `['backend=shop-backend:v2', 'frontend=shop-frontend:v2']`, in the order of `images`. */
export function imageEntries(images: Record<string, string>): string[] {
  return Object.entries(images).map(([service, image]) => `${service}=${image}`);
}

/** `backend=shop-backend:v2, frontend=shop-frontend:v2`, in the order of `images`. */
export function formatImages(images: Record<string, string>): string {
  return imageEntries(images).join(', ');
}

/** `850 ms`, `1.2 s`; `…` for a duration not known yet (a phase still running). */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '…';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "preSwitch smoke: exit 3; postDeploy notify: timed out": how a deploy's hooks ran (`greenlight status`). */
export function formatHooks(hooks: ReadonlyArray<{ stage: string; name: string; exitCode: number | null }>): string {
  return hooks.map((h) => `${h.stage} ${h.name}: ${h.exitCode === null ? 'timed out' : `exit ${h.exitCode}`}`).join('; ');
}
