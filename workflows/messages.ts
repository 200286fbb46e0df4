/** The deploy workflow's messages: the CLI and tests use these definitions, never raw strings. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { MESSAGES } from '../src/names';
import type { DeployStatus } from '../src/types';

export interface RollbackAccepted {
  phase: DeployStatus['phase'];
  reason: string;
}

/** Ask a running deploy to roll back; refused (validator) once it is too late or already rolling back. */
export const rollbackUpdate = defineUpdate<RollbackAccepted, [reason: string]>(MESSAGES.rollback);
/**
 * The same request as a signal, for the Temporal CLI (`temporal workflow signal --name rollback --input
 * '"reason"'`) and the UI's "Send a Signal": its input is the reason (any JSON; none is allowed). A
 * signal cannot be refused, so one that comes too late or twice is recorded in the status and ignored.
 */
export const rollbackSignal = defineSignal<[reason?: unknown]>(MESSAGES.rollback);
/** Release the manual promotion gate; refused unless the deploy waits there. */
export const promoteUpdate = defineUpdate<{ phase: DeployStatus['phase'] }, []>(MESSAGES.promote);
export const statusQuery = defineQuery<DeployStatus>(MESSAGES.status);
