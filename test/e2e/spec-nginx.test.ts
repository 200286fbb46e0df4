/**
 * Every valid spec of the property sweep (test/unit/spec-properties.test.ts: same seed, same 10,000
 * inputs) renders an app config the real nginx accepts: `nginx -t` on the main config with the valid
 * specs' configs side by side, a batch at a time, in a throwaway prefix (no running nginx is touched).
 * Each spec gets its own app name and router port in the batch, so the configs can share one nginx;
 * everything else (services, host ports, routes, health endpoints) is the spec's.
 */
import fc from 'fast-check';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NginxRouter } from '../../host/nginx';
import { renderAppConfig } from '../../host/builders/nginx';
import { parseDeploySpec, parseDeploySpecYaml } from '../../src/config/load';
import type { DeploySpec } from '../../src/config/schema';
import type { Route } from '../../src/types';
import { generatedInput, PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/spec-arbitrary';

const BATCH = 1000;
const ROUTES: Route[] = [
  { live: 'blue', backup: null },
  { live: 'green', backup: null },
  { live: 'blue', backup: 'green' },
  { live: 'green', backup: 'blue' },
];

function validSpecs(): DeploySpec[] {
  const specs: DeploySpec[] = [];
  for (const input of fc.sample(generatedInput, { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS })) {
    try {
      specs.push(parseDeploySpec(input.kind === 'yaml' ? parseDeploySpecYaml(input.text) : input.spec));
    } catch {
      // The unit sweep checks that every rejection is a ConfigError naming a path.
    }
  }
  return specs;
}

/** `nginx -t` of one batch; on a rejection, the spec behind the file nginx names. */
async function nginxTest(batch: DeploySpec[], offset: number): Promise<void> {
  const prefix = await mkdtemp(join(tmpdir(), 'greenlight-spec-nginx-'));
  try {
    const router = new NginxRouter({ prefix, workerProcesses: 1 });
    await router.writeMainConfig();
    for (const [index, spec] of batch.entries()) {
      const app = `p${offset + index}`;
      const unique: DeploySpec = { ...spec, app, router: { port: 20000 + offset + index } };
      await writeFile(join(router.appsDir, `${app}.conf`), renderAppConfig(unique, ROUTES[index % ROUTES.length]!));
    }
    expect((await readdir(router.appsDir)).length).toBe(batch.length);
    await router.testMainConfig().catch((err: Error) => {
      const file = /apps\/p(\d+)\.conf/.exec(err.message)?.[1];
      const culprit = file === undefined ? '' : `\nspec #${file}: ${JSON.stringify(batch[Number(file) - offset])}`;
      throw new Error(`${err.message}${culprit}`);
    });
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
}

describe(`nginx -t of every valid generated spec (seed ${PROPERTY_SEED})`, () => {
  const specs = validSpecs();

  it('generates enough valid specs to be a test', () => {
    expect(specs.length).toBeGreaterThan(PROPERTY_RUNS / 5);
  });

  it(`accepts all of them, ${BATCH} app configs per nginx -t`, async () => {
    const started = Date.now();
    for (let offset = 0; offset < specs.length; offset += BATCH) await nginxTest(specs.slice(offset, offset + BATCH), offset);
    console.log(`nginx -t: ${specs.length} valid specs in ${Math.ceil(specs.length / BATCH)} runs, ${Date.now() - started} ms`);
  });

  it('rejects a config nginx cannot load (the check can fail)', async () => {
    const broken = { ...specs[0]!, services: { web: { ...Object.values(specs[0]!.services)[0]!, route: '/a b' } } };
    await expect(nginxTest([broken], 0)).rejects.toThrow(/nginx -t rejected[\s\S]*spec #0/);
  });
});
