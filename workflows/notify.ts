/**
 * Notifications (`notify:`): each webhook told of the deploy's start and its end, by one activity per
 * webhook and event, retried within `notify.timeout`. A notification never fails or blocks a deploy:
 * the start is sent beside the deploy (awaited only at its end), the end inside a non-cancellable scope
 * (a cancelled deploy still says it rolled back), and a webhook given up on is a warning in the status.
 * Asked only of a spec with `notify`, so every other deploy's history is as it was.
 */
import { CancellationScope, patched } from '@temporalio/workflow';
import { PATCHES } from '../src/names';
import type { NotifyEvent } from '../src/notify';
import { messageOf } from './failures';
import type { Deploy, HostDeploy } from './phases';
import { notifying } from './profiles';
import { activities } from './steps';

/** Sends `event` to every webhook that asked for it, on the deploy's first host's worker; never throws. */
export async function notifyEvent(d: Deploy, hosts: readonly HostDeploy[], event: NotifyEvent, reason: string | null = null, phase: string = d.tracker.phase): Promise<void> {
  const notify = d.spec.notify;
  if (!notify || !patched(PATCHES.notifications)) return;
  const { status } = d.tracker;
  const facts = {
    app: d.spec.app,
    event,
    outcome: event === 'started' ? 'running' : event,
    phase,
    images: status.images,
    previousImages: status.previousImages,
    reason,
    deployId: d.deployId,
    requestedBy: status.requestedBy,
  };
  const reports = (status.notifications ??= []);
  const send = () =>
    Promise.all(
      notify.webhooks.flatMap((hook, index) =>
        hook.events.includes(event)
          ? [
              activities(notifying(notify.timeout), `notify webhook ${index + 1}: ${event}`, hosts[0])
                .notifyWebhook(d.spec, index, facts)
                .then(
                  () => reports.push({ event, webhook: index, delivered: true, error: null }),
                  (err: unknown) => reports.push({ event, webhook: index, delivered: false, error: messageOf(err) }),
                ),
            ]
          : [],
      ),
    );
  // The end of a deploy is told even when it was cancelled; its start is cancelled with it.
  await (event === 'started' ? send() : CancellationScope.nonCancellable(send));
}
