/**
 * Restarts of this host's own parts, as operators and machines do them: the Docker daemon (what an
 * `apt upgrade` of Docker does), nginx (stopped and started, or restarted in place), and a reboot-like
 * power cut of every part at once, then each brought back by the provisioning scripts as a boot would.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { NginxRouter } from '../host/nginx';
import { LABELS } from '../src/names';
import { runScript, type WorkerProcess } from './processes';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid in a pid file, if that process runs. */
async function pidFrom(file: string): Promise<number | null> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** Whether process `pid` runs (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`${what} (pid ${pid}) still runs ${timeoutMs} ms after it was told to stop`);
    await sleep(25);
  }
}

/** This machine's dockerd (scripts/docker.sh starts it; /var/run/docker.pid is its default pid file). */
export async function dockerdPid(): Promise<number> {
  const pid = await pidFrom('/var/run/docker.pid');
  if (pid === null) throw new Error('no running dockerd in /var/run/docker.pid: start it with scripts/docker.sh');
  return pid;
}

/**
 * Stops dockerd as a package upgrade does (SIGTERM, waits for it to exit), keeps it down `downMs`, and
 * starts it again through scripts/docker.sh. With live-restore on, the containers keep running.
 */
export async function restartDockerd(downMs = 2_000): Promise<{ downForMs: number }> {
  const pid = await dockerdPid();
  const stoppedAt = Date.now();
  process.kill(pid, 'SIGTERM');
  await waitGone(pid, 'dockerd', 30_000);
  await sleep(downMs);
  await runScript('docker.sh');
  return { downForMs: Date.now() - stoppedAt };
}

/** A full stop (QUIT: workers finish their requests, the ports close) and a start again. */
export async function stopStartNginx(router: NginxRouter): Promise<{ downForMs: number }> {
  const pid = await router.pid();
  if (pid === null) throw new Error(`greenlight's nginx (prefix ${router.prefix}) is not running`);
  const stoppedAt = Date.now();
  process.kill(pid, 'SIGQUIT');
  await waitGone(pid, 'nginx', 30_000);
  await router.ensureRunning();
  return { downForMs: Date.now() - stoppedAt };
}

/** Every process of greenlight's nginx: the master and its workers. */
async function nginxProcesses(router: NginxRouter): Promise<number[]> {
  const master = await router.pid();
  if (master === null) return [];
  const children = await readFile(`/proc/${master}/task/${master}/children`, 'utf8').catch(() => '');
  return [master, ...children.trim().split(/\s+/).filter(Boolean).map(Number)];
}

/** The main process of every running container labelled as greenlight's on this engine. */
async function containerPids(docker: Docker): Promise<number[]> {
  const list = await docker.listContainers({ filters: { label: [LABELS.app] } });
  const pids = await Promise.all(list.map(async (c) => (await docker.getContainer(c.Id).inspect()).State.Pid));
  return pids.filter((pid) => pid > 0);
}

export interface PowerCut {
  /** When the last part was killed. */
  cutAt: number;
  killed: { containers: number; nginx: number; dockerd: boolean; workers: number };
}

/**
 * A reboot-like power cut: SIGKILL to every part at once (no part gets to clean up, as when the power
 * goes): the workers, nginx's master and workers, dockerd and its containerd, and every greenlight
 * container's processes (killing a PID namespace's first process ends the namespace).
 */
export async function powerCut(docker: Docker, router: NginxRouter, workers: WorkerProcess[]): Promise<PowerCut> {
  const containers = await containerPids(docker);
  const nginx = await nginxProcesses(router);
  const dockerd = await dockerdPid();
  const { stdout } = await run('pgrep', ['-P', String(dockerd), 'containerd']).catch(() => ({ stdout: '' }));
  const containerd = stdout.trim().split(/\s+/).filter(Boolean).map(Number);
  for (const pid of [dockerd, ...containerd, ...nginx, ...containers]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone (a worker of nginx's that the master's death took).
    }
  }
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  for (const pid of [dockerd, ...containerd, ...nginx, ...containers]) await waitGone(pid, 'a killed process', 10_000);
  return { cutAt: Date.now(), killed: { containers: containers.length, nginx: nginx.length, dockerd: true, workers: workers.length } };
}

/**
 * The boot after a power cut, as init would run it: dockerd (scripts/docker.sh; containers come back by
 * their restart policy), greenlight's nginx (scripts/nginx.sh) and `startWorker`, all at once.
 */
export async function boot(startWorker: () => WorkerProcess): Promise<WorkerProcess> {
  const worker = startWorker();
  await Promise.all([runScript('docker.sh'), runScript('nginx.sh')]);
  return worker;
}
