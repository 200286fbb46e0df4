import { describe, expect, it } from 'vitest';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import { envChange, formatPlan, hostPlan, lineDiff, plan, planSummary, servicePlan, strayContainers, SUMMARY_LINES, type HostState, type LabelledContainer } from '../../host/builders/plan';
import { deployStartOptions } from '../../src/deploy-start';

const specOf = (over: Partial<DeploySpecInput> = {}, backend: Record<string, unknown> = {}) =>
  parseDeploySpec({ app: 'shop', services: { backend: { image: 'shop-backend:v1', port: 4000, hostPorts: { blue: 4100, green: 4102 }, env: { A: '1', DB_URL: 'postgres://u:hunter2@db' }, ...backend } }, ...over });

const state = (over: Partial<HostState> = {}): HostState => ({ liveColor: 'blue', containers: [], liveConfig: 'same', renderedLive: 'same', renderedNext: 'same', missingImages: [], ...over });
const container = (name: string, running = true, role = 'app'): LabelledContainer => ({ name, running, image: 'shop-backend:v1', labels: { 'greenlight.role': role } });

describe('envChange', () => {
  it.each([
    [{}, {}, { added: [], removed: [], changed: [] }],
    [{ A: '1' }, { A: '1' }, { added: [], removed: [], changed: [] }],
    [{ A: '1', B: '2' }, { A: '3', C: '4' }, { added: ['C'], removed: ['B'], changed: ['A'] }],
  ])('%j -> %j', (from, to, expected) => expect(envChange(from, to)).toEqual(expected));
});

describe('lineDiff', () => {
  it('is empty for equal texts', () => expect(lineDiff('a\nb', 'a\nb')).toEqual([]));
  it('marks changed lines with one line of context', () => {
    expect(lineDiff('a\nb\nc\nd\ne\nf', 'a\nb\nX\nd\ne\nf')).toEqual(['  b', '- c', '+ X', '  d']);
  });
  it('separates distant runs with @@', () => {
    expect(lineDiff('1\n2\n3\n4\n5\n6\n7', '0\n2\n3\n4\n5\n6\n8')).toEqual(['- 1', '+ 0', '  2', '@@', '  6', '- 7', '+ 8']);
  });
  it('shows a first config as all added', () => expect(lineDiff('', 'x\ny')).toEqual(['+ x', '+ y']));
});

describe('servicePlan', () => {
  const live = specOf().services.backend!;
  it('an unchanged service', () => expect(servicePlan('backend', live, live).change).toBe('unchanged'));
  it('a new image and env keys, by name', () => {
    const next = specOf({}, { image: 'shop-backend:v2', env: { A: '2', NEW: 'x' }, secrets: ['TOKEN'] }).services.backend!;
    expect(servicePlan('backend', live, next)).toEqual({
      service: 'backend',
      change: 'changed',
      image: { from: 'shop-backend:v1', to: 'shop-backend:v2' },
      env: { added: ['NEW'], removed: ['DB_URL'], changed: ['A'] },
      secrets: { added: ['TOKEN'], removed: [] },
      ports: null,
      settings: [],
    });
  });
  it('ports and health settings', () => {
    const next = specOf({}, { hostPorts: { blue: 4200, green: 4202 }, health: { endpoints: ['/ready'] } }).services.backend!;
    const p = servicePlan('backend', live, next);
    expect(p.ports).toEqual({ from: { port: 4000, hostPorts: { blue: 4100, green: 4102 } }, to: { port: 4000, hostPorts: { blue: 4200, green: 4202 } } });
    expect(p.settings).toEqual(['health']);
  });
  it('an added and a removed service', () => {
    expect(servicePlan('backend', undefined, live).change).toBe('added');
    expect(servicePlan('backend', live, undefined).change).toBe('removed');
  });
});

describe('strayContainers', () => {
  it('keeps only the containers no color of a service accounts for', () => {
    const found = [container('shop_backend_blue'), container('shop_backend_green', false), container('shop_old_blue'), container('shop.migrate', false, 'migrate'), container('intruder')];
    expect(strayContainers('shop', ['backend'], found).map((c) => c.name)).toEqual(['shop_old_blue', 'shop.migrate', 'intruder']);
  });
});

describe('hostPlan', () => {
  it('a first deploy: everything new, blue starts, nothing stops', () => {
    const p = hostPlan({ host: null, next: specOf(), live: null, state: state({ liveColor: null, liveConfig: null, renderedLive: null, renderedNext: 'new' }) });
    expect(p).toMatchObject({ changed: true, liveColor: null, targetColor: 'blue', start: ['shop_backend_blue'], stop: [], drift: [], route: ['+ new'] });
    expect(p.services[0]!.change).toBe('added');
  });
  it('no changes: nothing starts or stops', () => {
    const p = hostPlan({ host: null, next: specOf(), live: specOf(), state: state({ containers: [container('shop_backend_blue')] }) });
    expect(p).toMatchObject({ changed: false, targetColor: null, start: [], stop: [], route: [], settings: [], drift: [] });
  });
  it('a new image: the other color starts, the live one stops', () => {
    const p = hostPlan({ host: null, next: specOf({}, { image: 'shop-backend:v2' }), live: specOf(), state: state({ containers: [container('shop_backend_blue'), container('shop_backend_green', false)] }) });
    expect(p).toMatchObject({ changed: true, targetColor: 'green', start: ['shop_backend_green'], stop: ['shop_backend_blue'] });
  });
  it('cleanup.previous keep: the live color keeps running', () => {
    const p = hostPlan({ host: null, next: specOf({ cleanup: { previous: 'keep' } }, { image: 'shop-backend:v2' }), live: specOf(), state: state({ containers: [container('shop_backend_blue')] }) });
    expect(p.stop).toEqual([]);
    expect(p.settings).toEqual(['cleanup']);
  });
  it('drift: a stray container, an edited router config, a missing image', () => {
    const p = hostPlan({ host: null, next: specOf(), live: specOf(), state: state({ containers: [container('shop_backend_blue'), container('shop_stray_blue')], liveConfig: 'a\nedited', renderedLive: 'a\nb', renderedNext: 'a\nedited', missingImages: ['shop-backend:v1'] }) });
    expect(p.drift).toEqual([
      'container shop_stray_blue (running, shop-backend:v1) is labelled for shop but no color accounts for it',
      'the router config of shop differs from what greenlight rendered for blue:',
      '    a',
      '  - b',
      '  + edited',
      'image shop-backend:v1 is missing on the host',
    ]);
    expect(p.changed).toBe(false);
  });
  it('an unread (fleet) host: no drift or router diff, the recorded live color', () => {
    const p = hostPlan({ host: 'web-2', next: specOf({}, { image: 'shop-backend:v2' }), live: specOf(), state: null, liveColor: 'green' });
    expect(p).toMatchObject({ read: false, unread: null, liveColor: 'green', targetColor: 'blue', route: [], drift: [], start: ['shop_backend_blue'], stop: ['shop_backend_green'] });
  });
  it('a fleet host whose worker could not read it: why, and it says no drift was looked for there', () => {
    const why = 'web-2: no worker picked up its step within 5000 ms (fleet.hostTimeout)';
    const p = hostPlan({ host: 'web-2', next: specOf({}, { image: 'shop-backend:v2' }), live: specOf(), state: null, liveColor: 'green', readError: why });
    expect(p).toMatchObject({ read: false, unread: why, drift: [] });
    expect(formatPlan(plan('shop', false, [p])).find((l) => l.includes('live green'))).toBe(`    live green, would deploy blue (NOT READ: ${why}; no drift or router diff for this host)`);
    // A host that was read has no reason, whatever readError says.
    expect(hostPlan({ host: 'web-1', next: specOf(), live: specOf(), state: state(), readError: 'ignored' }).unread).toBeNull();
  });
});

describe('formatPlan', () => {
  it('prints names, never env values', () => {
    const next = specOf({}, { image: 'shop-backend:v2', env: { A: '1', DB_URL: 'postgres://u:s3cret-pw@db' } });
    const lines = formatPlan(plan('shop', false, [hostPlan({ host: null, next, live: specOf(), state: state() })]));
    expect(lines).toEqual([
      'shop: changes',
      '  live blue, would deploy green',
      '  service backend changed: image shop-backend:v1 -> shop-backend:v2',
      '    env changed: DB_URL',
      '  would start: shop_backend_green',
    ]);
    expect(lines.join('\n')).not.toMatch(/s3cret|hunter2/);
  });
});

describe('planSummary: what a deploy records in its Temporal UI details', () => {
  const unread = (next: ReturnType<typeof specOf>, live: ReturnType<typeof specOf> | null, host: string | null = null) => hostPlan({ host, next, live, state: null });

  it('per service the image, env and secret names, ports and settings; app settings; never a value', () => {
    const next = specOf({ verify: { window: '45s' } }, { image: 'shop-backend:v2', env: { DB_URL: 'postgres://u:s3cret-pw@db', NEW_FLAG: 'on' }, secrets: ['JWT_SECRET'], hostPorts: { blue: 4100, green: 4103 }, readTimeout: '30s' });
    const lines = planSummary(plan('shop', false, [unread(next, specOf())]));
    expect(lines).toEqual([
      'backend: image shop-backend:v1 -> shop-backend:v2',
      'backend: env added NEW_FLAG; env removed A; env changed DB_URL; secrets added JWT_SECRET',
      'backend: ports 4000 (blue 4100, green 4102) -> 4000 (blue 4100, green 4103)',
      'backend: settings changed: readTimeout',
      'app settings changed: verify',
    ]);
    expect(lines.join('\n')).not.toMatch(/s3cret|hunter2|on\b/);
  });

  it('a first deploy, a redeploy of the same spec, added and removed services', () => {
    expect(planSummary(plan('shop', true, [unread(specOf(), null)]))).toEqual(['first deploy of shop', 'backend: added, image shop-backend:v1', 'backend: env added A, DB_URL']);
    expect(planSummary(plan('shop', false, [unread(specOf(), specOf())]))).toEqual(['nothing changes against the live spec (the same spec deployed again)']);
    const two = parseDeploySpec({ app: 'shop', services: { backend: { image: 'shop-backend:v1', port: 4000, hostPorts: { blue: 4100, green: 4102 }, env: { A: '1', DB_URL: 'postgres://u:hunter2@db' } }, web: { image: 'shop-web:v1', port: 3000, hostPorts: { blue: 4200, green: 4202 }, route: '/web' } } });
    expect(planSummary(plan('shop', false, [unread(two, specOf())]))).toEqual(['web: added, image shop-web:v1']);
    expect(planSummary(plan('shop', false, [unread(specOf(), two)]))).toEqual(['web: removed (was shop-web:v1)']);
  });

  it('a fleet whose hosts change alike prints once; hosts that differ get their own lines', () => {
    const next = specOf({}, { image: 'shop-backend:v2' });
    expect(planSummary(plan('shop', false, [unread(next, specOf(), 'web-1'), unread(next, specOf(), 'web-2')]))).toEqual(['backend: image shop-backend:v1 -> shop-backend:v2']);
    const moved = specOf({}, { image: 'shop-backend:v2', hostPorts: { blue: 4300, green: 4302 } });
    expect(planSummary(plan('shop', false, [unread(next, specOf(), 'web-1'), unread(moved, specOf(), 'web-2')]))).toEqual([
      'host web-1: backend: image shop-backend:v1 -> shop-backend:v2',
      'host web-2: backend: image shop-backend:v1 -> shop-backend:v2',
      'host web-2: backend: ports 4000 (blue 4100, green 4102) -> 4000 (blue 4300, green 4302)',
    ]);
  });

  it(`at most ${SUMMARY_LINES} lines, the rest counted`, () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { image: `img-${i}:v1`, port: 4000, hostPorts: { blue: 6000 + 2 * i, green: 6001 + 2 * i }, route: `/s${i}` }]));
    const lines = planSummary(plan('shop', true, [unread(parseDeploySpec({ app: 'shop', services: many(40) }), null)]));
    expect(lines).toHaveLength(SUMMARY_LINES);
    expect(lines.at(-1)).toBe('… and 12 more (greenlight plan shows all)');
  });

  it("the deploy's static details list the changes under their own heading; without them, as before", () => {
    const spec = specOf({}, { image: 'shop-backend:v2' });
    const changes = planSummary(plan('shop', false, [unread(spec, specOf())]));
    expect(deployStartOptions({ spec, changes }).staticDetails.split('\n\n').at(-1)).toBe('Changes (names only, never values):\n- backend: image shop-backend:v1 -> shop-backend:v2');
    expect(deployStartOptions({ spec }).staticDetails).not.toContain('Changes');
  });
});
