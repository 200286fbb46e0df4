/**
 * The systemd unit for a fleet host's worker (examples/systemd/greenlight-worker@.service), parsed as
 * systemd reads it: the sections and keys that make it run `greenlight worker --host <instance>` in the
 * right environment, restart it, stop it within the worker's shutdown grace, and leave nginx serving. And
 * `systemd-analyze verify` where this machine has it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve(__dirname, '..', '..');
const UNIT_NAME = 'greenlight-worker@.service';
const UNIT_FILE = join(REPO, 'examples', 'systemd', UNIT_NAME);
const UNIT_TEXT = readFileSync(UNIT_FILE, 'utf8');

type Unit = Record<string, Record<string, string[]>>;

/** systemd's unit file syntax: [Section], Key=Value (a key may repeat), # and ; comments, trailing-backslash continuations. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | null = null;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = unit[header[1]!] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || !section) throw new Error(`line ${index + 1} is neither a section nor Key=Value inside one: ${line}`);
    (section[line.slice(0, eq).trim()] ??= []).push(line.slice(eq + 1).trim());
  }
  return unit;
}

/** A key's one value: systemd takes the last one of a repeated single-valued key; here it must be set exactly once. */
function only(unit: Unit, section: string, key: string): string {
  const values = unit[section]?.[key] ?? [];
  expect(values, `[${section}] ${key}`).toHaveLength(1);
  return values[0]!;
}

/** systemd time spans as the unit uses them: 30s, 1min, 500ms, or plain seconds. */
function seconds(span: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m)?$/.exec(span);
  if (!match) throw new Error(`not a time span: ${span}`);
  const value = Number(match[1]);
  return match[2] === 'ms' ? value / 1000 : match[2] === 'min' || match[2] === 'm' ? value * 60 : value;
}

/** The worker's shutdown grace (worker/worker.ts, shutdownGraceTime). */
const WORKER_SHUTDOWN_GRACE_S = 5;

const unit = parseUnit(UNIT_TEXT);

describe(`examples/systemd/${UNIT_NAME}`, () => {
  it('has the three sections, and only those', () => {
    expect(Object.keys(unit)).toEqual(['Unit', 'Service', 'Install']);
  });

  it('runs `greenlight worker --host <instance>`, the instance being the host name', () => {
    expect(only(unit, 'Service', 'ExecStart')).toBe('greenlight worker --host %i');
    expect(only(unit, 'Service', 'Type')).toBe('simple');
  });

  it("reads the host's environment file (Temporal, GREENLIGHT_HOME, DOCKER_HOST, secrets), with GREENLIGHT_HOME defaulting to its state directory", () => {
    expect(only(unit, 'Service', 'EnvironmentFile')).toBe('/etc/greenlight/%i.env');
    expect(only(unit, 'Service', 'Environment')).toBe('GREENLIGHT_HOME=/var/lib/greenlight/%i');
    expect(only(unit, 'Service', 'StateDirectory')).toBe('greenlight/%i');
    for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_API_KEY', 'GREENLIGHT_TASK_QUEUE', 'DOCKER_HOST', 'GREENLIGHT_HOME', 'GREENLIGHT_SECRETS']) {
      expect(UNIT_TEXT, `the comment on the env file names ${name}`).toContain(name);
    }
  });

  it('runs as a dedicated user in the docker group, not as root', () => {
    expect(only(unit, 'Service', 'User')).toBe('greenlight');
    expect(only(unit, 'Service', 'SupplementaryGroups')).toBe('docker');
    expect(UNIT_TEXT).toMatch(/useradd --system .*--groups docker greenlight/);
  });

  it('starts after Docker and the network, and always restarts', () => {
    expect(only(unit, 'Unit', 'After').split(/\s+/).sort()).toEqual(['docker.service', 'network-online.target']);
    expect(only(unit, 'Unit', 'Wants').split(/\s+/)).toContain('network-online.target');
    expect(only(unit, 'Service', 'Restart')).toBe('always');
    expect(only(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it("stops with SIGTERM and waits longer than the worker's shutdown grace; nginx outlives the worker", () => {
    expect(only(unit, 'Service', 'KillSignal')).toBe('SIGTERM');
    expect(seconds(only(unit, 'Service', 'TimeoutStopSec'))).toBeGreaterThan(WORKER_SHUTDOWN_GRACE_S);
    expect(readFileSync(join(REPO, 'worker', 'worker.ts'), 'utf8')).toContain(`shutdownGraceTime: '${WORKER_SHUTDOWN_GRACE_S}s'`);
    // The worker starts greenlight's nginx inside this unit's control group.
    expect(only(unit, 'Service', 'KillMode')).toBe('process');
  });

  it('logs `greenlight doctor` before each start without blocking it', () => {
    expect(only(unit, 'Service', 'ExecStartPre')).toBe('-greenlight doctor --host %i --pre-start');
  });
});

/**
 * systemd-analyze checks the unit as systemd would load it (an instance of the template), including
 * that the commands exist: on this machine `greenlight` is the checkout's bin/greenlight, not a bare name
 * in systemd's search path, so the copy it verifies names that.
 */
const systemdAnalyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
describe.skipIf(!systemdAnalyze)(systemdAnalyze ? 'systemd-analyze verify' : 'systemd-analyze verify: skipped, systemd-analyze is not installed on this machine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-systemd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the unit without an error or a warning', () => {
    const copy = join(dir, UNIT_NAME);
    writeFileSync(copy, UNIT_TEXT.replace(/^(Exec\w+=-?)greenlight /gm, `$1${join(REPO, 'bin', 'greenlight')} `));
    const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    const aboutThisUnit = `${verify.stdout}${verify.stderr}`.split('\n').filter((line) => line.includes('greenlight-worker@'));
    expect(aboutThisUnit, verify.stderr).toEqual([]);
    expect(verify.status, verify.stderr).toBe(0);
  });
});
