/**
 * Notification activities: one webhook told of one deploy event (workflows/notify.ts decides when).
 * The secret parts of its URL (`${NAME}`) are filled in here, from the worker's allowed secrets, and
 * never leave the worker: what reaches history names the URL as the spec wrote it (and the redacting
 * wrapper hides any value that slips through).
 */
import { Context } from '@temporalio/activity';
import axios from 'axios';
import type { DeploySpec } from '../src/config/schema';
import { FAILURE_TYPES } from '../src/names';
import { buildNotificationBody, resolveUrl, temporalUiLink, urlSecretNames, type NotifyFacts } from '../src/notify';
import { secretProblem, type SecretPolicy } from '../src/secrets';
import { fail } from './support';

export interface NotifyDeps {
  secrets: SecretPolicy;
  /** The Temporal UI the body links to (GREENLIGHT_UI_URL). */
  uiUrl: string;
}

/** One attempt's limit; the workflow's profile retries within the spec's `notify.timeout`. */
const ATTEMPT_TIMEOUT_MS = 5_000;

export function createNotifyActivities({ secrets, uiUrl }: NotifyDeps) {
  return {
    /** POSTs the event's JSON body to `notify.webhooks[index]`; a 2xx answer delivers it, anything else is retried. */
    async notifyWebhook(spec: DeploySpec, index: number, facts: NotifyFacts): Promise<{ status: number }> {
      const hook = spec.notify?.webhooks[index];
      const field = `notify.webhooks[${index}].url`;
      if (!hook) throw fail(FAILURE_TYPES.notification, `notify.webhooks[${index}]: the spec has no such webhook`);
      const values: Record<string, string> = {};
      for (const name of urlSecretNames(hook.url)) {
        const problem = secretProblem(secrets, '', name, field);
        if (problem) throw fail(FAILURE_TYPES.notification, problem);
        values[name] = secrets.allowed.get(name)!;
      }
      const { workflowNamespace, workflowExecution } = Context.current().info;
      const link = temporalUiLink(uiUrl, workflowNamespace ?? 'default', workflowExecution?.workflowId ?? facts.app, workflowExecution?.runId ?? facts.deployId);
      const body = buildNotificationBody(facts, link);
      let status: number;
      try {
        const response = await axios.post(resolveUrl(hook.url, values), body, { timeout: ATTEMPT_TIMEOUT_MS, maxRedirects: 0, validateStatus: () => true, headers: { 'content-type': 'application/json' } });
        status = response.status;
      } catch (err) {
        // axios' own message names no URL; the code says what happened (ECONNREFUSED, ECONNABORTED, ...).
        const code = (err as { code?: string }).code;
        throw new Error(`${field} (${hook.url}) could not be reached: ${code ?? (err as Error).message}`);
      }
      if (status < 200 || status >= 300) throw new Error(`${field} (${hook.url}) answered HTTP ${status}`);
      return { status };
    },
  };
}
