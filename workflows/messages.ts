/** The deploy workflow's messages: the CLI and tests use these definitions, never raw strings. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { MESSAGES } from '../src/names';
import type { DeployStatus } from '../src/types';

export interface RollbackAccepted {
  phase: DeployStatus['phase'];
  reason: string;
}

/** Ask a running deploy to roll back; refused (validator) once it is too late or already rolling back. */
export const rollbackUpdate = defineUpdate<RollbackAccepted, [reason: string]>(MESSAGES.rollback);
/** Release the manual promotion gate; refused unless the deploy waits there. */
export const promoteUpdate = defineUpdate<{ phase: DeployStatus['phase'] }, []>(MESSAGES.promote);
export const statusQuery = defineQuery<DeployStatus>(MESSAGES.status);
