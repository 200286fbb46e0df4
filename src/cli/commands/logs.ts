import type { KeptDeployLogs } from '../../../host/builders/kept-logs';
import type { CommandEnd } from '../exit-codes';

/** This host's kept logs as `greenlight logs` reads them (worker/logs-host.ts, loaded when the command runs). */
export interface KeptLogsReader {
  readonly root: string;
  /** The app's kept deploys, newest first. */
  list(app: string): Promise<KeptDeployLogs[]>;
  read(app: string, deployId: string): Promise<KeptDeployLogs | null>;
  readFile(app: string, deployId: string, file: string): Promise<string>;
  dirOf(app: string, deployId: string): string;
}

export interface LogsOptions {
  /** `--deploy ID`: that deploy's run id; default the latest deploy whose logs are kept. */
  deployId?: string;
  json: boolean;
  out: (line: string) => void;
  logs: () => Promise<KeptLogsReader>;
}

const when = (deploy: KeptDeployLogs) => `${deploy.deployId} (${deploy.savedAt})`;

/**
 * `greenlight logs APP [--deploy ID]`: the container logs a rolled-back deploy's new color left on this
 * host (the worker kept them before compensation removed the containers). Reads files only: no
 * Temporal, no Docker. Each host of a fleet keeps its own hosts' logs, so run it on the host.
 */
export async function logs(app: string, opts: LogsOptions): Promise<CommandEnd> {
  const kept = await opts.logs();
  const deploys = await kept.list(app);
  if (deploys.length === 0) {
    opts.out(`no logs of a failed deploy of ${app} are kept on this host (in ${kept.root}): they are kept when a deploy rolls back after starting its new color; run this on the Docker host, as the worker's user (GREENLIGHT_HOME as the worker has it), or check the app name`);
    return 'unknown-app';
  }
  const deploy = opts.deployId === undefined ? deploys[0]! : await kept.read(app, opts.deployId);
  if (!deploy) {
    opts.out(`no logs of deploy ${opts.deployId} of ${app} are kept on this host: kept are ${deploys.map(when).join(', ')}; pass one of them to --deploy (greenlight history ${app} shows the run ids)`);
    return 'unknown-deploy';
  }
  const dir = kept.dirOf(app, deploy.deployId);
  const texts = await Promise.all(deploy.files.map((file) => kept.readFile(app, deploy.deployId, file.file)));
  if (opts.json) {
    const files = deploy.files.map((file, i) => ({ ...file, path: `${dir}/${file.file}`, text: texts[i] }));
    opts.out(JSON.stringify({ ...deploy, dir, files }, null, 2));
    return 'done';
  }
  opts.out(`logs of ${app}'s failed ${deploy.color} color, deploy ${deploy.deployId}, kept ${deploy.savedAt} in ${dir}`);
  const others = deploys.filter((d) => d.deployId !== deploy.deployId);
  if (others.length > 0) opts.out(`also kept: ${others.map(when).join(', ')} (greenlight logs ${app} --deploy ID)`);
  if (deploy.files.length === 0) opts.out(`(no container of ${deploy.color} was left to read logs from)`);
  for (const [i, file] of deploy.files.entries()) {
    opts.out(`==> ${file.service}: ${file.container}, ${file.lines} line${file.lines === 1 ? '' : 's'}${file.truncated ? ', earlier output not kept' : ''} <==`);
    const text = texts[i]!.replace(/\n$/, '');
    if (text !== '') opts.out(text);
  }
  return 'done';
}
