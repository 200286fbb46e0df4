/**
 * The deploy's status as the CLI's `status` query and the Temporal UI see it: the phase it is in, with
 * timings, and the outcome. Every phase change is published (search attributes, current details).
 */
import { setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { serviceImages } from '../src/format';
import { SEARCH_ATTRIBUTES } from '../src/names';
import type { DeployInput, DeployStatus, Outcome, Phase } from '../src/types';
import { failureTypeOf, messageOf } from './failures';
import { statusQuery } from './messages';
import { countDeploy, recordPhaseDuration } from './metrics';

export class DeployTracker {
  readonly status: DeployStatus;

  constructor(private readonly input: DeployInput, deployId: string) {
    this.status = {
      app: input.spec.app,
      deployId,
      requestedBy: input.requestedBy ?? null,
      restoreReason: input.restore?.reason ?? null,
      phase: 'validate',
      outcome: 'running',
      liveColor: null,
      targetColor: null,
      images: serviceImages(input.spec.services ?? {}),
      previousImages: {},
      phases: [],
      waitingFor: null,
      rollbackReason: null,
      lastError: null,
      failureType: null,
      verify: null,
    };
    setHandler(statusQuery, () => this.status);
  }

  get phase(): Phase {
    return this.status.phase;
  }

  /** Starts `phase` (ending the previous one's clock); `waitingFor` says what it waits for. */
  enter(phase: Phase, waitingFor: string | null): void {
    const { status } = this;
    const now = Date.now();
    const previous = status.phases[status.phases.length - 1];
    if (previous && previous.durationMs === undefined) {
      previous.durationMs = now - Date.parse(previous.startedAt);
      recordPhaseDuration(status.app, previous.phase, previous.durationMs);
    }
    status.phase = phase;
    status.waitingFor = waitingFor;
    status.phases.push({ phase, startedAt: new Date(now).toISOString() });
    this.publish();
  }

  /** The deploy ended with `outcome` (counted in greenlight_deploys_total). */
  finish(outcome: Outcome): void {
    this.status.outcome = outcome;
    countDeploy(this.status.app, outcome);
    this.enter('done', null);
    this.status.phases[this.status.phases.length - 1]!.durationMs = 0;
  }

  /** Records the error behind a failed step: its innermost message and failure type. */
  recordError(err: unknown, message = messageOf(err)): void {
    this.status.lastError = message;
    this.status.failureType = failureTypeOf(err);
  }

  /** Adds warnings to lastError (after an earlier one, `; `-joined): a step past the outcome that did not work out. */
  warn(...warnings: string[]): void {
    this.status.lastError = [this.status.lastError, ...warnings].filter(Boolean).join('; ');
  }

  /** Keeps the Temporal UI current: search attributes (phase, outcome) and the current details. */
  private publish(): void {
    const { status } = this;
    if (this.input.searchAttributes) {
      upsertSearchAttributes([
        { key: SEARCH_ATTRIBUTES.phase, value: status.phase },
        { key: SEARCH_ATTRIBUTES.outcome, value: status.outcome },
      ]);
    }
    const lines = [
      `**${status.phase}**${status.waitingFor ? `: waiting for ${status.waitingFor}` : ''}`,
      `live: ${status.liveColor ?? 'nothing'}, target: ${status.targetColor ?? '?'}, outcome: ${status.outcome}`,
      ...(status.window?.override ? [`deploy window overridden by ${status.window.override.by}: ${status.window.override.reason}`] : []),
      ...(status.rollbackReason ? [`rollback: ${status.rollbackReason}`] : []),
      ...(status.lastError && status.lastError !== status.rollbackReason ? [`error: ${status.lastError}`] : []),
    ];
    setCurrentDetails(lines.join('\n\n'));
  }
}
