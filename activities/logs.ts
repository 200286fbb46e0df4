/**
 * The logs of a failed deploy's new color, kept on this host before compensation removes its containers
 * (`greenlight logs`): each container's last lines, secrets' values redacted as in every output greenlight
 * keeps, in files under GREENLIGHT_HOME (host/kept-logs.ts). The text never goes to Temporal: the step
 * returns where it saved and how much, so workflow history holds paths and line counts only.
 */
import { hostOfSpec } from '../src/config/hosts';
import type { DeploySpec } from '../src/config/schema';
import { LABELS, type Color } from '../src/names';
import type { Redactor } from '../src/secrets';
import { KEPT_LOG_LINES, keptLogText, logFileNames, type KeptLogsReport } from '../host/builders/kept-logs';
import type { DockerHost } from '../host/docker';
import type { KeptLogs } from '../host/kept-logs';

export interface LogDeps {
  host: DockerHost;
  redact: Redactor;
  logs: KeptLogs;
  /** The time the record says they were saved at (tests pass their own). */
  now?: () => Date;
}

export function createLogActivities({ host, redact, logs, now = () => new Date() }: LogDeps) {
  return {
    /**
     * Saves the output (stdout and stderr) of the `color` containers of `spec.app` on this host, as
     * the deploy `deployId` leaves them, and drops the app's oldest kept deploys. Idempotent: a retry
     * writes the same folder again. Containers already gone leave no file.
     */
    keepFailedLogs: async (spec: DeploySpec, color: Color, deployId: string): Promise<KeptLogsReport> => {
      const containers = (await host.appContainers(spec.app, color)).map((c) => ({ service: c.labels[LABELS.service] ?? c.name, container: c.name }));
      const names = logFileNames(containers);
      const texts: string[] = [];
      const files = [];
      for (const [i, { service, container }] of containers.entries()) {
        // Redacted before it is cut, as redactedTail does: a cut never leaves half a value.
        const kept = keptLogText(redact(await host.logTail(container, KEPT_LOG_LINES)));
        texts.push(kept.text);
        files.push({ service, container, file: names[i]!, lines: kept.lines, bytes: Buffer.byteLength(kept.text, 'utf8'), truncated: kept.truncated });
      }
      const dir = await logs.save({ app: spec.app, deployId, color, savedAt: now().toISOString(), files }, texts);
      return { host: hostOfSpec(spec), dir, files: files.map(({ service, file, lines, truncated }) => ({ service, file, lines, truncated })) };
    },
  };
}
