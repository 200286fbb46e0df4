/** Worker and Temporal server processes that the crash tests and the bench start, kill and restart, and what they tell. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { DEFAULT_KEY_FILE } from '../src/codec';
import { BUNDLE_PATH, GREENLIGHT_HOME, REPO, TEMPORAL_ADDRESS } from './paths';

export interface WorkerProcess {
  child: ChildProcess;
  startedAt: number;
  /** Resolves with the exit signal/code. */
  exited: Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<string>;
  /** Resolves once the worker's output has held `text` `times` times (e.g. each queue's RUNNING), else rejects after `timeoutMs`. */
  printed(text: string, times?: number, timeoutMs?: number): Promise<void>;
}

/** Starts the real worker entry (optionally with a kill point) as its own process. */
export function spawnWorker(taskQueue: string, chaosKill?: string, logName = taskQueue, env: Record<string, string> = {}): WorkerProcess {
  const logDir = join(REPO, 'test-results', 'workers');
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, `${logName}.log`), { flags: 'a' });
  // One process (tsx as a loader, not its CLI wrapper), so a SIGKILL hits the worker itself.
  const child = spawn(process.execPath, ['--import', join(REPO, 'node_modules/tsx/dist/loader.mjs'), join(REPO, 'harness/chaos-worker.ts')], {
    cwd: REPO,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS,
      GREENLIGHT_HOME,
      GREENLIGHT_TASK_QUEUE: taskQueue,
      GREENLIGHT_WORKFLOW_BUNDLE: BUNDLE_PATH,
      GREENLIGHT_CHAOS_KILL: chaosKill ?? '',
      // A fleet host's worker has its own GREENLIGHT_HOME but the fleet's one payload key, as an
      // operator with several machines sets it (GREENLIGHT_PAYLOAD_KEYS, if set, still wins).
      GREENLIGHT_PAYLOAD_KEY_FILE: process.env.GREENLIGHT_PAYLOAD_KEY_FILE ?? join(GREENLIGHT_HOME, DEFAULT_KEY_FILE),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let output = '';
  const seen: Array<() => void> = [];
  // Both streams: the SDK's logger may write either.
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-200_000);
    for (const check of seen.splice(0)) check();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
  return {
    child,
    startedAt: Date.now(),
    exited,
    printed(text: string, times = 1, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the worker (${logName}) did not print ${JSON.stringify(text)} ${times} time(s) within ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (output.split(text).length - 1 >= times) {
            clearTimeout(timer);
            resolve();
          } else seen.push(check);
        };
        check();
      });
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // A graceful stop gets 15 s (the worker's shutdown grace is 5 s), then it is killed.
      const escalate = setTimeout(() => child.kill('SIGKILL'), 15_000);
      return exited.finally(() => clearTimeout(escalate));
    },
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once nothing accepts connections on 127.0.0.1:`port` any more (a killed server's port closed). */
export async function waitForPortClosed(port: number): Promise<void> {
  while (await portOpen(port)) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Runs one of the provisioning scripts (idempotent) for this checkout's GREENLIGHT_HOME. On failure the error
 * carries the script's own output, so a CI log that keeps only the test report still says why.
 */
export async function runScript(name: string, ...args: string[]): Promise<void> {
  // Asynchronous: the test process keeps serving its load generator (and its time-outs) meanwhile.
  const child = spawn('bash', [join(REPO, 'scripts', name), ...args], { env: { ...process.env, GREENLIGHT_HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  if (code !== 0) throw new Error(`scripts/${name} failed (${code ?? signal}):\n${output.trim().split('\n').slice(-20).join('\n')}`);
}

/** Stops the Temporal dev server (SIGKILL, like a crash) and starts it again on the same database file. */
export async function restartTemporal(downMs = 1_000): Promise<{ downForMs: number }> {
  const pid = Number(readFileSync(join(GREENLIGHT_HOME, 'temporal.pid'), 'utf8').trim());
  const port = Number(TEMPORAL_ADDRESS.split(':')[1]);
  const stoppedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitForPortClosed(port);
  await new Promise((r) => setTimeout(r, downMs));
  await runScript('temporal.sh');
  return { downForMs: Date.now() - stoppedAt };
}

function eventMillis(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
}

/**
 * When the deploy moved again after `since`, if it has: the earliest of its first task completed from
 * then on, and an activity attempt (a retry of the one the dead worker held) started from then on.
 * One look; callers poll it.
 */
export async function movedAgainAt(handle: WorkflowHandle, since: number): Promise<number | undefined> {
  const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
  const completed = history.events?.find(
    (e) => eventMillis(e.eventTime) >= since && (e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes || e.workflowTaskCompletedEventAttributes),
  );
  const started = (description.raw.pendingActivities ?? []).map((a) => eventMillis(a.lastStartedTime)).filter((t) => t >= since);
  const candidates = [...(completed ? [eventMillis(completed.eventTime)] : []), ...started];
  return candidates.length > 0 ? Math.min(...candidates) : undefined;
}

/** Resident memory of a process, in MiB (from /proc). */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}
