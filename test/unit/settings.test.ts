import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultGreenlightHome, greenlightHome, isCheckout } from '../../src/settings';

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
