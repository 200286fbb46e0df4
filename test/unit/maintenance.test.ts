/** Maintenance mode's pure parts: the CLI's arguments, the default page (escaped), the state file. */
import { describe, expect, it } from 'vitest';
import { escapeHtml, parseMaintenanceFile, renderMaintenanceFile, renderMaintenancePage } from '../../host/builders/maintenance';
import { ConfigError } from '../../src/errors';
import { formatMaintenance, MAINTENANCE_OFF, parseMaintenanceArgs, type MaintenanceArgs } from '../../src/maintenance';

const bytes = (text: string) => new TextEncoder().encode(text);

/** The issues of the ConfigError parseMaintenanceArgs throws. */
function issuesOf(args: MaintenanceArgs): string[] {
  try {
    parseMaintenanceArgs(args);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseMaintenanceArgs', () => {
  it.each([
    [{ state: 'on' }, { on: true, message: 'This service is down for maintenance. Please try again shortly.', retryAfter: 120, page: null }],
    [{ state: 'ON', message: '  Back at 14:00 UTC ', retryAfter: '600' }, { on: true, message: 'Back at 14:00 UTC', retryAfter: 600, page: null }],
    [{ state: 'on', retryAfter: '86400', page: { file: 'm.html', bytes: bytes('<p>é</p>') } }, { on: true, message: 'This service is down for maintenance. Please try again shortly.', retryAfter: 86400, page: { file: 'm.html', html: '<p>é</p>' } }],
    [{ state: 'off' }, { on: false }],
  ] as Array<[MaintenanceArgs, unknown]>)('%j', (args, change) => {
    expect(parseMaintenanceArgs(args)).toEqual(change);
  });

  it.each([
    [{ state: 'maybe' }, ['<on|off>: "maybe" is neither: pass on (answer 503 with Retry-After) or off (serve the app again)']],
    ...['0', '-5', '1.5', '2m', '', '86401', '0120'].map((retryAfter): [MaintenanceArgs, string[]] => [{ state: 'on', retryAfter }, [`--retry-after: "${retryAfter}" is not a whole number of seconds from 1 to 86400: e.g. --retry-after 120`]]),
    [{ state: 'on', message: '   ' }, ['--message: is empty: say what users should know, or leave it out for the default']],
    [{ state: 'on', message: 'x'.repeat(501) }, ['--message: 501 characters, at most 500: shorten it (a page of your own: --page FILE)']],
    [{ state: 'on', message: 'two\nlines' }, ['--message: has a line break or control character: one line of text (a page of your own: --page FILE)']],
    [{ state: 'on', page: { file: 'big.html', bytes: new Uint8Array(64 * 1024 + 1) } }, ['--page: big.html is 65537 bytes, at most 65536: inline less (images and styles from elsewhere)']],
    [{ state: 'on', page: { file: 'empty.html', bytes: new Uint8Array(0) } }, ['--page: empty.html is empty: give an HTML file, or leave --page out for the default page']],
    [{ state: 'on', page: { file: 'latin1.html', bytes: new Uint8Array([0x3c, 0xe9, 0x3e]) } }, ['--page: latin1.html is not UTF-8 text: save the page as UTF-8']],
    [
      { state: 'off', message: 'hi', retryAfter: '60', page: { file: 'm.html', bytes: bytes('x') } },
      ['--message: only for "on" (off serves the app again): leave it out', '--retry-after: only for "on" (off serves the app again): leave it out', '--page: only for "on" (off serves the app again): leave it out'],
    ],
    [{ state: 'on', message: '', retryAfter: 'soon' }, ['--message: is empty: say what users should know, or leave it out for the default', '--retry-after: "soon" is not a whole number of seconds from 1 to 86400: e.g. --retry-after 120']],
  ] as Array<[MaintenanceArgs, string[]]>)('refuses %j, naming the flag and the fix', (args, issues) => {
    expect(issuesOf(args)).toEqual(issues);
  });
});

describe('renderMaintenancePage', () => {
  it('renders the whole page, the app and the message escaped', () => {
    expect(renderMaintenancePage('shop', 'Back <b>soon</b> & "fast" \'ok\'')).toBe(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>shop: down for maintenance</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style>
</head>
<body>
<h1>Down for maintenance</h1>
<p>Back &lt;b&gt;soon&lt;/b&gt; &amp; &quot;fast&quot; &#39;ok&#39;</p>
</body>
</html>
`);
  });

  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['&amp;', '&amp;amp;'],
    ['plain text', 'plain text'],
  ])('escapeHtml(%j) is %j', (text, escaped) => {
    expect(escapeHtml(text)).toBe(escaped);
  });
});

describe('the maintenance state file', () => {
  const on = { on: true, since: '2026-12-03T11:40:00.000Z', message: 'Back at 14:00', retryAfter: 600, pageFile: null };

  it('is one line of JSON with "retryAfter":<n> for nginx\'s Lua, and reads back', () => {
    const text = renderMaintenanceFile('shop', on);
    expect(text).toBe('{"app":"shop","on":true,"retryAfter":600,"since":"2026-12-03T11:40:00.000Z","message":"Back at 14:00","pageFile":null}\n');
    expect(parseMaintenanceFile(text)).toEqual(on);
  });

  it.each(['', 'not json', '{"on":false}', '{"on":true}', '{"on":true,"retryAfter":"600"}'])('%j is not one (off)', (text) => {
    expect(parseMaintenanceFile(text)).toBeNull();
  });

  it('status shows it on one line, off as off', () => {
    expect(formatMaintenance(on)).toBe('on since 2026-12-03T11:40:00.000Z (503, Retry-After 600 s), message: Back at 14:00');
    expect(formatMaintenance({ ...on, pageFile: 'm.html' })).toBe('on since 2026-12-03T11:40:00.000Z (503, Retry-After 600 s, page m.html), message: Back at 14:00');
    expect(formatMaintenance(MAINTENANCE_OFF)).toBe('off');
  });
});
