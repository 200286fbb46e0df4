/**
 * The releases store (workflows/releases.ts) on a real local Temporal server: numbering, the dedupe of a
 * retried record, the bounded list across continue-as-new; and the record a successful deploy sends
 * (recordRelease's arguments), a failed one none.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { BUNDLE_PATH } from '../../harness/paths';
import { parseDeploySpec } from '../../src/config/load';
import { FAILURE_TYPES, PATCHES, RELEASES_WORKFLOW, releasesWorkflowId } from '../../src/names';
import { RELEASES_KEPT, type ReleaseDraft, type ReleaseOrigin } from '../../src/releases';
import { recordReleaseSignal, releasesQuery, RELEASE_EVENTS_PER_RUN, type releasesWorkflow } from '../../workflows/releases';
import { patchesOf, runDeploy, startLocalTestEnvironment } from './stubs';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startLocalTestEnvironment();
});

afterAll(async () => {
  await env?.teardown();
});

const spec = (app: string) => parseDeploySpec({ app, services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 }, env: { MODE: 'prod' } } } });

function draft(app: string, run: string): ReleaseDraft {
  return { app, images: { web: { image: `web:${run}`, imageId: null } }, specHash: `sha256:${run}`, env: { web: { keys: ['MODE'], secrets: [] } }, recordedAt: '2026-01-01T00:00:00.000Z', startedBy: 'cli@host', requestedBy: null, deployWorkflowId: `deploy-${app}`, deployRunId: run, taskQueue: 'q', spec: spec(app) };
}

describe('releases workflow', () => {
  it('numbers releases r1, r2, ... in arrival order and drops a second record of one deploy run', async () => {
    const app = `rel-wf-${randomUUID().slice(0, 6)}`;
    const taskQueue = `releases-test-${app}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: BUNDLE_PATH } });
    await worker.runUntil(async () => {
      const start = (d: ReleaseDraft) =>
        env.client.workflow.signalWithStart<typeof releasesWorkflow, [ReleaseDraft]>(RELEASES_WORKFLOW, { workflowId: releasesWorkflowId(app), taskQueue, args: [{ app, releases: [], next: 1 }], signal: recordReleaseSignal, signalArgs: [d] });
      await start(draft(app, 'run-a'));
      await start(draft(app, 'run-b'));
      const handle = await start(draft(app, 'run-a'));
      const releases = await handle.query(releasesQuery);
      expect(releases.map((r) => [r.id, r.deployRunId])).toEqual([
        ['r1', 'run-a'],
        ['r2', 'run-b'],
      ]);
      await handle.terminate('test over');
    });
  });

  it(`continues as new after ${RELEASE_EVENTS_PER_RUN} records, keeping the newest ${RELEASES_KEPT} and the numbering`, async () => {
    const app = `rel-can-${randomUUID().slice(0, 6)}`;
    const taskQueue = `releases-test-${app}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: BUNDLE_PATH } });
    await worker.runUntil(async () => {
      const first = await env.client.workflow.signalWithStart<typeof releasesWorkflow, [ReleaseDraft]>(RELEASES_WORKFLOW, { workflowId: releasesWorkflowId(app), taskQueue, args: [{ app, releases: [], next: 1 }], signal: recordReleaseSignal, signalArgs: [draft(app, 'run-1')] });
      const handle = env.client.workflow.getHandle(releasesWorkflowId(app));
      for (let n = 2; n <= RELEASE_EVENTS_PER_RUN + 1; n++) await handle.signal(recordReleaseSignal, draft(app, `run-${n}`));
      let releases = await handle.query(releasesQuery);
      for (let i = 0; i < 50 && releases.at(-1)?.id !== `r${RELEASE_EVENTS_PER_RUN + 1}`; i++) releases = await handle.query(releasesQuery);
      expect(releases).toHaveLength(RELEASES_KEPT);
      expect(releases[0]!.id).toBe(`r${RELEASE_EVENTS_PER_RUN + 2 - RELEASES_KEPT}`);
      expect(releases.at(-1)!.id).toBe(`r${RELEASE_EVENTS_PER_RUN + 1}`);
      expect((await handle.describe()).runId).not.toBe(first.signaledRunId);
      await handle.terminate('test over');
    });
  });
});

describe('a deploy records its release', () => {
  it('a successful deploy sends its spec, its ids, who started it and its own queue, after cleanup, behind the patch', async () => {
    const app = `rel-rec-${randomUUID().slice(0, 6)}`;
    const sent: Array<[unknown, ReleaseOrigin]> = [];
    const run = await runDeploy(env, { spec: spec(app), startedBy: 'cli-user@laptop', requestedBy: 'ci job 7' }, {
      live: { live: 'blue', backup: null },
      describe: {},
      overrides: {
        recordRelease: async (s, origin) => {
          sent.push([s, origin]);
          return { specHash: 'sha256:x' };
        },
      },
    });
    expect(run.status.outcome).toBe('succeeded');
    expect(run.calls.slice(-2)).toEqual(['retireColor', 'recordRelease']);
    expect(sent).toHaveLength(1);
    const [sentSpec, origin] = sent[0]!;
    expect(sentSpec).toEqual(spec(app));
    const runId = run.history.events?.[0]?.workflowExecutionStartedEventAttributes?.originalExecutionRunId;
    expect(origin).toEqual({ recordedAt: expect.any(String), startedBy: 'cli-user@laptop', requestedBy: 'ci job 7', deployWorkflowId: `deploy-${app}`, deployRunId: runId, taskQueue: `workflow-test-${app}` });
    expect(patchesOf(run.history)).toContain(PATCHES.releases);
  });

  it('a failed store is a warning: the deploy still succeeded', async () => {
    const app = `rel-warn-${randomUUID().slice(0, 6)}`;
    const run = await runDeploy(env, { spec: spec(app) }, { live: null, describe: {}, overrides: { recordRelease: async () => { throw ApplicationFailure.nonRetryable('store unreachable', FAILURE_TYPES.infrastructure); } } });
    expect(run.status.outcome).toBe('succeeded');
    expect(run.status.lastError).toMatch(/deploy succeeded but its release was not recorded: store unreachable/);
  });

  it('a deploy that rolls back records nothing', async () => {
    const app = `rel-fail-${randomUUID().slice(0, 6)}`;
    const run = await runDeploy(env, { spec: spec(app) }, { live: { live: 'blue', backup: null }, describe: {}, overrides: { healthCheck: async () => { throw ApplicationFailure.nonRetryable('web never healthy', FAILURE_TYPES.healthCheck); } } });
    expect(run.failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(run.calls).not.toContain('recordRelease');
    expect(patchesOf(run.history)).not.toContain(PATCHES.releases);
  });
});

describe('retain.releases', () => {
  it('with retain, the images of old releases are pruned after the record, behind its patch; without, neither', async () => {
    const app = `rel-ret-${randomUUID().slice(0, 6)}`;
    const asked: number[] = [];
    const retained = await runDeploy(env, { spec: parseDeploySpec({ ...spec(app), retain: { releases: 2 } }) }, {
      live: { live: 'blue', backup: null },
      describe: {},
      overrides: {
        pruneReleaseImages: async (_s, retain) => {
          asked.push(retain);
          return { removed: ['web:v0'] };
        },
      },
    });
    expect(retained.status.outcome).toBe('succeeded');
    expect(retained.calls.slice(-3)).toEqual(['retireColor', 'recordRelease', 'pruneReleaseImages']);
    expect(asked).toEqual([2]);
    expect(patchesOf(retained.history)).toContain(PATCHES.retainReleases);

    const plain = await runDeploy(env, { spec: spec(`${app}-b`) }, { live: { live: 'blue', backup: null }, describe: {} });
    expect(plain.calls).not.toContain('pruneReleaseImages');
    expect(patchesOf(plain.history)).not.toContain(PATCHES.retainReleases);
  });
});
