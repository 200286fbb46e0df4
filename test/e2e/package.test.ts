/**
 * Installing on a host is real: `npm pack` of this checkout, `npm install -g` of the tarball into a
 * throwaway prefix (from the npm registry), then the installed `greenlight` run from an empty folder,
 * with no tsx, no TypeScript and no checkout to lean on: --help, schema, and `greenlight worker` against
 * the dev server, which must load the workflows from the prebuilt bundle (no webpack on the host).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, TEMPORAL_ADDRESS } from '../../harness/paths';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

let root: string;
let prefix: string;
/** Where npm put the installed package: <prefix>/lib/node_modules/greenlight. */
let installed: string;
/** An empty folder the installed commands run in, so nothing resolves from the checkout. */
let empty: string;
let home: string;
let packed: PackResult;
let worker: ChildProcess | undefined;

const PAYLOAD_KEYS = `k1:${randomBytes(32).toString('base64')}`;

/**
 * The environment of an operator's shell on the host: the dev server's address, and none of the
 * checkout's own settings (a test bundle, loaders, module paths) that could stand in for the package's.
 */
function hostEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const PATH = (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('node_modules')).join(':');
  // The operator's own payload key (the throwaway GREENLIGHT_HOME has no key file).
  const env: NodeJS.ProcessEnv = { ...process.env, PATH, TEMPORAL_ADDRESS, GREENLIGHT_HOME: home, GREENLIGHT_PAYLOAD_KEYS: PAYLOAD_KEYS, ...extra };
  for (const name of ['GREENLIGHT_WORKFLOW_BUNDLE', 'NODE_OPTIONS', 'NODE_PATH']) delete env[name];
  return env;
}

const greenlight = (...args: string[]) => run(join(prefix, 'bin', 'greenlight'), args, { cwd: empty, env: hostEnv(), timeout: 30_000 });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'greenlight-package-'));
  prefix = join(root, 'prefix');
  empty = join(root, 'empty');
  home = join(root, 'home');
  for (const dir of [join(root, 'pack'), prefix, empty]) mkdirSync(dir, { recursive: true });
  // prepack runs scripts/build.cjs --clean (dist/) and bundles the compiled workflows into dist/.
  const pack = await run('npm', ['pack', '--json', '--pack-destination', join(root, 'pack')], { cwd: REPO, timeout: 300_000, maxBuffer: 64 * 2 ** 20 });
  // npm prints the scripts' output before the JSON array on stdout.
  packed = (JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as PackResult[])[0];
  const tarball = join(root, 'pack', packed.filename);
  await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: empty, timeout: 300_000 });
  installed = join(prefix, 'lib', 'node_modules', 'greenlight');
}, 600_000);

/** Stops an nginx by its pid file (SIGQUIT, a graceful stop) and waits until it is gone. */
async function stopNginx(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGQUIT');
  await waitFor(`nginx ${pid} to stop`, () => expect(alive()).toBe(false), { timeout: 10_000, interval: 100 });
}

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    worker.kill('SIGKILL');
    await new Promise((r) => worker?.once('exit', r));
  }
  // The worker started an nginx of its own under the throwaway GREENLIGHT_HOME.
  if (home) await stopNginx(join(home, 'nginx', 'nginx.pid'));
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the npm package installed on a host', () => {
  it('holds the compiled code, the prebuilt workflow bundle and the launcher, and no TypeScript sources', () => {
    const paths = packed.files.map((f) => f.path);
    console.log(`greenlight package: ${packed.filename}, ${(packed.size / 2 ** 20).toFixed(2)} MiB packed, ${(packed.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked, ${paths.length} files`);
    expect(paths).toEqual(expect.arrayContaining(['bin/greenlight', 'bin/launch.cjs', 'dist/src/cli/main.js', 'dist/worker/main.js', 'dist/workflows/index.js', 'dist/workflow-bundle.js', 'package.json', 'README.md']));
    expect(paths.filter((p) => p.endsWith('.ts') || /^(src|workflows|activities|host|worker|harness|test|bench|scripts)\//.test(p))).toEqual([]);
    // Nothing at run time needs tsx: it is no dependency of the installed package.
    expect(() => createRequire(join(installed, 'package.json')).resolve('tsx')).toThrow(/Cannot find module/);
  });

  it("loads the Temporal SDK's native core bridge, the prebuilt binary inside the installed package", async () => {
    const probe = `
      const { dirname, join } = require('node:path');
      const sdk = dirname(require.resolve('@temporalio/worker/package.json', { paths: [process.argv[1]] }));
      const bridge = dirname(require.resolve('@temporalio/core-bridge/package.json', { paths: [sdk] }));
      const { native } = require(bridge);
      console.log(JSON.stringify({ binary: require(join(bridge, 'common.js')).getPrebuiltPath(), functions: Object.keys(native).length }));`;
    const { stdout } = await run(process.execPath, ['-e', probe, installed], { cwd: empty, env: hostEnv(), timeout: 30_000 });
    const { binary, functions } = JSON.parse(stdout) as { binary: string; functions: number };
    expect(binary.startsWith(`${installed}/node_modules/`)).toBe(true);
    expect(binary).toMatch(/releases\/[^/]+\/index\.node$/);
    expect(functions).toBeGreaterThan(0);
  });

  it('greenlight --help exits 0 from an empty folder', async () => {
    const { stdout } = await greenlight('--help');
    expect(stdout).toContain('Usage: greenlight');
    expect(stdout).toContain('Exit codes:');
  });

  it('greenlight schema prints the checked-in JSON Schema', async () => {
    const { stdout } = await greenlight('schema');
    expect(JSON.parse(stdout)).toEqual(JSON.parse(readFileSync(join(REPO, 'examples', 'greenlight.schema.json'), 'utf8')));
  });

  it('greenlight worker starts from the prebuilt bundle (no webpack) and stops cleanly on SIGTERM', async () => {
    const queue = `e2e-package-${process.pid}-${Date.now()}`;
    worker = spawn(join(prefix, 'bin', 'greenlight'), ['worker'], { cwd: empty, env: hostEnv({ GREENLIGHT_TASK_QUEUE: queue }), stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    worker.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    worker.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => worker?.once('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(
      'the installed worker to poll its task queue',
      () => {
        if (worker?.exitCode !== null) throw new Error(`it exited (${worker?.exitCode}): ${log}`);
        if (!log.includes(`greenlight worker: task queue "${queue}"`) || !/Worker state changed[\s\S]*?state: 'RUNNING'/.test(log)) throw new Error(`not running yet: ${log.trim().split('\n').slice(-5).join(' | ') || '(no output)'}`);
      },
      { timeout: 60_000, interval: 200 },
    );
    // A few seconds of polling, as a host's worker would.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(worker.exitCode).toBeNull();
    expect(log).toContain(`greenlight worker: workflows from the prebuilt bundle ${join(installed, 'dist', 'workflow-bundle.js')}`);
    // The SDK's bundler logs this whenever it runs webpack.
    expect(log).not.toContain('Workflow bundle created');
    expect(log).not.toContain('bundling the workflows from source');
    // Its nginx runs under the GREENLIGHT_HOME it was given.
    expect(existsSync(join(home, 'nginx', 'nginx.pid'))).toBe(true);

    worker.kill('SIGTERM');
    const escalate = setTimeout(() => worker?.kill('SIGKILL'), 20_000);
    const { code, signal } = await exited.finally(() => clearTimeout(escalate));
    expect({ code, signal }, log).toEqual({ code: 0, signal: null });
  }, 120_000);
});
