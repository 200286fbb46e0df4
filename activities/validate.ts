/** Spec validation inside the worker: the workflow input is checked again by the one schema. */
import { fail } from './support';
import { parseDeploySpec } from '../src/config/load';
import { ConfigError } from '../src/errors';
import { FAILURE_TYPES } from '../src/names';
import type { DeploySpec } from '../src/config/schema';

export function createValidateActivities() {
  return {
    async validateSpec(spec: unknown): Promise<DeploySpec> {
      try {
        return parseDeploySpec(spec);
      } catch (err) {
        if (err instanceof ConfigError) throw fail(FAILURE_TYPES.config, err.message, err.issues);
        throw err;
      }
    },
  };
}
