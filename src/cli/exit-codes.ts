/**
 * The one place that decides greenlight's exit codes (README: "Exit codes"; CI gates on them).
 * Commands say what happened, as a named outcome or a named error; this module turns either into a
 * code, and only the entry (main.ts) exits with it.
 */
import { CommanderError } from 'commander';
import { ConfigError, DeployInProgressError, InfrastructureError, SettingError } from '../errors';
import { FAILURE_TYPES } from '../names';

/** Documented exit codes of `greenlight`. */
export const EXIT = {
  ok: 0,
  /** The deploy failed after validation (or was cancelled) and was rolled back: the previous color serves. */
  rolledBack: 1,
  /** Bad spec, arguments or usage, an unknown app, or validation failed: nothing was changed. */
  invalid: 2,
  /** Refused: another deploy of the app is running, or nothing to cancel/promote/roll back right now. */
  refused: 3,
  /** Temporal, Docker or nginx unreachable, or a check of `greenlight doctor` failed; `plan`: a fleet host not read. */
  infrastructure: 4,
  /** Compensation could not restore the previous color (see the message): an operator must look. */
  compensationFailed: 5,
  /** The deploy ended without a known outcome: terminated or timed out (no compensation ran), or cancelled with no status to read. */
  outcomeUnknown: 6,
  /** An error greenlight does not classify (a bug, or a Temporal failure it does not expect): see the message. */
  unexpected: 7,
  /** `greenlight plan`: a deploy of the spec would change something (0: it would change nothing). */
  changes: 8,
  /** `greenlight plan`: a host drifted from what greenlight left there (stray containers, an edited router config, missing images). */
  drift: 9,
  /** Refused outside the deploy window (`windows.outside: refuse`, `--outside-window refuse`, or windows that never open): nothing was changed. */
  outsideWindow: 10,
  /** `greenlight deploy --queue`: a later queued request replaced this one before it started (the message names it). */
  superseded: 11,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each code means to a user, as `greenlight --help` and the README's table list them. */
export const EXIT_MEANINGS: Record<ExitCode, string> = {
  0: 'success',
  1: 'the deploy failed after validation, or was cancelled, and was rolled back: the previous color serves',
  2: 'bad spec, arguments or usage, or unknown app, or validation failed: nothing was changed',
  3: 'refused: another deploy of the app runs, or cancel/promote/rollback at the wrong moment (no deploy running, not at the gate, nothing to roll back)',
  4: 'Temporal, Docker or nginx unreachable, or a check of `greenlight doctor` failed; `greenlight plan`: a fleet host could not be read (its worker did not answer), so the plan is incomplete',
  5: 'compensation could not restore the previous color (see the message)',
  6: "the deploy's outcome is unknown: terminated or timed out (no compensation ran), or cancelled with no status to read; check `greenlight status` and the hosts",
  7: 'unexpected error (see the message; `--verbose` adds the stack)',
  8: '`greenlight plan`: a deploy of the spec would change something (0: nothing would change)',
  9: "`greenlight plan`: drift, a host differs from what greenlight left there (stray containers, an edited router config, missing images); wins over 8",
  10: 'refused outside the deploy window (`windows.outside: refuse`, `--outside-window refuse`, or windows that never open): nothing was changed; deploy when it opens, or pass `--override --reason`',
  11: '`greenlight deploy --queue`: superseded, a later queued request of the app replaced this one before it started (the message names it and its deploy); nothing was changed by this one',
};

/** How a deploy workflow ended, as far as the CLI tells the ends apart. */
export type DeployEnd =
  | 'succeeded'
  /** DeployRolledBack, or cancelled with compensation done: the previous color serves. */
  | 'rolled-back'
  /** DeployValidationFailed: nothing was changed. */
  | 'validation-failed'
  /** DeployValidationFailed because Docker or nginx was unreachable (InfrastructureUnavailable). */
  | 'infrastructure-unavailable'
  /** Refused outside the deploy window (DeployValidationFailed for OutsideDeployWindow, or the CLI's own check): nothing was changed. */
  | 'outside-window'
  /** CompensationFailed (also a cancelled deploy whose status says so): the previous color could not be restored. */
  | 'compensation-failed'
  /** Terminated (e.g. `temporal workflow terminate`): no workflow code ran after it, so no compensation. */
  | 'terminated'
  /** The server's execution timeout (the backstop beyond the deploy's own limit) ended it: no compensation. */
  | 'timed-out'
  /** Cancelled, but its status (compensated or not) could not be read, e.g. no worker to answer the query. */
  | 'cancelled-unknown'
  /** Failed with a failure the CLI does not know (not one of FAILURE_TYPES' deploy ends). */
  | 'failed-otherwise';

/** What a command that did not follow a deploy to its end ended with. */
export type CommandEnd =
  /** It did what was asked (including a deploy started with --no-wait). */
  | 'done'
  /** No deploy of the app was ever found (status, history, rollback, promote, cancel): check the app name. */
  | 'unknown-app'
  /** `rollback --to`: the app has no release of that id (`greenlight releases APP` lists them); `prune`: no retain to prune by. */
  | 'unknown-release'
  /** `greenlight logs --deploy ID`: no logs of that deploy are kept on this host (the message lists those that are). */
  | 'unknown-deploy'
  /** No deploy of the app is running, so there is nothing to cancel or promote. */
  | 'not-running'
  /** The running deploy's update validator refused the rollback or promote (wrong moment). */
  | 'refused'
  /** The last deploy left no previous version to bring back. */
  | 'nothing-to-roll-back'
  /** `greenlight doctor`: at least one check of this host failed (each failure printed with its fix). */
  | 'checks-failed'
  /** `greenlight plan`: a deploy of the spec would change nothing. */
  | 'no-changes'
  /** `greenlight plan`: a deploy of the spec would change something. */
  | 'changes'
  /** `greenlight plan`: drift on a host (whether or not there are changes too). */
  | 'drift'
  /** `greenlight deploy --queue`: a later queued request replaced this one before it started. */
  | 'superseded';

export type CliOutcome = DeployEnd | CommandEnd;

const OUTCOME_CODES: Record<CliOutcome, ExitCode> = {
  done: EXIT.ok,
  succeeded: EXIT.ok,
  'rolled-back': EXIT.rolledBack,
  'validation-failed': EXIT.invalid,
  'unknown-app': EXIT.invalid,
  'unknown-release': EXIT.invalid,
  'unknown-deploy': EXIT.invalid,
  'not-running': EXIT.refused,
  refused: EXIT.refused,
  'nothing-to-roll-back': EXIT.refused,
  'infrastructure-unavailable': EXIT.infrastructure,
  'outside-window': EXIT.outsideWindow,
  'checks-failed': EXIT.infrastructure,
  'no-changes': EXIT.ok,
  changes: EXIT.changes,
  drift: EXIT.drift,
  superseded: EXIT.superseded,
  'compensation-failed': EXIT.compensationFailed,
  terminated: EXIT.outcomeUnknown,
  'timed-out': EXIT.outcomeUnknown,
  'cancelled-unknown': EXIT.outcomeUnknown,
  'failed-otherwise': EXIT.unexpected,
};

export function exitCodeOf(outcome: CliOutcome): ExitCode {
  return OUTCOME_CODES[outcome];
}

/**
 * A failed deploy's end from the `type` of the workflow's ApplicationFailure and the `failureType` of
 * its status details.
 */
export function deployEndOf(failureType: string | undefined, statusFailureType: string | null | undefined): DeployEnd {
  switch (failureType) {
    case FAILURE_TYPES.rolledBack:
      return 'rolled-back';
    case FAILURE_TYPES.validationFailed:
      if (statusFailureType === FAILURE_TYPES.outsideWindow) return 'outside-window';
      return statusFailureType === FAILURE_TYPES.infrastructure ? 'infrastructure-unavailable' : 'validation-failed';
    case FAILURE_TYPES.compensationFailed:
      return 'compensation-failed';
    default:
      return 'failed-otherwise';
  }
}

/**
 * A cancelled deploy's end from the outcome its status reports. The workflow compensates on
 * cancellation too (in a non-cancellable scope) and records whether that worked, then ends cancelled.
 */
export function cancelledEndOf(statusOutcome: string | undefined): DeployEnd {
  if (statusOutcome === 'rolled-back') return 'rolled-back';
  if (statusOutcome === 'compensation-failed') return 'compensation-failed';
  return 'cancelled-unknown';
}

/** The code for an error a command threw instead of returning an outcome. */
export function exitCodeOfError(err: unknown): ExitCode {
  // commander's own ends, already printed: help shown (0), or a usage error (unknown option or
  // command, missing argument, an argument its parser refused, no command at all).
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
  if (err instanceof ConfigError || err instanceof SettingError) return EXIT.invalid;
  if (err instanceof DeployInProgressError) return EXIT.refused;
  if (err instanceof InfrastructureError) return EXIT.infrastructure;
  return EXIT.unexpected;
}
