/**
 * `greenlight doctor`: checks this host as its worker would find it (same environment: DOCKER_HOST,
 * GREENLIGHT_HOME, Temporal's connection settings) and prints one line per check. The CLI loads this
 * file on demand, as it loads worker/main.ts: it drives Docker and nginx, which the CLI never does.
 */
import { randomBytes } from 'node:crypto';
import { access, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import Docker from 'dockerode';
import { capacityCheckFromEnv, measureCapacity } from '../host/capacity';
import { DockerHost } from '../host/docker';
import { routerFromEnv } from '../host/nginx';
import { payloadKeysFromEnv } from '../src/codec';
import { secretPolicyFromEnv } from '../src/secrets';
import { greenlightHome, metricsAddressFromEnv } from '../src/settings';
import { connectionSettings } from '../src/temporal';
import { CHECK_TIMEOUT_MS, doctorChecks, formatResult, runChecks, type CheckResult, type DoctorOptions, type TemporalAccess } from './doctor-checks';

export interface DoctorRequest extends DoctorOptions {
  json: boolean;
}

export interface DoctorReport {
  /** Every check passed. */
  ok: boolean;
  host: string | null;
  checks: CheckResult[];
}

/** Temporal as the CLI and the worker reach it (src/temporal.ts), opened once for all the checks. */
function openTemporal(): TemporalAccess {
  let access: TemporalAccess;
  try {
    const { address, namespace, connectionOptions } = connectionSettings();
    const { tls, apiKey, metadata } = connectionOptions;
    const client = Connection.connect({ address, tls, apiKey, metadata, connectTimeout: CHECK_TIMEOUT_MS - 1_000 }).then((connection) => new Client({ connection, namespace }));
    access = { address, namespace, client };
  } catch (err) {
    access = { address: null, namespace: 'default', client: Promise.reject(err as Error) };
  }
  // Each check that needs the client handles its failure itself.
  void access.client.catch(() => undefined);
  return access;
}

async function probeWrite(dir: string): Promise<void> {
  const file = join(dir, `.doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  await writeFile(file, 'greenlight doctor\n');
  await rm(file, { force: true });
}

async function fileExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** Runs every check, prints them (lines, or one JSON object), and says whether all passed. */
export async function runDoctor(request: DoctorRequest, out: (line: string) => void): Promise<DoctorReport> {
  const temporal = openTemporal();
  const docker = new DockerHost(new Docker({ timeout: CHECK_TIMEOUT_MS - 1_000 }));
  try {
    const checks = await runChecks(
      doctorChecks(request, {
        home: greenlightHome(),
        user: currentUser(),
        probeWrite,
        fileExists,
        docker,
        dockerTarget: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock',
        router: routerFromEnv(),
        temporal,
        now: Date.now,
        secretPolicy: () => secretPolicyFromEnv(process.env),
        payloadKeys: () => payloadKeysFromEnv(process.env),
        metricsAddress: () => metricsAddressFromEnv(process.env),
        get: async (url) => {
          const response = await fetch(url, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS - 1_000) });
          return { status: response.status, body: await response.text() };
        },
        capacity: async () => {
          const engine = await docker.engineInfo();
          return measureCapacity({ host: engine.name, cpus: engine.cpus, dockerRootDir: engine.rootDir, writableLayerBytes: {} });
        },
        capacityCheck: () => capacityCheckFromEnv(process.env),
      }),
    );
    const report: DoctorReport = { ok: checks.every((check) => check.ok), host: request.host, checks };
    if (request.json) out(JSON.stringify(report, null, 2));
    else for (const check of checks) out(formatResult(check));
    return report;
  } finally {
    await temporal.client.then((client) => client.connection.close()).catch(() => undefined);
  }
}
