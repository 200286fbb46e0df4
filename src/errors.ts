/**
 * The few named errors greenlight raises. Activities turn the ones that retrying cannot fix into
 * non-retryable Temporal failures (their `type` names: FAILURE_TYPES in src/names.ts); the CLI maps them
 * to exit codes (src/cli/exit-codes.ts).
 */
export class GreenlightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The deploy spec (or a CLI argument) is wrong. `issues` name the field and the fix. */
export class ConfigError extends GreenlightError {
  constructor(readonly issues: string[]) {
    super(`invalid deploy spec:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  }
}

/** A host setting (an environment variable or its flag) is wrong; the message names it and the fix. Nothing was started. */
export class SettingError extends GreenlightError {}

/** A part greenlight drives is unreachable or broken (Temporal, Docker, nginx). */
export class InfrastructureError extends GreenlightError {}

/** Another deploy of the same app is running; the workflow id is the lock. */
export class DeployInProgressError extends GreenlightError {
  constructor(readonly app: string) {
    super(
      `a deploy of "${app}" is already running (workflow deploy-${app}); wait for it, or stop it with ` +
        `\`greenlight rollback ${app}\` / \`greenlight cancel ${app}\``,
    );
  }
}
