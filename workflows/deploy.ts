/**
 * The deploy workflow: validate -> deploy-green -> health-check -> (promotion gate) -> switch -> verify
 * -> cleanup, with saga compensation on any failure, on a rollback request, on the deploy's own time
 * limit and on cancellation. Deterministic: imports only the workflow SDK, wiring names and types.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FAILURE_TYPES, otherColor, PATCHES, SEARCH_ATTRIBUTES, type Color } from '../src/names';
import type { DeployInput, DeployResult, DeployStatus, LatencyBaseline, Phase } from '../src/types';
import type { DeploySpec } from '../src/config/schema';
import { promoteUpdate, rollbackUpdate, statusQuery } from './messages';
import { compensation, dockerOps, quick, routing, watching } from './profiles';

/** Phases during which a rollback request is accepted: later, the new color is already the only one. */
const ROLLBACK_PHASES: Phase[] = ['validate', 'migrate', 'deploy-green', 'health-check', 'promotion-gate', 'switch', 'verify'];

/** Thrown inside the workflow to unwind into compensation; never leaves it. */
class RollbackRequested extends Error {}

type ActivityName = keyof Activities;

/** Runs an activity with a one-line summary the Temporal UI shows on the activity. */
function step<K extends ActivityName>(options: ActivityOptions, name: K, summary: string, ...args: Parameters<Activities[K]>): ReturnType<Activities[K]> {
  const activity = proxyActivities<Activities>(options)[name] as unknown as {
    executeWithOptions(o: ActivityOptions, a: Parameters<Activities[K]>): ReturnType<Activities[K]>;
  };
  return activity.executeWithOptions({ summary }, args);
}

function imageList(images: Record<string, string>): string {
  return Object.entries(images)
    .map(([service, image]) => `${service}=${image}`)
    .join(', ');
}

/** The `type` of the innermost ApplicationFailure behind an error, if any. */
function failureTypeOf(err: unknown): string | null {
  let type: string | null = null;
  for (let current = err as { type?: string; cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    if (typeof current.type === 'string') type = current.type;
    if (!current.cause || typeof current.cause !== 'object') break;
  }
  return type;
}

function messageOf(err: unknown): string {
  let current = err as { message?: string; cause?: unknown } | undefined;
  // ActivityFailure wraps the activity's ApplicationFailure: report the innermost message.
  while (current?.cause && typeof current.cause === 'object') current = current.cause as typeof current;
  return current?.message ?? String(err);
}

export async function deployWorkflow(input: DeployInput): Promise<DeployResult> {
  const { runId } = workflowInfo();
  const status: DeployStatus = {
    app: input.spec.app,
    deployId: runId,
    requestedBy: input.requestedBy ?? null,
    restoreReason: input.restore?.reason ?? null,
    phase: 'validate',
    outcome: 'running',
    liveColor: null,
    targetColor: null,
    images: Object.fromEntries(Object.entries(input.spec.services ?? {}).map(([name, svc]) => [name, svc.image])),
    previousImages: {},
    phases: [],
    waitingFor: null,
    rollbackReason: null,
    lastError: null,
    failureType: null,
    verify: null,
  };
  let rollbackReason: string | null = null;
  let promoted = false;

  setHandler(statusQuery, () => status);
  setHandler(
    rollbackUpdate,
    (reason) => {
      rollbackReason ??= reason.trim() || 'rollback requested';
      return { phase: status.phase, reason: rollbackReason };
    },
    {
      validator: (_reason: string) => {
        if (rollbackReason !== null) throw new Error(`already rolling back: ${rollbackReason}`);
        if (!ROLLBACK_PHASES.includes(status.phase)) {
          throw new Error(`too late to roll back this deploy: it is in ${status.phase}, the new color already took over; roll back after it ends`);
        }
      },
    },
  );
  setHandler(
    promoteUpdate,
    () => {
      promoted = true;
      return { phase: status.phase };
    },
    {
      validator: () => {
        if (status.phase !== 'promotion-gate') throw new Error(`nothing to promote: the deploy is in ${status.phase}, not waiting at the promotion gate`);
      },
    },
  );

  // The deploy's own time limit turns into a rollback (with compensation), well before the server's
  // execution timeout (a backstop that would end the workflow without compensating).
  void CancellationScope.nonCancellable(async () => {
    await sleep(input.spec.timeout, { summary: 'deploy time limit (spec timeout): rolls back when it fires' });
    rollbackReason ??= `the deploy exceeded its time limit (timeout: ${input.spec.timeout} ms)`;
  });

  /** Keeps the Temporal UI current: search attributes (phase, outcome) and the current details. */
  function publish(): void {
    if (input.searchAttributes) {
      upsertSearchAttributes([
        { key: SEARCH_ATTRIBUTES.phase, value: status.phase },
        { key: SEARCH_ATTRIBUTES.outcome, value: status.outcome },
      ]);
    }
    const lines = [
      `**${status.phase}**${status.waitingFor ? `: waiting for ${status.waitingFor}` : ''}`,
      `live: ${status.liveColor ?? 'nothing'}, target: ${status.targetColor ?? '?'}, outcome: ${status.outcome}`,
      ...(status.rollbackReason ? [`rollback: ${status.rollbackReason}`] : []),
      ...(status.lastError && status.lastError !== status.rollbackReason ? [`error: ${status.lastError}`] : []),
    ];
    setCurrentDetails(lines.join('\n\n'));
  }

  function enter(phase: Phase, waitingFor: string | null): void {
    const now = Date.now();
    const previous = status.phases[status.phases.length - 1];
    if (previous && previous.durationMs === undefined) previous.durationMs = now - Date.parse(previous.startedAt);
    status.phase = phase;
    status.waitingFor = waitingFor;
    status.phases.push({ phase, startedAt: new Date(now).toISOString() });
    publish();
  }

  function finish(outcome: DeployStatus['outcome']): void {
    status.outcome = outcome;
    enter('done', null);
    status.phases[status.phases.length - 1]!.durationMs = 0;
  }

  /** Runs a step, but abandons (and cancels) it as soon as a rollback is requested. */
  async function unlessRolledBack<T>(step: () => Promise<T>): Promise<T> {
    if (rollbackReason !== null) throw new RollbackRequested(rollbackReason);
    const scope = new CancellationScope();
    const work = scope.run(step);
    const requested = CancellationScope.nonCancellable(() => condition(() => rollbackReason !== null));
    const first = await Promise.race([work.then((value) => ({ value })), requested.then(() => null)]);
    if (first === null) {
      scope.cancel();
      // Read-only steps end at once (TRY_CANCEL); steps that change the host are waited for (their
      // profile), so compensation never races a late write.
      await work.catch(() => undefined);
      throw new RollbackRequested(rollbackReason!);
    }
    return first.value;
  }

  // 1. validate: nothing is touched, so a failure here needs no compensation.
  enter('validate', 'spec, images, ports, router config and validation commands');
  let spec: DeploySpec;
  let liveColor: Color | null;
  let targetColor: Color;
  try {
    spec = await unlessRolledBack(() => step(quick, 'validateSpec', 'check the deploy spec', input.spec));
    const route = await unlessRolledBack(() => step(quick, 'readRoute', `read the live route of ${spec.app} from nginx`, spec.app));
    if (route?.backup) {
      throw ApplicationFailure.nonRetryable(
        `the router of ${spec.app} still has a backup color (${route.live} with ${route.backup} as backup): an earlier deploy did not finish; inspect with \`greenlight status ${spec.app}\``,
        FAILURE_TYPES.preflight,
      );
    }
    liveColor = route?.live ?? null;
    targetColor = liveColor ? otherColor(liveColor) : 'blue';
    status.liveColor = liveColor;
    status.targetColor = targetColor;
    if (liveColor) status.previousImages = await unlessRolledBack(() => step(quick, 'readColorImages', `read the images ${liveColor} runs`, spec, liveColor!));
    await unlessRolledBack(() => step(quick, 'preflightDocker', `images exist, ${targetColor} host ports free`, spec, targetColor));
    await unlessRolledBack(() => step(quick, 'checkRouterConfig', 'nginx -t of the config the switch will write', spec, { live: targetColor, backup: liveColor }));
    if (spec.validate.commands.length > 0) {
      const longest = Math.max(...spec.validate.commands.map((c) => c.timeout));
      const names = spec.validate.commands.map((c) => c.name).join(', ');
      await unlessRolledBack(() => step(dockerOps(longest * spec.validate.commands.length), 'runValidationCommands', `validation commands: ${names}`, spec, runId));
    }
  } catch (err) {
    if (err instanceof RollbackRequested) {
      status.rollbackReason = err.message;
      finish('rolled-back');
      throw ApplicationFailure.create({ type: FAILURE_TYPES.rolledBack, message: `rolled back before anything was deployed: ${err.message}`, nonRetryable: true, details: [status] });
    }
    if (isCancellation(err)) {
      status.rollbackReason = 'the deploy was cancelled';
      finish('rolled-back');
      throw err;
    }
    status.lastError = messageOf(err);
    status.failureType = failureTypeOf(err);
    finish('validation-failed');
    throw ApplicationFailure.create({ type: FAILURE_TYPES.validationFailed, message: `validation failed, nothing was changed: ${status.lastError}`, nonRetryable: true, details: [status] });
  }

  const docker = dockerOps(60_000);
  let deployed = false;
  let switched = false;
  let baseline: LatencyBaseline | null = null;
  try {
    // 1b. migrate (optional): expand-only, so the live version keeps working on the new schema.
    if (spec.migrate) {
      enter('migrate', `${spec.migrate.run.join(' ')} in a one-off ${spec.migrate.service} container`);
      await unlessRolledBack(() => step(dockerOps(spec.migrate!.timeout), 'runMigration', `migrate: ${spec.migrate!.run.join(' ')}`, spec, runId));
    }

    // 2. deploy-green: the live color is never touched.
    enter('deploy-green', `creating and starting the ${targetColor} containers`);
    deployed = true; // a failure half-way still leaves containers to remove
    await unlessRolledBack(() => step(docker, 'deployColor', `start ${targetColor}: ${imageList(status.images)}`, spec, targetColor, runId, Boolean(input.restore)));

    // 3. health-check, directly on the new containers.
    enter('health-check', `${spec.health.successes} healthy rounds in a row from ${targetColor} (deadline ${spec.health.deadline} ms)`);
    await unlessRolledBack(() => step(watching(spec.health.deadline), 'healthCheck', `health gate of ${targetColor}`, spec, targetColor));

    // 4. optional manual promotion gate.
    if (spec.promotion.manual) {
      enter('promotion-gate', `\`greenlight promote ${spec.app}\` (or rollback) within ${spec.promotion.timeout} ms`);
      const released = await condition(() => promoted || rollbackReason !== null, spec.promotion.timeout);
      if (!released) rollbackReason ??= `not promoted within ${spec.promotion.timeout} ms (promotion.timeout)`;
      if (rollbackReason !== null) throw new RollbackRequested(rollbackReason);
    }

    // 5. switch: the previous color stays running as nginx backup.
    enter('switch', `nginx to send ${spec.app} to ${targetColor}`);
    if (liveColor) baseline = await unlessRolledBack(() => step(quick, 'measureBaseline', `latency baseline of ${liveColor}`, spec, liveColor!));
    switched = true; // a switch that fails half-way is switched back all the same (idempotent)
    await unlessRolledBack(() => step(routing, 'switchTraffic', `traffic to ${targetColor}${liveColor ? `, ${liveColor} as backup` : ''}`, spec, { live: targetColor, backup: liveColor }));

    // 6. verify, probing the new color directly and through the router.
    enter('verify', `${spec.verify.window} ms of healthy traffic on ${targetColor}`);
    status.verify = await unlessRolledBack(() => step(watching(spec.verify.window), 'verify', `verify ${targetColor} for ${spec.verify.window} ms`, spec, targetColor, baseline?.p50Ms ?? null));
  } catch (err) {
    const cancelled = isCancellation(err);
    const reason = err instanceof RollbackRequested ? err.message : cancelled ? 'the deploy was cancelled' : messageOf(err);
    status.rollbackReason = reason;
    if (!(err instanceof RollbackRequested) && !cancelled) {
      status.lastError = reason;
      status.failureType = failureTypeOf(err);
    }
    try {
      await CancellationScope.nonCancellable(() => compensate());
    } catch (compensationError) {
      // Retries exhausted or an invariant refused: say so (exit 5), never report a clean rollback.
      status.outcome = 'compensation-failed';
      status.lastError = `compensation did not finish: ${messageOf(compensationError)} (after: ${reason})`;
      status.failureType = failureTypeOf(compensationError);
    }
    finish(status.outcome === 'compensation-failed' ? 'compensation-failed' : 'rolled-back');
    if (cancelled) throw err;
    if (status.outcome === 'compensation-failed') {
      throw ApplicationFailure.create({ type: FAILURE_TYPES.compensationFailed, message: status.lastError ?? reason, nonRetryable: true, details: [status] });
    }
    throw ApplicationFailure.create({ type: FAILURE_TYPES.rolledBack, message: `rolled back, ${liveColor ?? 'nothing'} stays live: ${reason}`, nonRetryable: true, details: [status] });
  }

  // 7. cleanup: past the point of no return, so it is not interrupted by a cancellation either.
  enter('cleanup', `draining ${liveColor ?? 'nothing'} for ${spec.cleanup.drain} ms, then ${spec.cleanup.previous}`);
  status.liveColor = targetColor;
  await CancellationScope.nonCancellable(async () => {
    try {
      await step(quick, 'switchTraffic', `${targetColor} only (backup dropped)`, spec, { live: targetColor, backup: null });
      if (liveColor) {
        // The drain runs inside retireColor: a server timer shorter than 1 s fires only after about
        // 1 s (measured, docs/design-notes.md), which made a 500 ms drain cost twice its length.
        // Histories recorded before this change drained with a workflow timer and replay that way.
        if (patched(PATCHES.drainInRetire)) {
          await step(dockerOps(spec.cleanup.drain), 'retireColor', `drain ${liveColor} for ${spec.cleanup.drain} ms, then ${spec.cleanup.previous} it`, spec, liveColor, spec.cleanup.previous, spec.cleanup.drain);
        } else {
          await sleep(spec.cleanup.drain, { summary: `drain ${liveColor}` });
          await step(docker, 'retireColor', `${spec.cleanup.previous} ${liveColor}`, spec, liveColor, spec.cleanup.previous);
        }
      }
    } catch (err) {
      // The new color serves; a cleanup leftover is reported, not rolled back.
      status.lastError = `deploy succeeded but cleanup did not finish: ${messageOf(err)}`;
    }
  });
  finish('succeeded');
  return status;

  /**
   * Saga compensation, each step idempotent and retried: traffic back to the previous color (if it is
   * healthy: never route to an unhealthy color), or off the router on a first deploy; then the new
   * color's containers removed.
   */
  async function compensate(): Promise<void> {
    enter('compensation', switched ? `traffic back to ${liveColor ?? 'nothing'}, then removing ${targetColor}` : `removing ${targetColor}`);
    if (switched) {
      if (liveColor) {
        const previous = await step(compensation, 'checkColorHealth', `is ${liveColor} healthy enough to take traffic back?`, spec, liveColor);
        if (!previous.healthy) {
          const current = await step(compensation, 'checkColorHealth', `is ${targetColor} healthy?`, spec, targetColor);
          if (current.healthy) {
            // Keep the healthier color live rather than route users to a broken one.
            await step(compensation, 'switchTraffic', `keep ${targetColor}: ${liveColor} is unhealthy`, spec, { live: targetColor, backup: null });
            status.liveColor = targetColor;
            status.outcome = 'compensation-failed';
            status.lastError = `could not roll back: the previous color ${liveColor} is unhealthy (${previous.detail}); ${targetColor} stays live. Fix ${liveColor} or deploy again.`;
            return;
          }
          // Neither is healthy: the previous color is the last one known to work.
          status.outcome = 'compensation-failed';
          status.lastError = `both colors are unhealthy (${liveColor}: ${previous.detail}; ${targetColor}: ${current.detail}); traffic went back to ${liveColor}, the last color known to work`;
        }
        await step(compensation, 'switchTraffic', `traffic back to ${liveColor}`, spec, { live: liveColor, backup: null });
      } else {
        await step(compensation, 'removeRoute', `take ${spec.app} off the router`, spec.app);
      }
    }
    status.liveColor = liveColor;
    if (deployed) await step(compensation, 'removeColor', `remove ${targetColor}`, spec, targetColor);
  }
}
