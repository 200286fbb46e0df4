/**
 * The app monitor (`monitor-<app>`, with `monitor:` in the spec), started by a successful deploy and
 * ended by the next one (its validate signals it to stop and takes its state): every `monitor.interval`
 * one probe round of the live color on every host; after `monitor.alertAfter` failed rounds in a row an
 * alert, and a recovery when a round passes again. During the bake (`monitor.bake`) the previous color
 * is kept running, and an alert rolls traffic back to it, health-gated like any rollback; when the bake
 * ends the previous color is retired per `cleanup.previous`. It continues as new every ROUNDS_PER_RUN
 * rounds (a fixed number of events each), so its history stays small however long the app runs.
 */
import { type ActivityOptions, CancellationScope, condition, continueAsNew, defineQuery, defineSignal, log, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { DeploySpec } from '../src/config/schema';
import { afterBake, afterBakeRollback, afterRound, formatMonitor, previousColorSpec, type MonitorHealth, type MonitorHost, type MonitorInput, type MonitorView } from '../src/monitor';
import { MESSAGES, SEARCH_ATTRIBUTES } from '../src/names';
import type { NotifyEvent } from '../src/notify';
import type { NotificationReport } from '../src/types';
import { messageOf } from './failures';
import { eachHostToTheEnd, everyHost } from './fleet';
import { sendNotifications } from './notify';
import { compensation, dockerOps, quick, watching } from './profiles';
import { activities } from './steps';

/** Rounds one run takes before it continues as new (about 10 events each). */
export const ROUNDS_PER_RUN = 200;

/** The shortest wait left to a server timer; a shorter one the probe activity waits itself. */
const MIN_TIMER_MS = 1_000;

export const monitorQuery = defineQuery<MonitorView>(MESSAGES.monitor);
export const stopMonitorSignal = defineSignal<[reason: string]>(MESSAGES.stopMonitor);

/** One probe round on every host: short attempts, retried once; a round that could not run counts as failed. */
const probing: ActivityOptions = { ...quick, startToCloseTimeout: '30s', retry: { ...quick.retry, maximumAttempts: 2 } };

export async function monitorWorkflow(initial: MonitorInput): Promise<MonitorInput> {
  let input = initial;
  let stopReason: string | null = null;
  // Notifications of this run only: a warning list, never carried across continue-as-new. They are sent
  // beside the rounds (an alert's never delays the bake rollback) and awaited before the run ends.
  const notifications: NotificationReport[] = [];
  const sending: Promise<void>[] = [];
  const notifyBeside = (event: NotifyEvent, reason: string | null) => void sending.push(notify(input, event, reason, notifications));
  setHandler(monitorQuery, () => ({ ...input.status, images: input.images }));
  setHandler(stopMonitorSignal, (reason) => void (stopReason ??= reason));
  let published: MonitorHealth | null = null;
  const publish = () => {
    if (input.searchAttributes && published !== input.status.health) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.health, value: input.status.health }]);
    published = input.status.health;
    // The Temporal UI's current details: what `greenlight status` prints of the monitor, a bake rollback's
    // reason included. Metadata, not a command: replay is unchanged.
    setCurrentDetails(formatMonitor(input.status, Date.now()).join('\n\n'));
  };
  publish();

  const stopped = () => stopReason !== null;
  // One wait for the stop, raced by every round (not a new condition per round).
  const stopping = condition(stopped).then(() => null);
  // The wait before the next round: the rest of the interval once a round is over (its probe timeouts are
  // not added to it, so `alertAfter` failed rounds take `alertAfter` intervals). A server timer under 1 s
  // fires only after about 1 s (docs/design-notes.md), so a wait that short is the probe activity's own.
  let waitMs = 0;
  for (let rounds = 0; !stopped(); rounds++) {
    if (waitMs >= MIN_TIMER_MS) {
      if (await condition(stopped, waitMs)) break;
      waitMs = 0;
    }
    if (input.status.bake?.state === 'baking' && Date.now() >= Date.parse(input.status.bake.until)) input = await endBake(input);
    const began = Date.now() + waitMs;
    // A stop does not wait for the round under way.
    const failures = await Promise.race([probeRound(input, waitMs), stopping]);
    if (failures === null) break;
    const { status, events } = afterRound(input.status, failures, Date.now());
    input = { ...input, status };
    for (const event of events) {
      if (event === 'alert') {
        log.warn('monitor alert', { app: status.app, color: status.color, failedRounds: status.consecutiveFailures });
        notifyBeside('monitor-alert', status.lastFailure?.detail ?? null);
      } else if (event === 'recovered') {
        notifyBeside('monitor-recovered', `after ${status.alerts} alert(s)`);
      } else {
        const reason = `${status.consecutiveFailures} failed rounds in a row during the bake: ${status.lastFailure?.detail ?? ''}`;
        const before = input;
        input = await bakeRollback(input, reason);
        if (input.status.rollback !== before.status.rollback) notifyBeside('rolled-back', reason);
      }
    }
    publish();
    if (rounds + 1 >= (input.roundsPerRun ?? ROUNDS_PER_RUN) || workflowInfo().continueAsNewSuggested) {
      await Promise.all(sending);
      return continueAsNew<typeof monitorWorkflow>(input);
    }
    waitMs = Math.max(0, input.status.intervalMs - (Date.now() - began));
  }
  await Promise.all(sending);
  log.info('monitor ended', { app: input.status.app, reason: stopReason });
  return input;
}

/** One probe round of the live color on every host: its failures, each naming its host in a fleet. */
async function probeRound({ hosts, status }: MonitorInput, waitMs: number): Promise<string[]> {
  const each = await Promise.all(
    hosts.map(async (host) => {
      const on = host.name ? `${host.name}: ` : '';
      try {
        const { failures } = await activities(probing, `monitor round ${status.rounds + 1} of ${host.color}`, host).monitorRound(host.spec, host.color, waitMs);
        return failures.map((failure) => `${on}${failure}`);
      } catch (err) {
        return [`${on}the probe round did not run: ${messageOf(err)}`];
      }
    }),
  );
  return each.flat();
}

function notify(input: MonitorInput, event: NotifyEvent, reason: string | null, reports: NotificationReport[]): Promise<void> {
  const { spec, status } = input;
  const facts = { app: status.app, event, outcome: event === 'monitor-alert' ? 'unhealthy' : event === 'monitor-recovered' ? 'healthy' : event, phase: status.bake?.state === 'rolled-back' ? 'bake' : 'monitor', images: input.images, previousImages: input.previousImages, reason, deployId: status.deployId, requestedBy: null };
  return sendNotifications(spec, facts, input.hosts[0], reports, true);
}

/**
 * The bake's rollback, on every host: the previous color checked (started again and health-gated if it
 * is not healthy as it stands), then traffic back to it on every host, then the failing color stopped
 * (kept for its logs and a look). If the previous color cannot serve, nothing is switched: a warning,
 * and the next failing round tries again.
 */
async function bakeRollback(input: MonitorInput, reason: string): Promise<MonitorInput> {
  const { status } = input;
  const previous = input.hosts.map((host) => ({ ...host, restored: previousColorSpec(host.spec, input.previousImages) }));
  const missing = previous.find(({ restored }) => restored === null);
  if (missing || input.hosts.some((host) => host.previousColor === null)) {
    return { ...input, status: { ...status, lastError: `the bake cannot roll back: the previous color does not run every service of ${status.app} (a service is new in this deploy)` } };
  }
  try {
    await CancellationScope.nonCancellable(async () => {
      await everyHost(previous, async (host) => {
        const spec = host.restored;
        const color = host.previousColor!;
        const ready = await activities(compensation, `is ${color} healthy enough to take traffic back?`, host).checkColorHealth(spec!, color);
        if (ready.healthy) return;
        // Stopped after all (by hand, or a restart): its kept containers started again, then the health gate.
        await activities(dockerOps(60_000), `start the kept ${color} again`, host).deployColor(spec!, color, status.deployId, true);
        await activities(watching(spec!.health.deadline), `health gate of ${color}`, host).healthCheck(spec!, color);
      });
      await everyHost(previous, (host) => activities(compensation, `bake rollback: traffic back to ${host.previousColor}`, host).switchTraffic(host.restored!, { live: host.previousColor!, backup: null }));
    });
  } catch (err) {
    return { ...input, status: { ...status, lastError: `the bake rollback did not switch: ${messageOf(err)}` } };
  }
  log.warn('monitor bake rollback', { app: status.app, from: status.color, to: input.hosts[0]!.previousColor });
  const hosts: MonitorHost[] = previous.map(({ restored, ...host }) => ({ ...host, spec: restored!, color: host.previousColor!, previousColor: host.color }));
  let next: MonitorInput = { ...input, hosts, images: input.previousImages, previousImages: input.images, status: afterBakeRollback(status, reason, Date.now()) };
  // The failing color stopped, not removed: its logs stay on the host. A failure here is a warning.
  const warnings: string[] = [];
  await CancellationScope.nonCancellable(() =>
    eachHostToTheEnd(input.hosts, async (host) => {
      try {
        await activities(dockerOps(host.spec.cleanup.drain), `stop ${host.color} (rolled back by the bake)`, host).retireColor(host.spec, host.color, 'stop', host.spec.cleanup.drain);
      } catch (err) {
        warnings.push(`${host.name ? `${host.name}: ` : ''}${host.color} was not stopped: ${messageOf(err)}`);
      }
    }),
  );
  if (warnings.length > 0) next = { ...next, status: { ...next.status, lastError: warnings.join('; ') } };
  return next;
}

/** The bake is over: the previous color retired per cleanup.previous on every host (a failure is a warning). */
async function endBake(input: MonitorInput): Promise<MonitorInput> {
  const warnings: string[] = [];
  const policy: DeploySpec['cleanup']['previous'] = input.spec.cleanup.previous;
  await CancellationScope.nonCancellable(() =>
    eachHostToTheEnd(input.hosts, async (host) => {
      if (!host.previousColor || policy === 'keep') return;
      try {
        await activities(dockerOps(60_000), `the bake is over: ${policy} ${host.previousColor}`, host).retireColor(host.spec, host.previousColor, policy, 0);
      } catch (err) {
        warnings.push(`${host.name ? `${host.name}: ` : ''}${host.previousColor} was not retired after the bake: ${messageOf(err)}`);
      }
    }),
  );
  return { ...input, status: afterBake(input.status, warnings.length > 0 ? warnings.join('; ') : null) };
}
