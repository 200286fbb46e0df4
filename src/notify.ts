/**
 * Deploy notifications (`notify:`): the JSON body a webhook receives, the Temporal UI link in it, and
 * the `${NAME}` secret parts of a webhook URL. Pure, no Node built-ins: tested by exact equality
 * (test/unit/notify.test.ts); activities/notify.ts sends, workflows/notify.ts decides when.
 */
import { DEPLOY_NOTIFY_EVENTS, URL_SECRET } from './config/schema';
import { formatImages } from './format';

export type NotifyEvent = (typeof DEPLOY_NOTIFY_EVENTS)[number];

/** What the deploy (or the monitor) knows when the event happens. */
export interface NotifyFacts {
  app: string;
  event: NotifyEvent;
  outcome: string;
  phase: string;
  images: Record<string, string>;
  previousImages: Record<string, string>;
  reason: string | null;
  deployId: string;
  requestedBy: string | null;
}

export interface NotificationBody extends NotifyFacts {
  link: string;
  /** One line Slack-compatible webhooks display. */
  text: string;
}

/** The run's page in the Temporal UI: `<ui>/namespaces/<ns>/workflows/<id>/<run>/history`. */
export function temporalUiLink(uiBase: string, namespace: string, workflowId: string, runId: string): string {
  const base = uiBase.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

/** Slack reads `&`, `<` and `>` as markup: escaped in what the deploy quotes (reasons, images). */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function headline(f: NotifyFacts): string {
  const images = formatImages(f.images);
  const previous = formatImages(f.previousImages);
  const reason = f.reason ?? 'no reason given';
  switch (f.event) {
    case 'started':
      return `deploy started: ${images}${previous ? ` (live: ${previous})` : ''}${f.requestedBy ? `, by ${f.requestedBy}` : ''}`;
    case 'succeeded':
      return `deploy succeeded: ${images} is live`;
    case 'rolled-back':
      return `deploy rolled back in ${f.phase}: ${reason}${previous ? `; ${previous} stays live` : ''}`;
    case 'compensation-failed':
      return `rollback did not finish (compensation failed) in ${f.phase}: ${reason}; run \`greenlight status ${f.app}\``;
    case 'monitor-alert':
      return `monitor alert: ${images} is unhealthy: ${reason}`;
    case 'monitor-recovered':
      return `monitor: ${images} is healthy again${f.reason ? ` (${f.reason})` : ''}`;
  }
}

/** The webhook's JSON body: the facts, the UI link and a `text` line for Slack. */
export function buildNotificationBody(facts: NotifyFacts, link: string): NotificationBody {
  return { ...facts, link, text: `[greenlight] ${facts.app}: ${slackEscape(headline(facts))} <${link}|details>` };
}

/** The secret names a webhook URL asks for (`${NAME}`), in order, once each. */
export function urlSecretNames(url: string): string[] {
  return [...new Set([...url.matchAll(URL_SECRET)].map((m) => m[1]!))];
}

/** The URL with each `${NAME}` replaced by its (URL-encoded) value; a name without a value stays as written. */
export function resolveUrl(url: string, values: Record<string, string>): string {
  return url.replace(URL_SECRET, (whole, name: string) => (values[name] === undefined ? whole : encodeURIComponent(values[name]!)));
}
