/**
 * The health of a worker's container (a service without a port): nothing answers HTTP, so it is read
 * from Docker. `docker`: the image's own HEALTHCHECK reports healthy; `command`: `health.command` exits 0
 * inside the container (docker exec); `running`: the container has run `health.runningFor` without a
 * restart (a restart, by the restart policy after a crash, resets its start time).
 */
import type { DockerHost } from './docker';
import type { ProbeResult } from './probe';
import type { DeploySpec } from '../src/config/schema';
import { containerName, type Color } from '../src/names';

export type WorkerHost = Pick<DockerHost, 'appContainers' | 'inspectOrNull' | 'exec'>;

/** How a worker's probe is named in messages: `docker://<container name>`. */
export function workerProbeUrl(spec: DeploySpec, service: string, color: Color): string {
  return `docker://${containerName(spec.app, service, color)}`;
}

/** One probe of a worker's container, as a ProbeResult (no HTTP status): never throws for an unhealthy container. */
export async function probeWorker(host: WorkerHost, spec: DeploySpec, service: string, color: Color, timeoutMs: number, nowMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const url = workerProbeUrl(spec, service, color);
  const result = (error: string | null): ProbeResult => ({ url, ok: error === null, status: null, latencyMs: performance.now() - started, error });
  const svc = spec.services[service]!;
  const running = (await host.appContainers(spec.app, color, service)).find((c) => c.running);
  if (!running) return result('the container is not running');
  const info = await host.inspectOrNull(running.id);
  if (!info?.State.Running || info.State.Restarting) return result(`the container is ${info?.State.Status ?? 'gone'}`);
  switch (svc.health.type) {
    case 'docker': {
      const status = info.State.Health?.Status;
      if (!status) return result('the image has no HEALTHCHECK (health.type docker): add one to the image, or use health.command or health.type running');
      return result(status === 'healthy' ? null : `Docker HEALTHCHECK reports ${status}`);
    }
    case 'command': {
      const code = await host.exec(running.id, svc.health.command!, timeoutMs);
      if (code === 0) return result(null);
      return result(code === null ? `health.command did not end within ${timeoutMs} ms (health.timeout)` : `health.command (${svc.health.command!.join(' ')}) exited with ${code}`);
    }
    default: {
      // `running`, also for a spec validated before worker health existed (none had workers then).
      const wantMs = svc.health.runningFor ?? 10_000;
      const upMs = nowMs - Date.parse(info.State.StartedAt);
      return result(upMs >= wantMs ? null : `running ${Math.max(0, upMs / 1000).toFixed(1)} s without a restart of the ${wantMs / 1000} s needed (health.runningFor)`);
    }
  }
}
