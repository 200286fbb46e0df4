/**
 * greenlight's nginx on the real binary, each test in a throwaway prefix of its own (with its own nginx
 * when one must run), so every test runs alone and the stack's nginx is never touched.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderAppConfig } from '../../host/builders/nginx';
import { NginxRouter } from '../../host/nginx';
import { webSpec } from '../../harness/specs';

const BASE = 4750;
const APP = 'nginx-e2e';
const spec = webSpec(APP, { image: 'web:v1', port: 8080, hostPorts: { blue: BASE + 1, green: BASE + 2 }, route: '/' }, { router: { port: BASE } });

const prefixes: string[] = [];

/** A fresh prefix under the system temp folder; its name may carry a space. */
async function scratchPrefix(name: string): Promise<string> {
  const prefix = await mkdtemp(join(tmpdir(), name));
  prefixes.push(prefix);
  return prefix;
}

afterEach(async () => {
  for (const prefix of prefixes.splice(0)) await rm(prefix, { recursive: true, force: true });
});

describe('a prefix with a space in its path', () => {
  it('nginx -t accepts the rendered main config and an app config under it', async () => {
    const prefix = await scratchPrefix('greenlight nginx-');
    for (const dir of ['apps', 'logs', 'tmp']) await mkdir(join(prefix, dir), { recursive: true });
    const router = new NginxRouter({ prefix });
    // check() renders the main config for a check folder under the prefix and runs `nginx -t -c` on it.
    await expect(router.check(APP, renderAppConfig(spec, { live: 'blue', backup: null }))).resolves.toBeUndefined();
  });
});
