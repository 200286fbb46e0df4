import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultGreenlightHome, greenlightHome, isCheckout, metricsAddressFromEnv, metricsUrl, parseMetricsAddress } from '../../src/settings';

const REPO = resolve(__dirname, '..', '..');

describe('greenlightHome', () => {
  const saved = process.env.GREENLIGHT_HOME;
  afterEach(() => {
    if (saved === undefined) delete process.env.GREENLIGHT_HOME;
    else process.env.GREENLIGHT_HOME = saved;
  });

  it.each([
    ['a checkout, as root', { checkout: '/src/greenlight', uid: 0, userHome: '/root' }, '/src/greenlight/.greenlight'],
    ['a checkout, as a user', { checkout: '/home/ci/greenlight', uid: 1000, userHome: '/home/ci' }, '/home/ci/greenlight/.greenlight'],
    ['an installed package run by root (a host service)', { checkout: null, uid: 0, userHome: '/root' }, '/var/lib/greenlight'],
    ['an installed package run by a user', { checkout: null, uid: 1000, userHome: '/home/ops' }, '/home/ops/.greenlight'],
  ])('defaults to the right folder for %s', (_case, where, home) => {
    expect(defaultGreenlightHome(where)).toBe(home);
  });

  it('is GREENLIGHT_HOME when set (resolved), else the default of this checkout', () => {
    process.env.GREENLIGHT_HOME = 'relative/state';
    expect(greenlightHome()).toBe(resolve('relative/state'));
    delete process.env.GREENLIGHT_HOME;
    expect(greenlightHome()).toBe(join(REPO, '.greenlight'));
    process.env.GREENLIGHT_HOME = '';
    expect(greenlightHome()).toBe(join(REPO, '.greenlight'));
  });

  it('tells a checkout (TypeScript sources beside it) from an installed package (dist/ only)', () => {
    expect(isCheckout(REPO)).toBe(true);
    const installed = mkdtempSync(join(tmpdir(), 'greenlight-installed-'));
    mkdirSync(join(installed, 'dist', 'src'), { recursive: true });
    try {
      writeFileSync(join(installed, 'dist', 'src', 'settings.js'), '');
      expect(isCheckout(installed)).toBe(false);
    } finally {
      rmSync(installed, { recursive: true, force: true });
    }
  });
});

describe('the metrics address (GREENLIGHT_METRICS_ADDRESS, --metrics-address)', () => {
  it('is off when unset or empty: a worker serves no endpoint unless asked', () => {
    expect(metricsAddressFromEnv({})).toBeNull();
    expect(metricsAddressFromEnv({ GREENLIGHT_METRICS_ADDRESS: '  ' })).toBeNull();
  });

  it.each([
    ['loopback', '127.0.0.1:9464', 'http://127.0.0.1:9464/metrics'],
    ['every interface, asked for', '0.0.0.0:9464', 'http://127.0.0.1:9464/metrics'],
    ['one interface', '10.0.0.5:19464', 'http://10.0.0.5:19464/metrics'],
    ['IPv6 loopback', '[::1]:9464', 'http://[::1]:9464/metrics'],
    ['IPv6, every interface', '[::]:9464', 'http://[::1]:9464/metrics'],
  ])('takes %s (%s), scraped at %s', (_case, address, url) => {
    expect(metricsAddressFromEnv({ GREENLIGHT_METRICS_ADDRESS: address })).toBe(address);
    expect(metricsUrl(address)).toBe(url);
  });

  const fix = 'expected ip:port, e.g. 127.0.0.1:9464 (loopback: a local Prometheus or agent scrapes it) or 0.0.0.0:9464 (every interface)';
  it.each([
    ['a port alone', '9464', `GREENLIGHT_METRICS_ADDRESS: "9464" is not an address; ${fix}`],
    ['a URL', 'http://127.0.0.1:9464', `GREENLIGHT_METRICS_ADDRESS: "http://127.0.0.1:9464" is not an address; ${fix}`],
    ['a host name (the exporter binds IP addresses only)', 'localhost:9464', `GREENLIGHT_METRICS_ADDRESS: "localhost" is not an IP address (host names are not accepted); ${fix}`],
    ['IPv6 without brackets', '::1:9464', `GREENLIGHT_METRICS_ADDRESS: "::1:9464" is not an address; ${fix}`],
    ['a bad IPv4 address', '127.0.0.256:9464', `GREENLIGHT_METRICS_ADDRESS: "127.0.0.256" is not an IP address (host names are not accepted); ${fix}`],
    ['port 0', '127.0.0.1:0', `GREENLIGHT_METRICS_ADDRESS: port 0 is out of range 1-65535; ${fix}`],
    ['a port past 65535', '127.0.0.1:70000', `GREENLIGHT_METRICS_ADDRESS: port 70000 is out of range 1-65535; ${fix}`],
  ])('refuses %s, naming the setting and the fix', (_case, address, message) => {
    expect(() => metricsAddressFromEnv({ GREENLIGHT_METRICS_ADDRESS: address })).toThrow(message);
  });

  it('names the flag when the address came from --metrics-address', () => {
    expect(() => parseMetricsAddress('localhost:1', '--metrics-address')).toThrow(/^--metrics-address: "localhost" is not an IP address/);
  });
});
