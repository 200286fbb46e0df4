import { describe, expect, it } from 'vitest';
import { buildHookContainer, hookImage, imagesEnv } from '../../host/builders/container';
import { parseDeploySpec } from '../../src/config/load';
import { formatHooks } from '../../src/format';
import { ConfigError } from '../../src/errors';
/** The default limits as HostConfig fields (as in builders.test.ts). */
const DEFAULT_LIMITS = { Memory: 536_870_912, MemorySwap: 536_870_912, PidsLimit: 512, SecurityOpt: ['no-new-privileges:true'] };
import type { HookFacts } from '../../src/types';
import { shopSpec } from '../../harness/specs';

const hooks = {
  preSwitch: [{ name: 'smoke', service: 'backend', run: ['node', 'smoke.js'], timeout: '30s' }],
  postRollback: [{ name: 'page', service: 'backend', run: ['node', 'page.js'] }],
};
const spec = () => parseDeploySpec({ ...shopSpec(), hooks });
const facts: HookFacts = {
  color: 'green',
  previousColor: 'blue',
  images: { frontend: 'shop-frontend:v2', backend: 'shop-backend:v2' },
  previousImages: { frontend: 'shop-frontend:v1', backend: 'shop-backend:v1' },
  outcome: null,
};

describe('hooks: spec', () => {
  it('fills the defaults: every stage a list, a timeout of 5 minutes', () => {
    expect(spec().hooks).toEqual({
      preDeploy: [],
      preSwitch: [{ name: 'smoke', service: 'backend', run: ['node', 'smoke.js'], timeout: 30_000 }],
      postDeploy: [],
      postRollback: [{ name: 'page', service: 'backend', run: ['node', 'page.js'], timeout: 300_000 }],
    });
  });

  it('leaves a spec without hooks as it was (no key)', () => {
    expect('hooks' in parseDeploySpec(shopSpec())).toBe(false);
  });

  it.each([
    [{ preSwitch: [{ name: 'smoke', service: 'nope', run: ['x'] }] }, 'hooks.preSwitch.0.service: unknown service "nope": use one of backend, frontend'],
    [{ postDeploy: [{ name: 'a', service: 'backend', run: ['x'] }, { name: 'a', service: 'backend', run: ['y'] }] }, 'hooks.postDeploy.1.name: "a" is used twice in hooks.postDeploy: give each hook its own name'],
    [{ preDeploy: [{ name: 'a', service: 'backend', run: [] }] }, 'hooks.preDeploy.0.run: must not be empty'],
    [{ onFire: [] }, 'hooks'],
  ])('rejects %j, naming the field', (given, message) => {
    const parse = () => parseDeploySpec({ ...shopSpec(), hooks: given } as never);
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(message);
  });
});

describe('buildHookContainer', () => {
  it("builds a one-off container of the new image on the app network, with the service's secrets and the deploy's facts", () => {
    expect(buildHookContainer(spec(), 'preSwitch', 0, facts, 'd-7', { DB_PASSWORD: 's3cret' })).toEqual({
      name: 'shop.preswitch_smoke',
      Image: 'shop-backend:v2',
      Cmd: ['node', 'smoke.js'],
      Env: [
        'DB_PASSWORD=s3cret',
        'GREENLIGHT_APP=shop',
        'GREENLIGHT_COLOR=green',
        'GREENLIGHT_DEPLOY_ID=d-7',
        'GREENLIGHT_HOOK=preSwitch.smoke',
        'GREENLIGHT_IMAGES=backend=shop-backend:v2,frontend=shop-frontend:v2',
        'GREENLIGHT_PREVIOUS_COLOR=blue',
        'GREENLIGHT_PREVIOUS_IMAGES=backend=shop-backend:v1,frontend=shop-frontend:v1',
        'GREENLIGHT_SERVICE=backend',
      ],
      Labels: {
        'greenlight.managed': 'true',
        'greenlight.app': 'shop',
        'greenlight.service': 'backend',
        'greenlight.deploy-id': 'd-7',
        'greenlight.image': 'shop-backend:v2',
        'greenlight.role': 'hook',
      },
      HostConfig: { NetworkMode: 'greenlight', ExtraHosts: ['host.docker.internal:host-gateway'], AutoRemove: false, ...DEFAULT_LIMITS },
    });
  });

  it('runs a postRollback hook in the restored image, with the outcome; a first deploy has no previous color', () => {
    const built = buildHookContainer(spec(), 'postRollback', 0, { ...facts, outcome: 'rolled-back' }, 'd-7', {});
    expect([built.name, built.Image]).toEqual(['shop.postrollback_page', 'shop-backend:v1']);
    expect(built.Env).toContain('GREENLIGHT_OUTCOME=rolled-back');
    const first = buildHookContainer(spec(), 'preSwitch', 0, { ...facts, previousColor: null, previousImages: {} }, 'd-1', {});
    expect(first.Env).toEqual(expect.arrayContaining(['GREENLIGHT_PREVIOUS_COLOR=', 'GREENLIGHT_PREVIOUS_IMAGES=']));
  });

  it('has no restored image for a postRollback hook after a first deploy (the hook is skipped)', () => {
    expect(hookImage(spec(), 'postRollback', 'backend', { ...facts, previousImages: {} })).toBe(null);
    expect(hookImage(spec(), 'preSwitch', 'backend', { ...facts, previousImages: {} })).toBe('shop-backend:v2');
  });

  it('writes images as service=image pairs in service order', () => {
    expect(imagesEnv({ web: 'w:2', api: 'a:1' })).toBe('api=a:1,web=w:2');
    expect(imagesEnv({})).toBe('');
  });

  it('throws on a hook index out of range', () => {
    expect(() => buildHookContainer(spec(), 'preDeploy', 0, facts, 'd-1', {})).toThrow('no hook hooks.preDeploy[0]');
  });
});

describe('formatHooks', () => {
  it('says how each hook ran, a timeout as such', () => {
    expect(formatHooks([{ stage: 'preSwitch', name: 'smoke', exitCode: 3 }, { stage: 'postDeploy', name: 'notify', exitCode: null }])).toBe('preSwitch smoke: exit 3; postDeploy notify: timed out');
  });
});
