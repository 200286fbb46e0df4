/** The pure release rules (src/releases.ts), by exact equality. */
import { describe, expect, it } from 'vitest';
import { parseDeploySpec } from '../../src/config/load';
import { ConfigError } from '../../src/errors';
import { addRelease, canonicalJson, envNamesOf, fastRollbackProblem, fastRollbackSpec, findRelease, imagesOf, imagesToPrune, releaseDraft, type Release, type ReleaseDraft, type ReleaseStoreState } from '../../src/releases';
import { releaseLines } from '../../src/cli/commands/releases';
import { specHashOf } from '../../activities/releases';

const spec = parseDeploySpec({
  app: 'rel-unit',
  services: {
    web: { image: 'web:v2', port: 8080, hostPorts: { blue: 5980, green: 5981 }, env: { ZED: 'z', API_URL: 'http://x' }, secrets: ['DB_PASSWORD', 'API_KEY'] },
    jobs: { image: 'jobs:v2' },
  },
});
const origin = { recordedAt: '2026-12-03T11:00:00.000Z', startedBy: '123@laptop', requestedBy: 'ci', deployWorkflowId: 'deploy-rel-unit', deployRunId: 'run-1', taskQueue: 'greenlight' };

function release(id: string, images: Record<string, [string, string | null]>): Release {
  const draft = releaseDraft(spec, {}, 'sha256:x', { ...origin, deployRunId: `run-${id}` });
  return { ...draft, id, images: Object.fromEntries(Object.entries(images).map(([s, [image, imageId]]) => [s, { image, imageId }])) };
}

describe('release record', () => {
  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"f":1}]},"b":1}');
  });

  it('the spec hash is the same whatever the key order', () => {
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as typeof spec;
    expect(specHashOf(reordered)).toBe(specHashOf(spec));
    expect(specHashOf(spec)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(specHashOf({ ...spec, app: 'other' })).not.toBe(specHashOf(spec));
  });

  it('env and secrets by name only, sorted', () => {
    expect(envNamesOf(spec)).toEqual({ web: { keys: ['API_URL', 'ZED'], secrets: ['API_KEY', 'DB_PASSWORD'] }, jobs: { keys: [], secrets: [] } });
  });

  it('the draft: images with their ids, the hash, the names, the origin and the spec', () => {
    const draft = releaseDraft(spec, { web: 'sha256:aaa' }, 'sha256:h', origin);
    expect({ ...draft, spec: undefined }).toEqual({
      app: 'rel-unit',
      images: { web: { image: 'web:v2', imageId: 'sha256:aaa' }, jobs: { image: 'jobs:v2', imageId: null } },
      specHash: 'sha256:h',
      env: { web: { keys: ['API_URL', 'ZED'], secrets: ['API_KEY', 'DB_PASSWORD'] }, jobs: { keys: [], secrets: [] } },
      ...origin,
      spec: undefined,
    });
    expect(draft.spec).toBe(spec);
  });
});

describe('release store', () => {
  const empty: ReleaseStoreState = { app: 'rel-unit', releases: [], next: 1 };
  const draft = (run: string): ReleaseDraft => releaseDraft(spec, {}, 'sha256:x', { ...origin, deployRunId: run });

  it('numbers in order, ignores a second record of a run, keeps the newest `kept`, never reuses a number', () => {
    let state = addRelease(empty, draft('a'), 2);
    state = addRelease(state, draft('b'), 2);
    expect(addRelease(state, draft('a'), 2)).toBe(state);
    state = addRelease(state, draft('c'), 2);
    expect(state.releases.map((r) => [r.id, r.deployRunId])).toEqual([
      ['r2', 'b'],
      ['r3', 'c'],
    ]);
    expect(state.next).toBe(4);
  });

  it('finds by id, latest and previous', () => {
    const releases = [release('r1', { web: ['web:v1', null] }), release('r2', { web: ['web:v2', null] })];
    expect(findRelease(releases, 'r1')?.id).toBe('r1');
    expect(findRelease(releases, 'latest')?.id).toBe('r2');
    expect(findRelease(releases, 'previous')?.id).toBe('r1');
    expect(findRelease(releases, 'r9')).toBeNull();
    expect(imagesOf(releases[0]!)).toEqual({ web: 'web:v1' });
  });
});

describe('retain: which images go', () => {
  const releases = [
    release('r1', { web: ['web:v1', 'sha256:1'], jobs: ['jobs:v1', 'sha256:j1'] }),
    release('r2', { web: ['web:v2', 'sha256:2'], jobs: ['jobs:v1', 'sha256:j1'] }),
    release('r3', { web: ['web:v3', 'sha256:3'], jobs: ['jobs:v3', 'sha256:j3'] }),
    release('r4', { web: ['web:v4', 'sha256:4'], jobs: ['jobs:v3', 'sha256:j3'] }),
  ];

  it.each([
    { retain: 2, inUse: [], pruned: ['jobs:v1', 'web:v1', 'web:v2'] },
    { retain: 3, inUse: [], pruned: ['web:v1'] },
    { retain: 4, inUse: [], pruned: [] },
    { retain: 9, inUse: [], pruned: [] },
    // A container (a stopped previous color, another app's) uses it, by reference or by id.
    { retain: 2, inUse: ['web:v2', 'sha256:j1'], pruned: ['web:v1'] },
    { retain: 1, inUse: ['web:v3'], pruned: ['jobs:v1', 'web:v1', 'web:v2'] },
  ])('retain $retain, containers use $inUse: $pruned', ({ retain, inUse, pruned }) => {
    expect(imagesToPrune(releases, retain, inUse)).toEqual(pruned);
  });

  it('an image a retained release names under another tag (same id) stays', () => {
    const retagged = [release('r1', { web: ['web:old', 'sha256:same'] }), release('r2', { web: ['web:new', 'sha256:same'] })];
    expect(imagesToPrune(retagged, 1, [])).toEqual([]);
  });
});

describe('rollback --fast: only to the kept previous color', () => {
  const r1 = release('r1', { web: ['web:v1', null], jobs: ['jobs:v1', null] });
  const r2 = release('r2', { web: ['web:v2', null], jobs: ['jobs:v2', null] });
  const r3 = release('r3', { web: ['web:v3', null], jobs: ['jobs:v3', null] });
  const list = [r1, r2, r3];
  const kept = { running: false, outcome: 'succeeded', previousImages: { web: 'web:v2', jobs: 'jobs:v2' } };
  const removed = { ...r3, spec: { ...r3.spec, cleanup: { ...r3.spec.cleanup, previous: 'remove' as const } } };

  it.each([
    { what: 'the previous release, kept', releases: list, target: r2, last: kept, problem: null },
    { what: 'the latest', releases: list, target: r3, last: kept, problem: 'r3 is the latest release: it is what serves' },
    { what: 'an older one', releases: list, target: r1, last: kept, problem: 'r1 is not the release of the previous color (r2 is)' },
    { what: 'no deploy on record', releases: list, target: r2, last: null, problem: 'no deploy of the app is on record any more to say which color is kept' },
    { what: 'a deploy running', releases: list, target: r2, last: { ...kept, running: true }, problem: 'a deploy of the app is running (`greenlight rollback APP` without --to rolls it back)' },
    { what: 'the last deploy rolled back', releases: list, target: r2, last: { ...kept, outcome: 'rolled-back' }, problem: 'the last deploy ended rolled-back, so the other color holds no kept release' },
    { what: 'cleanup removed it', releases: [r1, r2, removed], target: r2, last: kept, problem: "the latest release's cleanup.previous is remove: the previous color's containers are gone" },
    { what: 'other images kept', releases: list, target: r2, last: { ...kept, previousImages: { web: 'web:v9', jobs: 'jobs:v2' } }, problem: "the previous color runs web=web:v9, jobs=jobs:v2, not r2's images" },
    {
      what: 'its monitor rolled the last deploy back during the bake',
      releases: list,
      target: r2,
      last: { ...kept, bakeRollback: { at: '2026-12-04T19:00:00.000Z', from: 'green', to: 'blue' } },
      problem: "its monitor already rolled the last deploy back during the bake at 2026-12-04T19:00:00.000Z (green -> blue): r2's color serves",
    },
  ])('$what', ({ releases, target, last, problem }) => {
    expect(fastRollbackProblem(releases, target, last)).toBe(problem);
  });

  it('the fast spec: one healthy round, one verify round, no manual gate; everything else as released', () => {
    const fast = fastRollbackSpec({ ...spec, promotion: { ...spec.promotion, manual: true } });
    expect(fast).toEqual({ ...spec, health: { ...spec.health, successes: 1 }, verify: { ...spec.verify, window: 0 }, promotion: { ...spec.promotion, manual: false } });
  });
});

describe('greenlight releases: the table', () => {
  it('newest first, the latest marked, env by name, short ids and hash', () => {
    const r1 = { ...release('r1', { web: ['web:v1', 'sha256:0123456789abcdef'] }), specHash: 'sha256:fedcba9876543210', env: { web: { keys: ['API_URL'], secrets: ['DB_PASSWORD'] } } };
    const r2 = { ...release('r2', { web: ['web:v2', null] }), specHash: 'sha256:aaaaaaaaaaaaaaaa', env: { web: { keys: [], secrets: [] } }, requestedBy: null };
    expect(releaseLines([r1, r2])).toEqual([
      '* r2   2026-12-03T11:00:00.000Z  web=web:v2\n       spec aaaaaaaaaaaa, env (none)\n       by 123@laptop; deploy-rel-unit run run-r2',
      '  r1   2026-12-03T11:00:00.000Z  web=web:v1 (0123456789ab)\n       spec fedcba987654, env web.API_URL web.DB_PASSWORD (secret)\n       by 123@laptop, ci; deploy-rel-unit run run-r1',
    ]);
  });
});

describe('greenlight releases: after a bake rollback', () => {
  const r1 = release('r1', { web: ['web:v1', null] });
  const r2 = release('r2', { web: ['web:v2', null] });
  const r3 = release('r3', { web: ['web:v3', null] });
  const bake = { at: '2026-12-04T19:00:00.000Z', from: 'green', to: 'blue', reason: '3 failed rounds in a row during the bake: web: GET /health -> HTTP 503' };
  const marks = (lines: string[]) => lines.map((l) => l.slice(0, 6));

  it('the rolled-back latest is marked x with when and which way; * on the newest earlier release with the images that serve', () => {
    const lines = releaseLines([r1, r2, r3], { ...bake, images: { web: 'web:v2' } });
    expect(marks(lines)).toEqual(['x r3  ', '* r2  ', '  r1  ']);
    expect(lines[0]!.split('\n').at(-1)).toBe('       rolled back by its monitor during the bake at 2026-12-04T19:00:00.000Z (green -> blue): greenlight explain rel-unit');
    expect(lines[1]!.split('\n')).toHaveLength(3);
  });

  it('an earlier bake rollback left r1 serving under r2: * on r1, the images decide, not the order', () => {
    expect(marks(releaseLines([r1, r2, r3], { ...bake, images: { web: 'web:v1' } }))).toEqual(['x r3  ', '  r2  ', '* r1  ']);
  });

  it('no earlier release has the serving images (or they are not known): no * at all, rather than a wrong one', () => {
    expect(marks(releaseLines([r1, r2, r3], { ...bake, images: { web: 'web:v0' } }))).toEqual(['x r3  ', '  r2  ', '  r1  ']);
    expect(marks(releaseLines([r1, r2, r3], bake))).toEqual(['x r3  ', '  r2  ', '  r1  ']);
  });
});

describe('retain: the spec key', () => {
  const base = { app: 'rel-unit', services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 5980, green: 5981 } } } };
  it('absent by default; a whole number from 1 to 50', () => {
    expect(parseDeploySpec(base).retain).toBeUndefined();
    expect(parseDeploySpec({ ...base, retain: { releases: 5 } }).retain).toEqual({ releases: 5 });
  });
  it.each([
    [0, 'retain.releases: must be at least 1'],
    [51, 'retain.releases: must be at most 50'],
    [2.5, 'retain.releases: must be a whole number from 1 to 50'],
    ['5', 'retain.releases: must be a whole number from 1 to 50'],
  ])('retain.releases %j: %s', (releases, message) => {
    let error: unknown;
    try {
      parseDeploySpec({ ...base, retain: { releases } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.join('\n')).toContain(message);
  });
});
