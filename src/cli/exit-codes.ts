/**
 * The one place that decides greenlight's exit codes (README: "Exit codes"; CI gates on them).
 * Commands say what happened, as a named outcome or a named error; this module turns either into a
 * code, and only the entry (main.ts) exits with it.
 */
import { CommanderError } from 'commander';
import { ConfigError, DeployInProgressError, InfrastructureError } from '../errors';
import { FAILURE_TYPES } from '../names';

/** Documented exit codes of `greenlight`. */
export const EXIT = {
  ok: 0,
  /** The deploy failed after validation and was rolled back: the previous color serves. */
  rolledBack: 1,
  /** Bad spec or arguments, or validation (preflight, validation commands) failed: nothing was changed. */
  invalid: 2,
  /** Refused: another deploy of the app is running, or the request came at the wrong moment. */
  refused: 3,
  /** Temporal, Docker or nginx unreachable, or a check of `greenlight doctor` failed. */
  infrastructure: 4,
  /** Compensation could not restore the previous color (see the message): an operator must look. */
  compensationFailed: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each code means to a user, as `greenlight --help` lists them. */
export const EXIT_MEANINGS: Record<ExitCode, string> = {
  0: 'success',
  1: 'the deploy failed after validation and was rolled back: the previous color serves',
  2: 'bad spec, bad arguments or unknown app, or validation failed: nothing was changed',
  3: 'refused: another deploy of the app runs, or rollback/promote/cancel at the wrong moment',
  4: 'Temporal, Docker or nginx unreachable, or a check of `greenlight doctor` failed',
  5: 'compensation could not restore the previous color (see the message)',
};

/** How a deploy workflow ended, as far as the CLI tells the ends apart. */
export type DeployEnd =
  | 'succeeded'
  /** DeployRolledBack: compensation ran, the previous color serves. */
  | 'rolled-back'
  /** DeployValidationFailed: nothing was changed. */
  | 'validation-failed'
  /** DeployValidationFailed because Docker or nginx was unreachable (InfrastructureUnavailable). */
  | 'infrastructure-unavailable'
  /** CompensationFailed: the previous color could not be restored. */
  | 'compensation-failed'
  /** Anything else: cancelled, terminated, timed out, or a failure of another type. */
  | 'ended-otherwise';

/** What a command that did not follow a deploy to its end ended with. */
export type CommandEnd =
  /** It did what was asked (including a deploy started with --no-wait). */
  | 'done'
  /** No deploy of the app was ever found (status, history, rollback): check the app name. */
  | 'unknown-app'
  /** No deploy of the app is running, so there is nothing to cancel or promote. */
  | 'not-running'
  /** The running deploy's update validator refused the rollback or promote (wrong moment). */
  | 'refused'
  /** The last deploy left no previous version to bring back. */
  | 'nothing-to-roll-back'
  /** `greenlight doctor`: at least one check of this host failed (each failure printed with its fix). */
  | 'checks-failed';

export type CliOutcome = DeployEnd | CommandEnd;

const OUTCOME_CODES: Record<CliOutcome, ExitCode> = {
  done: EXIT.ok,
  succeeded: EXIT.ok,
  'rolled-back': EXIT.rolledBack,
  'ended-otherwise': EXIT.rolledBack,
  'validation-failed': EXIT.invalid,
  'unknown-app': EXIT.invalid,
  'not-running': EXIT.refused,
  refused: EXIT.refused,
  'nothing-to-roll-back': EXIT.refused,
  'infrastructure-unavailable': EXIT.infrastructure,
  'checks-failed': EXIT.infrastructure,
  'compensation-failed': EXIT.compensationFailed,
};

export function exitCodeOf(outcome: CliOutcome): ExitCode {
  return OUTCOME_CODES[outcome];
}

/**
 * A failed deploy's end from the `type` of the workflow's ApplicationFailure (undefined for a
 * failure that is not one, e.g. a cancellation) and the `failureType` of its status details.
 */
export function deployEndOf(failureType: string | undefined, statusFailureType: string | null | undefined): DeployEnd {
  switch (failureType) {
    case FAILURE_TYPES.rolledBack:
      return 'rolled-back';
    case FAILURE_TYPES.validationFailed:
      return statusFailureType === FAILURE_TYPES.infrastructure ? 'infrastructure-unavailable' : 'validation-failed';
    case FAILURE_TYPES.compensationFailed:
      return 'compensation-failed';
    default:
      return 'ended-otherwise';
  }
}

/** The code for an error a command threw instead of returning an outcome. */
export function exitCodeOfError(err: unknown): ExitCode {
  // commander's own ends (help shown: 0; usage errors such as a missing argument: 1), already printed.
  if (err instanceof CommanderError) return err.exitCode as ExitCode;
  if (err instanceof ConfigError) return EXIT.invalid;
  if (err instanceof DeployInProgressError) return EXIT.refused;
  if (err instanceof InfrastructureError) return EXIT.infrastructure;
  return EXIT.rolledBack;
}
