/**
 * The kept logs of failed deploys on this host: `<root>/<app>/<deployId>/` holds one `<service>.log` per
 * container of the failed color and `deploy.json` (what the folder holds), root `<GREENLIGHT_HOME>/logs`.
 * Files are the worker user's only (0600, folders 0700): an app's output may say more than it should.
 * The record is written last, by rename, so a folder with one is complete; an app keeps its newest
 * KEPT_DEPLOYS deploys' logs.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { greenlightHome } from '../src/settings';
import { DEPLOY_ID, deploysToDrop, KEPT_DEPLOYS, type KeptDeployLogs } from './builders/kept-logs';

const RECORD = 'deploy.json';

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

export class KeptLogs {
  constructor(readonly root: string) {}

  /** The folder of one deploy's logs. */
  dirOf(app: string, deployId: string): string {
    if (!DEPLOY_ID.test(deployId)) throw new Error(`"${deployId}" is not a deploy's run id`);
    return join(this.root, app, deployId);
  }

  /**
   * Saves one deploy's logs (`texts[i]` is `record.files[i]`'s), replacing what an earlier attempt saved,
   * then drops the app's oldest deploys beyond `keep`. Returns the deploy's folder.
   */
  async save(record: KeptDeployLogs, texts: readonly string[], keep = KEPT_DEPLOYS): Promise<string> {
    const dir = this.dirOf(record.app, record.deployId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const [i, file] of record.files.entries()) await writeAtomically(join(dir, file.file), texts[i]!);
    await writeAtomically(join(dir, RECORD), `${JSON.stringify(record, null, 2)}\n`);
    const saved = await this.list(record.app, true);
    for (const deployId of deploysToDrop(saved, keep)) await rm(this.dirOf(record.app, deployId), { recursive: true, force: true });
    return dir;
  }

  /**
   * The app's kept deploys, newest first. `incomplete`: also folders without a record (an attempt that
   * died half-way), dated by the folder's time, so they age out too.
   */
  async list(app: string, incomplete = false): Promise<KeptDeployLogs[]> {
    const names = await readdir(join(this.root, app)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const deploys: KeptDeployLogs[] = [];
    for (const deployId of names.filter((name) => DEPLOY_ID.test(name))) {
      const record = await this.read(app, deployId);
      if (record) deploys.push(record);
      else if (incomplete) deploys.push({ app, deployId, color: '?', savedAt: (await stat(this.dirOf(app, deployId))).mtime.toISOString(), files: [] });
    }
    return deploys.sort((a, b) => (a.savedAt < b.savedAt ? 1 : a.savedAt > b.savedAt ? -1 : 0));
  }

  /** One deploy's record, or null when none is kept (or the id is no run id). */
  async read(app: string, deployId: string): Promise<KeptDeployLogs | null> {
    if (!DEPLOY_ID.test(deployId)) return null;
    const text = await readFile(join(this.dirOf(app, deployId), RECORD), 'utf8').catch(() => null);
    return text === null ? null : (JSON.parse(text) as KeptDeployLogs);
  }

  /** One kept file's text. */
  readFile(app: string, deployId: string, file: string): Promise<string> {
    return readFile(join(this.dirOf(app, deployId), file), 'utf8');
  }
}

/** This host's kept logs: `<GREENLIGHT_HOME>/logs`, beside the router's `nginx/` (the worker's and the CLI's alike). */
export function keptLogsHere(): KeptLogs {
  return new KeptLogs(join(greenlightHome(), 'logs'));
}
