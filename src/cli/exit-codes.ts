/** Documented exit codes of `greenlight` (README: "Exit codes"). CI gates on them. */
export const EXIT = {
  ok: 0,
  /** The deploy failed after validation and was rolled back: the previous color serves. */
  rolledBack: 1,
  /** Bad spec or arguments, or validation (preflight, validation commands) failed: nothing was changed. */
  invalid: 2,
  /** Refused: another deploy of the app is running, or the request came at the wrong moment. */
  refused: 3,
  /** Temporal, Docker or nginx unreachable. */
  infrastructure: 4,
  /** Compensation could not restore the previous color (see the message): an operator must look. */
  compensationFailed: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
