/** Pure builders of maintenance mode: the default page and a host's state file. Tested by exact equality. */
import type { MaintenanceState } from '../../src/types';

/** Text as HTML (element content and attribute values alike): the message is the operator's, shown to anyone. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The page nginx answers with while the app is in maintenance, unless the user gave one (`--page`). */
export function renderMaintenancePage(app: string, message: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(app)}: down for maintenance</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style>
</head>
<body>
<h1>Down for maintenance</h1>
<p>${escapeHtml(message)}</p>
</body>
</html>
`;
}

/**
 * The state file nginx reads (`"retryAfter":<n>` in it, for the route lookup's Lua) and status shows:
 * JSON on one line, the app first. Off has no file.
 */
export function renderMaintenanceFile(app: string, state: MaintenanceState): string {
  return `${JSON.stringify({ app, on: state.on, retryAfter: state.retryAfter, since: state.since, message: state.message, pageFile: state.pageFile })}\n`;
}

/** A state file read back; null when it is not one (a host without maintenance reads as off). */
export function parseMaintenanceFile(text: string): MaintenanceState | null {
  try {
    const v = JSON.parse(text) as Partial<MaintenanceState>;
    if (v.on !== true || typeof v.retryAfter !== 'number') return null;
    return { on: true, since: v.since ?? null, message: v.message ?? null, retryAfter: v.retryAfter, pageFile: v.pageFile ?? null };
  } catch {
    return null;
  }
}
