/**
 * Notifications (`notify:`): each webhook told of the deploy's start and its end, by one activity per
 * webhook and event, retried within `notify.timeout`. A notification never fails or blocks a deploy:
 * the start is sent beside the deploy (awaited only at its end), the end inside a non-cancellable scope
 * (a cancelled deploy still says it rolled back), and a webhook given up on is a warning in the status.
 * Asked only of a spec with `notify`, so every other deploy's history is as it was.
 */
import { CancellationScope, patched } from '@temporalio/workflow';
import { PATCHES } from '../src/names';
import type { DeploySpec } from '../src/config/schema';
import type { NotifyEvent, NotifyFacts } from '../src/notify';
import type { NotificationReport } from '../src/types';
import { messageOf } from './failures';
import type { Deploy, HostDeploy } from './phases';
import { notifying } from './profiles';
import { activities, type HostTarget } from './steps';

/** Sends `event` to every webhook that asked for it, on the deploy's first host's worker; never throws. */
export async function notifyEvent(d: Deploy, hosts: readonly HostDeploy[], event: NotifyEvent, reason: string | null = null, phase: string = d.tracker.phase): Promise<void> {
  if (!d.spec.notify || !patched(PATCHES.notifications)) return;
  const { status } = d.tracker;
  const facts: NotifyFacts = {
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
  // The end of a deploy is told even when it was cancelled; its start is cancelled with it.
  await sendNotifications(d.spec, facts, hosts[0], (status.notifications ??= []), event !== 'started');
}

/**
 * The deploy's and the monitor's one way to notify: `facts.event` to every webhook of `spec.notify` that
 * asked for it, one activity each on `host`'s worker, each outcome pushed to `reports`; never throws.
 */
export async function sendNotifications(spec: DeploySpec, facts: NotifyFacts, host: HostTarget | undefined, reports: NotificationReport[], nonCancellable: boolean): Promise<void> {
  const notify = spec.notify;
  if (!notify) return;
  const { event } = facts;
  const send = () =>
    Promise.all(
      notify.webhooks.flatMap((hook, index) =>
        hook.events.includes(event)
          ? [
              activities(notifying(notify.timeout), `notify webhook ${index + 1}: ${event}`, host)
                .notifyWebhook(spec, index, facts)
                .then(
                  () => reports.push({ event, webhook: index, delivered: true, error: null }),
                  (err: unknown) => reports.push({ event, webhook: index, delivered: false, error: messageOf(err) }),
                ),
            ]
          : [],
      ),
    );
  await (nonCancellable ? CancellationScope.nonCancellable(send) : send());
}
