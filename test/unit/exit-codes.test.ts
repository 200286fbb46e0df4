/** The one table of greenlight's exit codes: every outcome and error a command can end with. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ConfigError, DeployInProgressError, InfrastructureError, SettingError } from '../../src/errors';
import { cancelledEndOf, deployEndOf, EXIT, EXIT_MEANINGS, exitCodeOf, exitCodeOfError, type CliOutcome } from '../../src/cli/exit-codes';
import { FAILURE_TYPES } from '../../src/names';

describe('exit codes', () => {
  it('keeps the documented numbers', () => {
    expect(EXIT).toEqual({ ok: 0, rolledBack: 1, invalid: 2, refused: 3, infrastructure: 4, compensationFailed: 5, outcomeUnknown: 6, unexpected: 7, changes: 8, drift: 9, outsideWindow: 10, superseded: 11 });
  });

  it('says what every code means (the list in `greenlight --help`)', () => {
    expect(Object.keys(EXIT_MEANINGS).map(Number)).toEqual(Object.values(EXIT));
    expect(EXIT_MEANINGS[EXIT.infrastructure]).toBe('Temporal, Docker or nginx unreachable, or a check of `greenlight doctor` failed; `greenlight plan`: a fleet host could not be read (its worker did not answer), so the plan is incomplete');
  });

  it("the README's exit-code table is EXIT_MEANINGS, row for row", () => {
    const readme = readFileSync(resolve(__dirname, '..', '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| exit code | meaning |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    expect(rows).toEqual(Object.entries(EXIT_MEANINGS).map(([code, meaning]) => `| ${code} | ${meaning} |`));
  });

  it.each<[CliOutcome, number]>([
    ['done', 0],
    ['succeeded', 0],
    ['rolled-back', 1],
    ['terminated', 6],
    ['timed-out', 6],
    ['cancelled-unknown', 6],
    ['failed-otherwise', 7],
    ['validation-failed', 2],
    ['unknown-app', 2],
    ['unknown-release', 2],
    ['unknown-deploy', 2],
    ['not-running', 3],
    ['refused', 3],
    ['nothing-to-roll-back', 3],
    ['infrastructure-unavailable', 4],
    ['checks-failed', 4],
    ['compensation-failed', 5],
  ])('outcome %s -> %i', (outcome, code) => {
    expect(exitCodeOf(outcome)).toBe(code);
  });

  it.each<[string | undefined, string | null | undefined, string]>([
    [FAILURE_TYPES.rolledBack, null, 'rolled-back'],
    [FAILURE_TYPES.rolledBack, FAILURE_TYPES.infrastructure, 'rolled-back'],
    [FAILURE_TYPES.validationFailed, null, 'validation-failed'],
    [FAILURE_TYPES.validationFailed, undefined, 'validation-failed'],
    [FAILURE_TYPES.validationFailed, FAILURE_TYPES.portInUse, 'validation-failed'],
    [FAILURE_TYPES.validationFailed, FAILURE_TYPES.infrastructure, 'infrastructure-unavailable'],
    [FAILURE_TYPES.validationFailed, FAILURE_TYPES.outsideWindow, 'outside-window'],
    [FAILURE_TYPES.compensationFailed, null, 'compensation-failed'],
    [FAILURE_TYPES.healthCheck, null, 'failed-otherwise'],
    [undefined, null, 'failed-otherwise'],
  ])('a deploy failing with type %s (status failureType %s) ended %s', (type, statusType, end) => {
    expect(deployEndOf(type, statusType)).toBe(end);
  });

  it.each<[string | undefined, string]>([
    ['rolled-back', 'rolled-back'],
    ['compensation-failed', 'compensation-failed'],
    [undefined, 'cancelled-unknown'],
    ['running', 'cancelled-unknown'],
  ])('a cancelled deploy whose status says %s ended %s', (outcome, end) => {
    expect(cancelledEndOf(outcome)).toBe(end);
  });

  it.each<[string, unknown, number]>([
    ['ConfigError', new ConfigError(['app: is required']), 2],
    ['SettingError (GREENLIGHT_METRICS_ADDRESS)', new SettingError('GREENLIGHT_METRICS_ADDRESS: "x" is not an address'), 2],
    ['DeployInProgressError', new DeployInProgressError('shop'), 3],
    ['InfrastructureError', new InfrastructureError('cannot reach Temporal'), 4],
    ['an unknown Error', new Error('boom'), 7],
    ['a thrown non-Error', 'boom', 7],
    ["commander's help", new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), 0],
    ["commander's usage error", new CommanderError(1, 'commander.missingArgument', "error: missing required argument 'app'"), 2],
    ["commander's unknown option", new CommanderError(1, 'commander.unknownOption', "error: unknown option '--bogus'"), 2],
    ["commander's help for no command (an error)", new CommanderError(1, 'commander.help', '(outputHelp)'), 2],
  ])('thrown %s -> %i', (_, err, code) => {
    expect(exitCodeOfError(err)).toBe(code);
  });
});
