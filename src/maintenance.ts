/**
 * Maintenance mode of an app (`greenlight maintenance APP on|off`): the request the CLI checks and the
 * maintenance workflow carries to every host, and what a host reports back. Pure, no Node built-ins:
 * the CLI, the workflow and the activities share it.
 */
import { ConfigError } from './errors';
import type { MaintenanceChange, MaintenanceState } from './types';

export const MAINTENANCE_LIMITS = {
  /** The message shown on the default page (and in `greenlight status`). */
  messageChars: 500,
  /** Retry-After: whole seconds, at most a day (a client that waits longer should ask again). */
  retryAfterMaxSeconds: 86_400,
  /** A user's own page (`--page FILE`): it travels in the workflow's input and sits in every host's router. */
  pageBytes: 64 * 1024,
} as const;

export const DEFAULT_RETRY_AFTER_SECONDS = 120;
export const DEFAULT_MAINTENANCE_MESSAGE = 'This service is down for maintenance. Please try again shortly.';

export const MAINTENANCE_OFF: MaintenanceState = { on: false, since: null, message: null, retryAfter: null, pageFile: null };

export interface MaintenanceArgs {
  state: string;
  message?: string;
  retryAfter?: string;
  /** The page file's name and its bytes, read by the CLI (null: no --page). */
  page?: { file: string; bytes: Uint8Array } | null;
}

/** Control characters other than tab: a message is one line of text (it also goes into status). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * The change the CLI's arguments ask for, or a ConfigError naming every wrong flag and its fix (all at
 * once): `on` or `off`; with `on`, a bounded one-line message, Retry-After a positive whole number of
 * seconds, and a page of UTF-8 HTML within the size limit. `off` takes none of them.
 */
export function parseMaintenanceArgs(args: MaintenanceArgs): MaintenanceChange {
  const problems: string[] = [];
  const state = args.state.trim().toLowerCase();
  if (state !== 'on' && state !== 'off') problems.push(`<on|off>: "${args.state}" is neither: pass on (answer 503 with Retry-After) or off (serve the app again)`);
  if (state === 'off') {
    for (const [flag, given] of [['--message', args.message], ['--retry-after', args.retryAfter], ['--page', args.page]] as const) {
      if (given !== undefined && given !== null) problems.push(`${flag}: only for "on" (off serves the app again): leave it out`);
    }
  }
  const message = args.message ?? DEFAULT_MAINTENANCE_MESSAGE;
  if (message.trim() === '') problems.push('--message: is empty: say what users should know, or leave it out for the default');
  if ([...message].length > MAINTENANCE_LIMITS.messageChars) problems.push(`--message: ${[...message].length} characters, at most ${MAINTENANCE_LIMITS.messageChars}: shorten it (a page of your own: --page FILE)`);
  if (CONTROL.test(message)) problems.push('--message: has a line break or control character: one line of text (a page of your own: --page FILE)');
  const retryAfterText = args.retryAfter ?? String(DEFAULT_RETRY_AFTER_SECONDS);
  const retryAfter = /^[1-9]\d{0,5}$/.test(retryAfterText) ? Number(retryAfterText) : NaN;
  if (!(retryAfter <= MAINTENANCE_LIMITS.retryAfterMaxSeconds)) {
    problems.push(`--retry-after: "${retryAfterText}" is not a whole number of seconds from 1 to ${MAINTENANCE_LIMITS.retryAfterMaxSeconds}: e.g. --retry-after 120`);
  }
  let page: { file: string; html: string } | null = null;
  if (args.page) {
    const { file, bytes } = args.page;
    if (bytes.byteLength === 0) problems.push(`--page: ${file} is empty: give an HTML file, or leave --page out for the default page`);
    else if (bytes.byteLength > MAINTENANCE_LIMITS.pageBytes) problems.push(`--page: ${file} is ${bytes.byteLength} bytes, at most ${MAINTENANCE_LIMITS.pageBytes}: inline less (images and styles from elsewhere)`);
    else {
      try {
        page = { file, html: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
      } catch {
        problems.push(`--page: ${file} is not UTF-8 text: save the page as UTF-8`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (state === 'off') return { on: false };
  return { on: true, message: message.trim(), retryAfter, page };
}

/** "on since 2026-12-03T11:40:00.000Z (Retry-After 120 s), message: ..." or "off". */
export function formatMaintenance(state: MaintenanceState): string {
  if (!state.on) return 'off';
  const page = state.pageFile ? `, page ${state.pageFile}` : '';
  return `on since ${state.since ?? '?'} (503, Retry-After ${state.retryAfter ?? '?'} s${page}), message: ${state.message ?? ''}`;
}
