import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { lastDeploy } from '../deploy-client';
import { formatHooks, formatImages, formatMs, serviceImages } from '../../format';
import { readQueue } from '../queue-client';
import type { QueueRequest } from '../../queue';
import type { CommandEnd } from '../exit-codes';
import { deployWorkflowId, MESSAGES, monitorWorkflowId } from '../../names';
import { formatMonitor, type MonitorView } from '../../monitor';
import type { CanaryStatus, DeployStatus, DrainProgress } from '../../types';
import { COLORS } from '../../names';
import { formatMaintenance } from '../../maintenance';
import { lastMaintenance } from './maintenance';

/** One color's real traffic as a host's router counted it (host/builders/nginx.ts ColorTraffic, by shape: the CLI imports no host code). */
interface ColorTrafficCounts {
  requests: number;
  errors5xx: number;
}
type LocalTraffic = (app: string) => Promise<Record<string, Partial<Record<'blue' | 'green', ColorTrafficCounts>>> | null>;

/** Per color over every service: requests, their share, 5xx and the error rate. */
export function trafficSplit(counters: Record<string, Partial<Record<'blue' | 'green', ColorTrafficCounts>>>) {
  const per = Object.fromEntries(COLORS.map((color) => [color, Object.values(counters).reduce((sum, svc) => ({ requests: sum.requests + (svc[color]?.requests ?? 0), errors5xx: sum.errors5xx + (svc[color]?.errors5xx ?? 0) }), { requests: 0, errors5xx: 0 })]));
  const total = COLORS.reduce((n, color) => n + per[color]!.requests, 0);
  return Object.fromEntries(COLORS.map((color) => {
    const { requests, errors5xx } = per[color]!;
    return [color, { requests, share: total ? requests / total : 0, errors5xx, errorRate: requests ? errors5xx / requests : 0 }];
  })) as Record<'blue' | 'green', { requests: number; share: number; errors5xx: number; errorRate: number }>;
}

/** "blue 1204 requests (92.1 %, 0.0 % 5xx), green 103 (7.9 %, 2.9 % 5xx)". */
export function formatTrafficSplit(split: ReturnType<typeof trafficSplit>): string {
  const pct = (n: number) => `${(n * 100).toFixed(1)} %`;
  return COLORS.map((color) => `${color} ${split[color].requests} requests (${pct(split[color].share)}, ${pct(split[color].errorRate)} 5xx)`).join(', ');
}

/** Images on the live color: the new ones only once a deploy made its target the live color for good. */
function liveImagesOf(s: DeployStatus): Record<string, string> {
  const targetIsLive = s.outcome === 'succeeded' || (s.outcome === 'compensation-failed' && s.liveColor === s.targetColor);
  return targetIsLive ? s.images : s.previousImages;
}

/** "draining blue on web-2: 3 open (backend 2, frontend 1), 4.2 s of at most 30 s". */
export function formatDrain(d: DrainProgress): string {
  const total = d.open === null ? null : Object.values(d.open).reduce((a, b) => a + b, 0);
  const open = d.open === null ? 'open connections not counted by this router' : `${total} open (${Object.entries(d.open).map(([service, n]) => `${service} ${n}`).join(', ')})`;
  return `draining ${d.color}${d.host ? ` on ${d.host}` : ''}: ${open}, ${formatMs(d.waitedMs)} of at most ${formatMs(d.maxMs)}`;
}

/** Per app: live color and images, since when, and the running (or last) deploy with its phase. */
/**
 * `traffic` reads this host's router (where greenlight's nginx runs here): the real-traffic split per
 * color since each color's deploy. Elsewhere it gives null and status shows none.
 */
export async function status(client: Client, app: string, json: boolean, out: (line: string) => void = console.log, traffic: LocalTraffic = async () => null): Promise<CommandEnd> {
  const last = await lastDeploy(client, app);
  if (!last) {
    out(`no deploy of ${app} found: check the app name (greenlight history ${app})`);
    return 'unknown-app';
  }
  // The live version is the last successful deploy's: find when it ended.
  let liveSince: Date | null = null;
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${deployWorkflowId(app)}' AND ExecutionStatus = 'Completed'`, pageSize: 1 })) {
    liveSince = execution.closeTime ?? null;
    break;
  }
  const s = last.status;
  const maintenance = await lastMaintenance(client, app);
  const monitor = await readMonitor(client, app);
  // The bake's rollback of the last deploy's color: the monitor knows what is live now.
  const rolledBack = monitor?.rollback && monitor.deployId === last.runId ? monitor : null;
  const queue = await readQueue(client, app);
  const queued = [queue?.starting, queue?.waiting].filter((r): r is QueueRequest => Boolean(r)).map((r) => ({ requestId: r.requestId, requestedBy: r.requestedBy ?? null, since: r.requestedAt, images: serviceImages(r.input.spec.services) }));
  const counters = await traffic(app).catch(() => null);
  const split = counters && Object.keys(counters).length > 0 ? trafficSplit(counters) : null;
  const summary = {
    app,
    liveColor: rolledBack ? rolledBack.color : (s?.liveColor ?? null),
    liveImages: rolledBack ? rolledBack.images : s ? liveImagesOf(s) : {},
    liveSince: liveSince?.toISOString() ?? null,
    ...(s?.hosts ? { hosts: s.hosts.map((h) => ({ name: h.name, liveColor: h.liveColor, liveImages: h.liveColor === h.targetColor ? s.images : h.previousImages, lastError: h.lastError })) } : {}),
    ...(s?.hosts ? { switchSkewMs: s.switchSkewMs ?? null } : {}),
    ...(split ? { traffic: split } : {}),
    ...(monitor ? { monitor } : {}),
    ...(maintenance ? { maintenance: { on: maintenance.on, hosts: maintenance.hosts } } : {}),
    ...(s?.handover ? { handover: s.handover } : {}),
    ...(s?.canary ? { canary: s.canary } : {}),
    // Only while the deploy runs: a preview closes at the switch and in a rollback.
    ...(s?.preview && last.running ? { preview: s.preview } : {}),
    queue: queued,
    ...(s?.hooks ? { hooks: s.hooks } : {}),
    deploy: s
      ? { runId: last.runId, workflowStatus: last.workflowStatus, running: last.running, drains: last.drains, phase: s.phase, outcome: s.outcome, startedAt: last.startTime.toISOString(), waitingFor: s.waitingFor, window: s.window ?? null, rollbackReason: s.rollbackReason, keptLogs: s.keptLogs ?? [], ignoredSignals: s.ignoredSignals ?? [], lastError: s.lastError, phases: s.phases }
      : null,
  };
  const liveImages = summary.liveImages;
  if (json) {
    out(JSON.stringify(summary));
    return 'done';
  }
  out(`${app}: ${summary.liveColor ?? 'nothing'} live${Object.keys(liveImages).length ? ` (${formatImages(liveImages)})` : ''}${liveSince ? ` since ${liveSince.toISOString()}` : ''}`);
  for (const host of summary.hosts ?? []) {
    out(`  host ${host.name}: ${host.liveColor ?? 'nothing'} live${Object.keys(host.liveImages).length ? ` (${formatImages(host.liveImages)})` : ''}${host.lastError ? `; ${host.lastError}` : ''}`);
  }
  if (monitor) for (const line of formatMonitor(monitor, Date.now())) out(`  ${line}`);
  if (maintenance?.on) {
    // One line when every host says the same (a change goes to all hosts or none).
    const lines = [...new Set(maintenance.hosts.map((h) => formatMaintenance(h.state)))];
    if (lines.length === 1) out(`  maintenance: ${lines[0]}`);
    else for (const h of maintenance.hosts) out(`  maintenance on host ${h.host}: ${formatMaintenance(h.state)}`);
  }
  if (s?.hosts && typeof s.switchSkewMs === 'number') out(`  switch skew across the hosts: ${s.switchSkewMs} ms`);
  if (split) out(`  traffic on this host's router (each color since its deploy): ${formatTrafficSplit(split)}`);
  if (s?.handover) {
    const { from, to, services } = s.handover;
    const each = services.map((h) => `${h.service} stopped in ${formatMs(h.stopMs)}, the new one started ${formatMs(h.startedAt - h.stoppedAt)} later`);
    out(`  singleton handover ${from} -> ${to}: ${each.join('; ') || 'nothing to hand over'}`);
  }
  if (s?.canary) out(`  ${formatCanary(s.canary, last.running)}`);
  if (summary.preview) out(`  preview: ${summary.preview.url} (${summary.preview.color})`);
  for (const q of queued) out(`queued: request ${q.requestId}${q.requestedBy ? ` by ${q.requestedBy}` : ''} (${formatImages(q.images)}) waiting since ${q.since}`);
  if (s?.hooks?.length) out(`  hooks: ${formatHooks(s.hooks)}`);
  if (s) {
    out(`${last.running ? 'running deploy' : 'last deploy'}: ${s.outcome}, phase ${s.phase}${s.waitingFor ? ` (waiting for ${s.waitingFor})` : ''}, started ${last.startTime.toISOString()}`);
    for (const p of s.phases) if (p.phase !== 'done') out(`  ${p.phase.padEnd(15)} ${formatMs(p.durationMs)}`);
    for (const d of last.drains) out(`  ${formatDrain(d)}`);
    if (s.window?.override) out(`  deploy window overridden by ${s.window.override.by}: ${s.window.override.reason}`);
    if (s.rollbackReason) out(`  rollback: ${s.rollbackReason}`);
    for (const kept of s.keptLogs ?? []) out(`  logs of ${s.targetColor ?? 'the new color'}${kept.host ? ` on host ${kept.host}` : ''} kept in ${kept.dir} (${kept.files.length} file${kept.files.length === 1 ? '' : 's'}): greenlight logs ${app} --deploy ${last.runId}`);
    for (const ignored of s.ignoredSignals ?? []) out(`  ${ignored}`);
    if (s.lastError) out(`  error: ${s.lastError}`);
  }
  return 'done';
}

/**
 * The app monitor's view (`monitor:`), while it runs; null when none runs (no `monitor:`, or the next
 * deploy is replacing it) or no worker answers the query.
 */
async function readMonitor(client: Client, app: string): Promise<MonitorView | null> {
  const handle = client.workflow.getHandle(monitorWorkflowId(app));
  try {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') return null;
    return await handle.query<MonitorView>(MESSAGES.monitor);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** "canary: step 1 of 2 at 10 % (sticky); passed: step 1 at 10 %: 48 of 512 requests (9.4 %), 0.0 % 5xx". */
function formatCanary(canary: CanaryStatus, running: boolean): string {
  const passed = canary.passed.map((p) => {
    const { requests, baselineRequests, errorRate } = p.realTraffic;
    const share = requests + baselineRequests ? (100 * requests) / (requests + baselineRequests) : 0;
    return `step ${p.step} at ${p.weight} %: ${requests} of ${requests + baselineRequests} requests (${share.toFixed(1)} %), ${(errorRate * 100).toFixed(1)} % 5xx${p.judged ? '' : ', too few to judge'}`;
  });
  const now = running ? `step ${canary.step} of ${canary.steps} at ${canary.weight} %${canary.sticky ? ' (sticky)' : ''}` : `${canary.steps} step(s)${canary.sticky ? ' (sticky)' : ''}`;
  return `canary: ${now}${passed.length ? `; passed: ${passed.join('; ')}` : ''}`;
}
