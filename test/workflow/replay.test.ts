/**
 * Determinism guard: histories of real deploys (recorded from the e2e run, test/histories) replay on
 * the current workflow code. A change that would break deploys in flight fails here; make such
 * changes with `patched()` (README: "Changing the workflow safely"). Re-record with
 * `GREENLIGHT_RECORD_HISTORIES=1 npx vitest run test/e2e/deploy.test.ts`.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { BUNDLE_PATH, REPO } from '../../harness/paths';
import { EncryptionCodec } from '../../src/codec';
import { PATCHES } from '../../src/names';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const dir = join(REPO, 'test', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

function load(file: string) {
  return historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
}

/** The activities a history scheduled, in order, and the patches it marked. */
const activitiesOf = (file: string) => (load(file).events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
const patchesOf = (file: string) =>
  (load(file).events ?? []).flatMap((e) => {
    const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });

describe('replay of recorded deploy histories', () => {
  it('covers success, health failure, automatic rollback and manual rollback', () => {
    expect(files).toEqual(expect.arrayContaining(['success.json', 'health-failure.json', 'auto-rollback.json', 'manual-rollback.json']));
  });

  it('has preview deploys (test/e2e/preview.test.ts): the preview opened behind its patch, closed before the switch or in the rollback', () => {
    expect(patchesOf('preview-success.json')).toContain(PATCHES.previewRoute);
    expect(activitiesOf('preview-success.json')).toEqual(expect.arrayContaining(['openPreview', 'runPreviewChecks', 'closePreview', 'switchTraffic']));
    expect(activitiesOf('preview-success.json').indexOf('closePreview')).toBeLessThan(activitiesOf('preview-success.json').indexOf('switchTraffic'));
    expect(activitiesOf('preview-check-rollback.json').slice(-2)).toEqual(['closePreview', 'removeColor']);
    // Deploys recorded before the preview existed never asked its patch.
    expect(patchesOf('success.json')).not.toContain(PATCHES.previewRoute);
  });

  it('has a rollback that kept the new color\'s logs on the host (test/e2e/secrets.test.ts) behind its patch; older rollbacks did not', () => {
    expect(patchesOf('kept-logs-rollback.json')).toContain(PATCHES.keepFailedLogs);
    expect(activitiesOf('kept-logs-rollback.json').slice(-2)).toEqual(['keepFailedLogs', 'removeColor']);
    expect(patchesOf('health-failure.json')).not.toContain(PATCHES.keepFailedLogs);
    expect(activitiesOf('health-failure.json')).not.toContain('keepFailedLogs');
  });

  it('keeps deploys recorded before each patch, so the old branch of patched() is replayed too', () => {
    // Before the drain-in-retire patch the cleanup drained with a workflow timer (TIMER_FIRED).
    const before = load('success.before-drain-patch.json').events ?? [];
    expect(before.some((e) => e.timerFiredEventAttributes)).toBe(true);
    const after = load('success.json').events ?? [];
    expect(after.some((e) => e.markerRecordedEventAttributes)).toBe(true);
  });

  it('keeps a deploy that took verify\'s result over a rollback accepted in the same task (before the rollback patch)', () => {
    // Recorded by the workflow test "a rollback accepted in the workflow task in which verify completes"
    // on the code before the patch (into cleanup) and after it (rolled back, with the patch marker).
    expect(activitiesOf('rollback-with-verify-result.before-rollback-patch.json')).toContain('retireColor');
    expect(patchesOf('rollback-with-verify-result.before-rollback-patch.json')).not.toContain(PATCHES.rollbackWinsUntilCleanup);
    expect(activitiesOf('rollback-with-verify-result.json')).not.toContain('retireColor');
    expect(patchesOf('rollback-with-verify-result.json')).toContain(PATCHES.rollbackWinsUntilCleanup);
  });

  it('keeps a rollback recorded before the restore-previous-routing patch (traffic back with switchTraffic)', () => {
    // Recorded by the same workflow test before the patch (renamed .before-restore-patch) and after it.
    expect(activitiesOf('rollback-with-verify-result.before-restore-patch.json')).not.toContain('switchBack');
    expect(patchesOf('rollback-with-verify-result.before-restore-patch.json')).not.toContain(PATCHES.restorePreviousRouting);
    expect(activitiesOf('rollback-with-verify-result.json').slice(-2)).toEqual(['switchBack', 'removeColor']);
    expect(patchesOf('rollback-with-verify-result.json')).toContain(PATCHES.restorePreviousRouting);
  });

  it('keeps a deploy signalled to roll back before the signal had a handler (ignored, it succeeded) and one after (rolled back)', () => {
    // Before: recorded by a workflow test on the code without the handler; after: by deploy.test.ts
    // (`temporal workflow signal` during verify), stored decoded (harness/histories.ts).
    const signalled = (file: string) => (load(file).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'rollback').length;
    expect(signalled('rollback-signal.before-signal-handler.json')).toBe(1);
    expect(patchesOf('rollback-signal.before-signal-handler.json')).not.toContain(PATCHES.rollbackSignal);
    expect(activitiesOf('rollback-signal.before-signal-handler.json')).toContain('retireColor');
    expect(signalled('rollback-signal.json')).toBe(1);
    expect(patchesOf('rollback-signal.json')).toContain(PATCHES.rollbackSignal);
    expect(activitiesOf('rollback-signal.json')).not.toContain('retireColor');
    expect(activitiesOf('rollback-signal.json').slice(-2)).toEqual(['switchBack', 'removeColor']);
  });

  it('keeps deploys recorded before the one-host pin (no marker, no identifyHost) and one after it', () => {
    // Recorded by test/workflow/one-host-pin.test.ts (two machines' workers on one queue).
    const pinned = load('one-host-pinned.json').events ?? [];
    const before = load('success.json').events ?? [];
    const scheduled = (events: typeof pinned) => events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    const patches = (events: typeof pinned) =>
      events.flatMap((e) => {
        const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
        return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
      });
    expect(scheduled(pinned).slice(0, 3)).toEqual(['validateSpec', 'identifyHost', 'readRoute']);
    expect(patches(pinned)).toContain(PATCHES.oneHostPerDeploy);
    expect(scheduled(before)).not.toContain('identifyHost');
    expect(patches(before)).not.toContain(PATCHES.oneHostPerDeploy);
  });

  it('keeps a preSwitch hook\'s rollback and a postDeploy hook (patch marker, runHooks where the stage runs)', () => {
    // Recorded by test/e2e/hooks.test.ts (real deploys, stored decoded); histories without hooks mark no such patch.
    expect(patchesOf('hooks-preswitch-rollback.json')).toContain(PATCHES.deployHooks);
    expect(activitiesOf('hooks-preswitch-rollback.json').slice(-2)).toEqual(['runHooks', 'removeColor']);
    expect(activitiesOf('hooks-post-deploy.json').slice(-2)).toEqual(['retireColor', 'runHooks']);
    expect(patchesOf('success.json')).not.toContain(PATCHES.deployHooks);
  });

  it('keeps a singleton handover and its rollback (patch marker, the handover after the switch, the hand-back before the removal)', () => {
    // Recorded by test/e2e/workers.test.ts (real deploys, stored decoded); histories without singletons mark no such patch.
    expect(patchesOf('singleton-handover.json')).toContain(PATCHES.singletonHandover);
    expect(activitiesOf('singleton-handover.json')).toEqual(expect.arrayContaining(['switchTraffic', 'handOverSingletons', 'verify', 'retireColor']));
    expect(activitiesOf('singleton-rollback.json').slice(-3)).toEqual(['switchBack', 'handOverSingletons', 'removeColor']);
    expect(patchesOf('success.json')).not.toContain(PATCHES.singletonHandover);
  });

  it('keeps notified deploys (patch marker; the start beside the deploy, the end after cleanup or compensation)', () => {
    // Recorded by test/e2e/notify.test.ts (real deploys, stored decoded); histories without notify mark no such patch.
    expect(patchesOf('notify-success.json')).toContain(PATCHES.notifications);
    expect(activitiesOf('notify-success.json').filter((a) => a === 'notifyWebhook')).toHaveLength(2);
    expect(activitiesOf('notify-success.json').slice(-1)).toEqual(['notifyWebhook']);
    expect(activitiesOf('notify-rollback.json').slice(-2)).toEqual(['notifyWebhook', 'notifyWebhook']);
    expect(patchesOf('success.json')).not.toContain(PATCHES.notifications);
  });

  it('keeps a deploy that recorded its release and pruned old images (both patch markers, the two steps after cleanup)', () => {
    // Recorded by test/e2e/releases.test.ts (the retain deploy); histories from before mark neither patch.
    expect(patchesOf('release-retain.json')).toEqual(expect.arrayContaining([PATCHES.releases, PATCHES.retainReleases]));
    expect(activitiesOf('release-retain.json').slice(-3)).toEqual(['retireColor', 'recordRelease', 'pruneReleaseImages']);
    expect(patchesOf('success.json')).not.toContain(PATCHES.releases);
  });

  it('keeps a deploy with a monitor and a bake (both patch markers; the monitor ended at validate, the previous color not retired)', () => {
    // Recorded by test/e2e/monitor.test.ts (real deploys, stored decoded); histories from before mark neither patch.
    expect(patchesOf('monitor-bake.json')).toEqual(expect.arrayContaining([PATCHES.appMonitor, PATCHES.monitorBake]));
    const steps = activitiesOf('monitor-bake.json');
    expect(steps.indexOf('endMonitor')).toBeLessThan(steps.indexOf('deployColor'));
    expect(steps).not.toContain('retireColor');
    expect(patchesOf('success.json')).not.toContain(PATCHES.appMonitor);
  });

  it.each(files)('%s replays on the current workflow code', async (file) => {
    await Worker.runReplayHistory({ workflowBundle: { codePath: BUNDLE_PATH } }, load(file), `replay-${file}`);
  });

  // Deploys started before the payload codec have plain payloads: the upgraded worker (with the codec)
  // must still replay them, so the codec's decode passes unencrypted payloads through.
  it.each(files)('%s replays on a worker with the payload codec (plain payloads pass through)', async (file) => {
    const codec = new EncryptionCodec([{ id: 'replay', key: randomBytes(32) }]);
    await Worker.runReplayHistory({ workflowBundle: { codePath: BUNDLE_PATH }, dataConverter: { payloadCodecs: [codec] } }, load(file), `replay-codec-${file}`);
  });

  it('keeps a deploy that waited for its window (patch marker, the window timer before any activity), and others without the marker', () => {
    // Recorded by test/e2e/windows.test.ts: a window a few seconds after the deploy started.
    expect(patchesOf('window-wait.json')).toContain(PATCHES.deployWindows);
    const events = load('window-wait.json').events ?? [];
    const firstTimer = events.findIndex((e) => e.timerStartedEventAttributes);
    const firstActivity = events.findIndex((e) => e.activityTaskScheduledEventAttributes);
    expect(firstTimer).toBeGreaterThan(-1);
    expect(firstTimer).toBeLessThan(firstActivity);
    expect(activitiesOf('window-wait.json')).toContain('switchTraffic');
    for (const file of files.filter((f) => f !== 'window-wait.json')) expect(patchesOf(file)).not.toContain(PATCHES.deployWindows);
  });

  it('the guard fails on an incompatible change of the workflow', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: join(REPO, 'test', 'workflow', 'fixtures', 'changed-workflow.ts'),
      logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
    });
    await expect(Worker.runReplayHistory({ workflowBundle: changed }, load('success.json'), 'replay-changed')).rejects.toThrow(DeterminismViolationError);
  });
});
