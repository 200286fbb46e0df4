/**
 * The kept logs of a failed deploy's new color: the pure bounds and choices (exact equality), the files
 * on a temporary GREENLIGHT_HOME, the keepFailedLogs activity over a fake Docker host (secrets redacted),
 * and `greenlight logs` reading them.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogActivities } from '../../activities/logs';
import { deploysToDrop, keptLogText, logFileNames, type KeptDeployLogs } from '../../host/builders/kept-logs';
import type { DockerHost } from '../../host/docker';
import { KeptLogs } from '../../host/kept-logs';
import { logs } from '../../src/cli/commands/logs';
import { exitCodeOf } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import { redactorFor } from '../../src/secrets';

const work = mkdtempSync(join(tmpdir(), 'greenlight-kept-logs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let folders = 0;
const freshRoot = () => join(work, `home-${++folders}`, 'logs');

describe('keptLogText: the end of the output that is kept', () => {
  it.each([
    { what: 'all of a short output', output: 'a\nb\nc\n', lines: 5, bytes: 100, kept: { text: 'a\nb\nc\n', lines: 3, truncated: false } },
    { what: 'nothing of an empty one', output: '', lines: 5, bytes: 100, kept: { text: '', lines: 0, truncated: false } },
    { what: 'the last lines beyond the line bound', output: '1\n2\n3\n4\n5\n6', lines: 3, bytes: 100, kept: { text: '4\n5\n6\n', lines: 3, truncated: true } },
    { what: 'whole last lines within the byte bound', output: 'aaaa\nbbbb\ncccc', lines: 10, bytes: 10, kept: { text: 'bbbb\ncccc\n', lines: 2, truncated: true } },
    { what: 'the end of one line longer than the byte bound', output: 'x\n0123456789', lines: 10, bytes: 4, kept: { text: '6789\n', lines: 1, truncated: true } },
    { what: 'no half character at a multi-byte cut', output: 'ééééé', lines: 10, bytes: 5, kept: { text: 'éé\n', lines: 1, truncated: true } },
  ])('$what', ({ output, lines, bytes, kept }) => {
    expect(keptLogText(output, lines, bytes)).toEqual(kept);
  });
});

describe('which files, which deploys', () => {
  it('one file per container, <service>.log; a second container of a service by its own name', () => {
    expect(logFileNames([{ service: 'web', container: 'shop_web_green' }, { service: 'api', container: 'shop_api_green' }, { service: 'web', container: 'shop-web-green' }])).toEqual(['web.log', 'api.log', 'shop-web-green.log']);
  });

  it('drops all but the newest `keep` deploys, by the time they were saved', () => {
    const saved = [
      { deployId: 'r-a', savedAt: '2026-12-03T10:00:00.000Z' },
      { deployId: 'r-b', savedAt: '2026-12-03T12:00:00.000Z' },
      { deployId: 'r-c', savedAt: '2026-12-03T11:00:00.000Z' },
      { deployId: 'r-d', savedAt: '2026-12-03T09:00:00.000Z' },
    ];
    expect(deploysToDrop(saved, 2)).toEqual(['r-a', 'r-d']);
    expect(deploysToDrop(saved, 10)).toEqual([]);
  });
});

const record = (deployId: string, savedAt: string): KeptDeployLogs => ({ app: 'lg-unit', deployId, color: 'green', savedAt, files: [{ service: 'web', container: 'lg-unit_web_green', file: 'web.log', lines: 1, bytes: 8, truncated: false }] });

describe('KeptLogs: the files on the host', () => {
  it('saves a deploy\'s files and record (the worker user\'s only), lists newest first, keeps the newest `keep`', async () => {
    const kept = new KeptLogs(freshRoot());
    for (const [i, id] of ['run-1', 'run-2', 'run-3'].entries()) await kept.save(record(id, `2026-12-03T1${i}:00:00.000Z`), [`line ${id}\n`], 2);
    expect((await kept.list('lg-unit')).map((d) => d.deployId)).toEqual(['run-3', 'run-2']);
    expect(readdirSync(join(kept.root, 'lg-unit')).sort()).toEqual(['run-2', 'run-3']);
    expect(readdirSync(kept.dirOf('lg-unit', 'run-3')).sort()).toEqual(['deploy.json', 'web.log']);
    expect(await kept.readFile('lg-unit', 'run-3', 'web.log')).toBe('line run-3\n');
    expect(await kept.read('lg-unit', 'run-3')).toEqual(record('run-3', '2026-12-03T12:00:00.000Z'));
    expect(statSync(join(kept.dirOf('lg-unit', 'run-3'), 'web.log')).mode & 0o777).toBe(0o600);
    expect(statSync(kept.dirOf('lg-unit', 'run-3')).mode & 0o777).toBe(0o700);
  });

  it('an id that is no run id names no folder (never a path)', async () => {
    const kept = new KeptLogs(freshRoot());
    expect(await kept.read('lg-unit', '../../etc')).toBeNull();
    expect(() => kept.dirOf('lg-unit', '../x')).toThrow(/is not a deploy's run id/);
    expect(await kept.list('lg-nothing')).toEqual([]);
  });
});

describe('keepFailedLogs (activity) over a fake Docker host', () => {
  const SECRET = 'hunter2-very-secret';
  const spec = parseDeploySpec({ app: 'lg-unit', services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 5910, green: 5911 } }, api: { image: 'api:v2', port: 8081, hostPorts: { blue: 5912, green: 5913 }, route: '/api' } } });
  const outputs: Record<string, string> = { 'lg-unit_api_green': `listening\nconnecting with ${SECRET}\nboom: db refused`, 'lg-unit_web_green': 'started' };
  const asked: Array<[string, number]> = [];
  const host = {
    appContainers: async (app: string, color: string) => ['api', 'web'].map((service) => ({ id: service, name: `${app}_${service}_${color}`, running: false, labels: { 'greenlight.service': service }, addresses: {} })),
    logTail: async (name: string, lines: number) => {
      asked.push([name, lines]);
      return outputs[name] ?? '';
    },
  } as unknown as DockerHost;

  it('saves each container\'s last 2,000 lines, secrets redacted, and returns only where and how much', async () => {
    const kept = new KeptLogs(freshRoot());
    const redact = redactorFor({ allowed: new Map([['DB_PASSWORD', SECRET]]) });
    const { keepFailedLogs } = createLogActivities({ host, redact, logs: kept, now: () => new Date('2026-12-03T15:00:00.000Z') });
    const report = await keepFailedLogs(spec, 'green', 'run-42');
    const dir = kept.dirOf('lg-unit', 'run-42');
    expect(report).toEqual({ host: null, dir, files: [{ service: 'api', file: 'api.log', lines: 3, truncated: false }, { service: 'web', file: 'web.log', lines: 1, truncated: false }] });
    expect(asked).toEqual([['lg-unit_api_green', 2000], ['lg-unit_web_green', 2000]]);
    expect(readFileSync(join(dir, 'api.log'), 'utf8')).toBe('listening\nconnecting with [redacted:DB_PASSWORD]\nboom: db refused\n');
    expect(JSON.stringify(report)).not.toContain(SECRET);
    expect(await kept.read('lg-unit', 'run-42')).toEqual({
      app: 'lg-unit',
      deployId: 'run-42',
      color: 'green',
      savedAt: '2026-12-03T15:00:00.000Z',
      files: [
        { service: 'api', container: 'lg-unit_api_green', file: 'api.log', lines: 3, bytes: 66, truncated: false },
        { service: 'web', container: 'lg-unit_web_green', file: 'web.log', lines: 1, bytes: 8, truncated: false },
      ],
    });
  });
});

describe('greenlight logs', () => {
  async function run(kept: KeptLogs, deployId?: string, json = false) {
    const lines: string[] = [];
    const outcome = await logs('lg-unit', { deployId, json, out: (l) => lines.push(l), logs: async () => kept });
    return { outcome, code: exitCodeOf(outcome), lines };
  }
  const two = async () => {
    const kept = new KeptLogs(freshRoot());
    await kept.save(record('run-1', '2026-12-03T10:00:00.000Z'), ['first\n']);
    await kept.save({ ...record('run-2', '2026-12-03T11:00:00.000Z'), files: [{ service: 'web', container: 'lg-unit_web_green', file: 'web.log', lines: 2000, bytes: 9, truncated: true }] }, ['a\nsecond\n']);
    return kept;
  };

  it('prints the latest kept deploy\'s logs, naming the others', async () => {
    const kept = await two();
    expect(await run(kept)).toEqual({
      outcome: 'done',
      code: 0,
      lines: [
        `logs of lg-unit's failed green color, deploy run-2, kept 2026-12-03T11:00:00.000Z in ${kept.dirOf('lg-unit', 'run-2')}`,
        'also kept: run-1 (2026-12-03T10:00:00.000Z) (greenlight logs lg-unit --deploy ID)',
        '==> web: lg-unit_web_green, 2000 lines, earlier output not kept <==',
        'a\nsecond',
      ],
    });
  });

  it('--deploy picks one; --json has the record, each file\'s path and text', async () => {
    const kept = await two();
    const { outcome, lines } = await run(kept, 'run-1', true);
    expect(outcome).toBe('done');
    const dir = kept.dirOf('lg-unit', 'run-1');
    expect(JSON.parse(lines.join('\n'))).toEqual({ ...record('run-1', '2026-12-03T10:00:00.000Z'), dir, files: [{ ...record('run-1', '').files[0], path: `${dir}/web.log`, text: 'first\n' }] });
  });

  it('an unknown deploy: exit 2, listing the kept ones; none kept for the app: exit 2, saying where it looked', async () => {
    const kept = await two();
    expect(await run(kept, 'run-9')).toEqual({ outcome: 'unknown-deploy', code: 2, lines: ['no logs of deploy run-9 of lg-unit are kept on this host: kept are run-2 (2026-12-03T11:00:00.000Z), run-1 (2026-12-03T10:00:00.000Z); pass one of them to --deploy (greenlight history lg-unit shows the run ids)'] });
    const empty = new KeptLogs(freshRoot());
    const none = await run(empty);
    expect(none.outcome).toBe('unknown-app');
    expect(none.code).toBe(2);
    expect(none.lines).toEqual([`no logs of a failed deploy of lg-unit are kept on this host (in ${empty.root}): they are kept when a deploy rolls back after starting its new color; run this on the Docker host, as the worker's user (GREENLIGHT_HOME as the worker has it), or check the app name`]);
  });
});
