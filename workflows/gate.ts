/**
 * The rollback gate: the `rollback` and `promote` updates with their validators, the deploy's own time
 * limit, and the race every step runs against a rollback request.
 */
import { CancellationScope, condition, patched, setHandler, sleep } from '@temporalio/workflow';
import { PATCHES } from '../src/names';
import type { Phase, RollbackTrigger } from '../src/types';
import { promoteUpdate, rollbackSignal, rollbackUpdate } from './messages';
import type { DeployTracker } from './tracker';

/** Phases during which a rollback request is accepted: later, the new color is already the only one. */
const ROLLBACK_PHASES: Phase[] = ['window', 'validate', 'migrate', 'pre-hooks', 'deploy-green', 'health-check', 'preview', 'promotion-gate', 'canary', 'switch', 'verify'];

/** A signal's reason: its text (any JSON input as text), at most 500 characters; none gives a default. */
function signalReason(input: unknown): string {
  const text = typeof input === 'string' ? input : input === undefined || input === null ? '' : JSON.stringify(input);
  return text.trim().slice(0, 500) || 'rollback requested by signal';
}

/** Thrown inside the workflow to unwind into compensation; never leaves it. `trigger`: who or what asked. */
export class RollbackRequested extends Error {
  constructor(
    message: string,
    readonly trigger: RollbackTrigger,
  ) {
    super(message);
  }
}

export class RollbackGate {
  /** Why the deploy is to be rolled back; null while nobody asked. */
  reason: string | null = null;
  /** Who or what asked first (with `reason`): the metrics' rollback reason. */
  private trigger: RollbackTrigger = 'manual';
  private promoted = false;

  constructor(private readonly tracker: DeployTracker) {
    setHandler(
      rollbackUpdate,
      (reason) => {
        this.ask(reason.trim() || 'rollback requested', 'manual');
        return { phase: tracker.phase, reason: this.reason! };
      },
      {
        validator: (_reason: string) => {
          const refused = this.refusal();
          if (refused !== null) throw new Error(refused);
        },
      },
    );
    setHandler(rollbackSignal, (input) => {
      // Deploys that started before this handler existed ignored the signal, and replay that way.
      if (!patched(PATCHES.rollbackSignal)) return;
      const reason = signalReason(input);
      const refused = this.refusal();
      if (refused === null) this.ask(reason, 'signal');
      else (tracker.status.ignoredSignals ??= []).push(`rollback signal "${reason}" ignored in ${tracker.phase}: ${refused}`);
    });
    setHandler(
      promoteUpdate,
      () => {
        this.promoted = true;
        return { phase: tracker.phase };
      },
      {
        validator: () => {
          if (tracker.phase !== 'promotion-gate') throw new Error(`nothing to promote: the deploy is in ${tracker.phase}, not waiting at the promotion gate`);
        },
      },
    );
  }

  /** The first request wins: a later one changes neither the reason nor the trigger. */
  private ask(reason: string, trigger: RollbackTrigger): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.trigger = trigger;
  }

  /** Why a rollback request is refused now (the update's validator; an ignored signal), or null. */
  private refusal(): string | null {
    if (this.reason !== null) return `already rolling back: ${this.reason}`;
    if (!ROLLBACK_PHASES.includes(this.tracker.phase)) {
      return `too late to roll back this deploy: it is in ${this.tracker.phase}, the new color already took over; roll back after it ends`;
    }
    return null;
  }

  /**
   * The deploy's own time limit turns into a rollback (with compensation), well before the server's
   * execution timeout (a backstop that would end the workflow without compensating).
   */
  limitTime(timeoutMs: number): void {
    void CancellationScope.nonCancellable(async () => {
      await sleep(timeoutMs, { summary: 'deploy time limit (spec timeout): rolls back when it fires' });
      this.ask(`the deploy exceeded its time limit (timeout: ${timeoutMs} ms)`, 'time-limit');
    });
  }

  /** Runs a step, but abandons (and cancels) it as soon as a rollback is requested. */
  async unlessRolledBack<T>(work: () => Promise<T>): Promise<T> {
    if (this.reason !== null) throw new RollbackRequested(this.reason, this.trigger);
    const scope = new CancellationScope();
    const running = scope.run(work);
    const requested = CancellationScope.nonCancellable(() => condition(() => this.reason !== null));
    const first = await Promise.race([running.then((value) => ({ value })), requested.then(() => null)]);
    if (first === null) {
      scope.cancel();
      // Read-only steps end at once (TRY_CANCEL); steps that change the host are waited for (their
      // profile), so compensation never races a late write.
      await running.catch(() => undefined);
      throw new RollbackRequested(this.reason!, this.trigger);
    }
    // The step's result and the rollback can reach the workflow in one workflow task: the update's
    // handler has then set the reason (jobs run before any continuation), but the race took the result.
    this.throwIfRequested();
    return first.value;
  }

  /**
   * An accepted rollback wins until cleanup starts: the operator was told "accepted". Deploys whose
   * history took the step's result in that race (before the patch) replay as they ran, into cleanup;
   * `patched()` is called only then, so no other history changes.
   */
  throwIfRequested(): void {
    if (this.reason !== null && patched(PATCHES.rollbackWinsUntilCleanup)) throw new RollbackRequested(this.reason, this.trigger);
  }

  /** The wait for the deploy window: until it opens, unless a rollback (or a cancellation) ends the deploy first. */
  async awaitWindow(waitMs: number): Promise<void> {
    await condition(() => this.reason !== null, waitMs);
    if (this.reason !== null) throw new RollbackRequested(this.reason, this.trigger);
  }

  /** The manual promotion gate: `greenlight promote`, a rollback, or the time-out (= rollback). */
  async awaitPromotion(timeoutMs: number): Promise<void> {
    const released = await condition(() => this.promoted || this.reason !== null, timeoutMs);
    if (!released) this.ask(`not promoted within ${timeoutMs} ms (promotion.timeout)`, 'promotion-timeout');
    if (this.reason !== null) throw new RollbackRequested(this.reason, this.trigger);
    // One promote per gate: a canary's next manual step waits for its own.
    this.promoted = false;
  }
}
