/**
 * Deploy windows end to end, through the real binary, dev server, Docker engine and nginx: a deploy
 * started seconds before its window waits (the status says until when), then deploys; a refusal is
 * exit 10 with nothing started and nothing changed (the CLI's own check, and the workflow's for a deploy
 * started by other means); an override deploys at once and records who and why. Ports 5920-5929.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import { deployWorkflowId, FAILURE_TYPES } from '../../src/names';
import type { DeployStatus } from '../../src/types';
import { statusQuery } from '../../workflows/messages';
import { cli } from '../../harness/cli';
import { isLive } from '../../harness/deploys';
import { recordHistory } from '../../harness/histories';
import { appContainers, resetApp } from '../../harness/host';
import { exampleImages, twoServices, writeSpecFile } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';
import { waitFor } from '../helpers/wait';

const APP = `win-${Date.now().toString(36)}`;
const QUEUE = 'e2e-windows';
const ENV = { GREENLIGHT_TASK_QUEUE: QUEUE };
let w: TestWorker;
let dir: string;

const hms = (ms: number) => new Date(ms).toISOString().slice(11, 19);
/** A UTC window (every day) opening at `opensAt` (ms, whole seconds), an hour long. */
const windowAt = (opensAt: number) => ({ allow: [{ hours: `${hms(opensAt)}-${hms(opensAt + 3_600_000)}` }] });

const windowSpec = (windows: DeploySpecInput['windows']): DeploySpecInput => ({
  app: APP,
  router: { port: 5920 },
  services: twoServices({
    images: exampleImages('v1'),
    hostPorts: { backend: { blue: 5921, green: 5922 }, frontend: { blue: 5923, green: 5924 } },
    backend: { health: { endpoints: ['/api/health'] } },
    frontend: { health: { endpoints: ['/health'] } },
  }),
  health: { interval: '200ms', successes: 2, deadline: '20s' },
  verify: { window: '1s', interval: '100ms' },
  cleanup: { previous: 'stop', drain: '200ms' },
  windows,
});

/** What a refused deploy must not change: no deploy started, no containers, no router config. */
async function untouched(): Promise<void> {
  expect(await w.client.workflow.getHandle(deployWorkflowId(APP)).describe().catch(() => null)).toBeNull();
  expect(await appContainers(w.docker, APP)).toEqual([]);
  expect(await w.router.readRoute(APP).catch(() => null)).toBeNull();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'greenlight-windows-'));
  w = await startTestWorker(QUEUE);
});

afterAll(async () => {
  await resetApp(w.docker, w.router, APP).catch(() => undefined);
  await w?.stop();
});

describe('deploy windows', () => {
  it('outside the window with outside: refuse, the CLI refuses: exit 10, nothing started or changed', async () => {
    const opensAt = Math.ceil((Date.now() + 2 * 3_600_000) / 1000) * 1000;
    const file = writeSpecFile(dir, 'refuse', windowSpec({ ...windowAt(opensAt), outside: 'refuse' }));
    const run = await cli(['deploy', '-f', file], ENV);
    expect(run.code, run.stderr).toBe(EXIT.outsideWindow);
    expect(run.stdout).toContain(`deploy of ${APP} refused, nothing was started: outside the deploy window: it opens at ${new Date(opensAt).toISOString()} (UTC time); windows.outside: refuse`);
    // The flag over a spec that would wait: refused the same way.
    const waiting = writeSpecFile(dir, 'wait-far', windowSpec(windowAt(opensAt)));
    const flagged = await cli(['deploy', '-f', waiting, '--outside-window', 'refuse', '--json'], ENV);
    expect(flagged.code, flagged.stderr).toBe(EXIT.outsideWindow);
    expect(JSON.parse(flagged.stdout)).toEqual({ app: APP, refused: expect.stringContaining('--outside-window refuse') });
    await untouched();
  }, 60_000);

  it('usage errors are exit 2, nothing started: --override without --reason, --override of a spec without windows', async () => {
    const file = writeSpecFile(dir, 'usage', windowSpec(windowAt(Date.now() + 3_600_000)));
    const noReason = await cli(['deploy', '-f', file, '--override'], ENV);
    expect(noReason.code).toBe(EXIT.invalid);
    expect(noReason.stderr).toContain('--override needs --reason');
    const plain = writeSpecFile(dir, 'plain', windowSpec(undefined));
    const noWindows = await cli(['deploy', '-f', plain, '--override', '--reason', 'x'], ENV);
    expect(noWindows.code).toBe(EXIT.invalid);
    expect(noWindows.stderr).toContain('has no `windows`');
    await untouched();
  }, 60_000);

  it('the workflow refuses too (a deploy started by other means than the CLI): exit 10, nothing changed', async () => {
    const spec = parseDeploySpec(windowSpec({ ...windowAt(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000), outside: 'refuse' }));
    const outcome = await awaitOutcome(await startDeploy(w.client, spec, QUEUE));
    expect(outcome.exitCode).toBe(EXIT.outsideWindow);
    expect(outcome.end).toBe('outside-window');
    expect(outcome.status?.failureType).toBe(FAILURE_TYPES.outsideWindow);
    expect(await appContainers(w.docker, APP)).toEqual([]);
    expect(await w.router.readRoute(APP).catch(() => null)).toBeNull();
  }, 60_000);

  it('a deploy started seconds before its window waits on a durable timer (status shows until when), then deploys', async () => {
    const opensAt = Math.ceil((Date.now() + 8_000) / 1000) * 1000;
    const file = writeSpecFile(dir, 'wait', windowSpec(windowAt(opensAt)));
    const deploying = cli(['deploy', '-f', file], ENV);
    const iso = new Date(opensAt).toISOString();
    const handle = w.client.workflow.getHandle(deployWorkflowId(APP));
    const waiting = await waitFor(
      'the deploy to wait for its window',
      async () => {
        const status = await handle.query(statusQuery);
        if (status.phase !== 'window') throw new Error(`phase ${status.phase}`);
        return status;
      },
      { timeout: 6_000, interval: 100 },
    );
    expect(waiting.waitingFor).toBe(`the deploy window until ${iso}`);
    const status = await cli(['status', APP], ENV);
    expect(status.stdout).toContain(`phase window (waiting for the deploy window until ${iso})`);
    // Nothing was touched while it waits.
    expect(await appContainers(w.docker, APP)).toEqual([]);
    const run = await deploying;
    expect(run.code, run.stdout + run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/^ {2}window {10}/m);
    const final = (await handle.result()) as DeployStatus;
    expect(final.phases.map((p) => p.phase).slice(0, 2)).toEqual(['window', 'validate']);
    expect(Date.parse(final.phases[1]!.startedAt)).toBeGreaterThanOrEqual(opensAt);
    expect(await isLive(w, APP, { color: 'blue', images: exampleImages('v1') })).toBe(true);
    await recordHistory(APP, (await handle.describe()).runId, 'window-wait');
  }, 120_000);

  it('--override --reason deploys at once outside a refusing window, recording who and why', async () => {
    const file = writeSpecFile(dir, 'override', windowSpec({ ...windowAt(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000), outside: 'refuse' }));
    const run = await cli(['deploy', '-f', file, '--image', `backend=${exampleImages('v2').backend}`, '--override', '--reason', 'hotfix INC-42', '--requested-by', 'e2e-windows'], ENV);
    expect(run.code, run.stdout + run.stderr).toBe(EXIT.ok);
    const status = JSON.parse((await cli(['status', APP, '--json'], ENV)).stdout) as { deploy: { window: DeployStatus['window']; phases: Array<{ phase: string }> } };
    expect(status.deploy.window).toEqual({ startedInside: false, opensAt: expect.any(String), override: { reason: 'hotfix INC-42', by: 'e2e-windows' } });
    expect(status.deploy.phases[0]!.phase).toBe('validate');
    expect((await cli(['status', APP], ENV)).stdout).toContain('deploy window overridden by e2e-windows: hotfix INC-42');
  }, 120_000);
});
