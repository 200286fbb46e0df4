/**
 * The kept logs of a failed deploy's new color (`greenlight logs`): how much of a container's output is
 * kept, what the record of one deploy's logs says, and which deploys' logs go when an app has more than
 * it keeps. Pure: host/kept-logs.ts reads and writes the files.
 */
import type { KeptLogsReport } from '../../src/types';

export type { KeptLogsReport };

/** Each container's last lines kept (`docker logs --tail`), then at most this many bytes of them. */
export const KEPT_LOG_LINES = 2_000;
export const KEPT_LOG_BYTES = 1024 * 1024;
/** How many deploys' logs an app keeps on a host: the newest. */
export const KEPT_DEPLOYS = 10;

/** One container's kept log: the file (in the deploy's folder), and how much of the output it holds. */
export interface KeptLogFile {
  service: string;
  container: string;
  /** The file's name in the deploy's folder: `<service>.log`. */
  file: string;
  lines: number;
  bytes: number;
  /** Earlier output was left out: beyond KEPT_LOG_LINES lines or KEPT_LOG_BYTES bytes. */
  truncated: boolean;
}

/** What one deploy's folder holds (its `deploy.json`): whose logs, from when, which files. */
export interface KeptDeployLogs {
  app: string;
  /** The deploy's run id, as `greenlight status` and `history` show it; the folder's name. */
  deployId: string;
  /** The color whose containers these are (the deploy's new color). */
  color: string;
  /** When the worker saved them (ISO 8601). */
  savedAt: string;
  files: KeptLogFile[];
}

/**
 * The end of a container's (already redacted) output that is kept: its last `maxLines` lines, then at
 * most `maxBytes` bytes of UTF-8, cut at a line start (or inside the first line when one line alone is
 * longer). `truncated` when the output had more than was kept, or Docker's tail stopped at `maxLines`.
 */
export function keptLogText(output: string, maxLines = KEPT_LOG_LINES, maxBytes = KEPT_LOG_BYTES): { text: string; lines: number; truncated: boolean } {
  const all = output === '' ? [] : output.replace(/\n$/, '').split('\n');
  let kept = all.slice(-maxLines);
  let truncated = all.length > maxLines || all.length === maxLines;
  let bytes = Buffer.byteLength(kept.join('\n'), 'utf8');
  while (bytes > maxBytes && kept.length > 1) {
    bytes -= Buffer.byteLength(kept[0]!, 'utf8') + 1;
    kept = kept.slice(1);
    truncated = true;
  }
  if (bytes > maxBytes) {
    const line = Buffer.from(kept[0]!, 'utf8');
    kept = [line.subarray(line.length - maxBytes).toString('utf8').replace(/^\uFFFD+/, '')];
    truncated = true;
  }
  const text = kept.length === 0 ? '' : `${kept.join('\n')}\n`;
  return { text, lines: kept.length, truncated };
}

/** The file of each container's log: `<service>.log`, or `<container>.log` for a second container of one service (an older name's leftover). */
export function logFileNames(containers: ReadonlyArray<{ service: string; container: string }>): string[] {
  const taken = new Set<string>();
  return containers.map(({ service, container }) => {
    const file = taken.has(`${service}.log`) ? `${container}.log` : `${service}.log`;
    taken.add(file);
    return file;
  });
}

/** The deploys whose logs go: all but the newest `keep` by savedAt (the folder's time where its record is missing). */
export function deploysToDrop(saved: ReadonlyArray<{ deployId: string; savedAt: string }>, keep = KEPT_DEPLOYS): string[] {
  const newestFirst = [...saved].sort((a, b) => (a.savedAt < b.savedAt ? 1 : a.savedAt > b.savedAt ? -1 : a.deployId < b.deployId ? 1 : -1));
  return newestFirst.slice(keep).map((deploy) => deploy.deployId).sort();
}

/** A deploy id as it may name a folder: a run id (letters, digits, `-`), never a path. */
export const DEPLOY_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
