/**
 * bin/greenlight's choice (bin/launch.cjs) between dist/ and the sources, then the real launcher on a
 * copy of this checkout: `--help` from dist/ loads none of the heavy modules, and an edited source makes
 * it run the sources through tsx with a note on stderr instead of the stale compiled code.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface LaunchModule {
  launchPlan(root: string, env?: Record<string, string | undefined>): { run: 'dist' } | { run: 'source'; note: string | null };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { launchPlan } = require('../../bin/launch.cjs') as LaunchModule;
const REPO = resolve(__dirname, '..', '..');
const run = promisify(execFile);

describe('launchPlan', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'greenlight-launch-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('an installed package (no src/): dist/', () => {
    expect(launchPlan(root, {})).toEqual({ run: 'dist' });
  });

  it('a checkout with no build: the sources, with a note saying why', () => {
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    writeFileSync(join(root, 'src', 'cli', 'main.ts'), '');
    expect(launchPlan(root, {})).toEqual({ run: 'source', note: 'greenlight: note: no build in dist/: running the TypeScript sources through tsx (slower start); `npm run build` compiles them' });
  });

  it('GREENLIGHT_FROM_SOURCE=1: the sources, without a note', () => {
    expect(launchPlan(root, { GREENLIGHT_FROM_SOURCE: '1' })).toEqual({ run: 'source', note: null });
  });

  it('this checkout, built: dist/', async () => {
    await run(process.execPath, [join(REPO, 'scripts', 'build.cjs')]);
    expect(launchPlan(REPO, {})).toEqual({ run: 'dist' });
  });
});

describe('bin/greenlight on a copy of the checkout', () => {
  let copy: string;
  /** Prints the modules the process loaded, as JSON on the last stderr line. */
  let recorder: string;
  const greenlight = async (args: string[], preload: string[] = []) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [...preload, join(copy, 'bin', 'greenlight'), ...args], { env: { ...process.env, GREENLIGHT_FROM_SOURCE: '' } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    copy = mkdtempSync(join(tmpdir(), 'greenlight-checkout-'));
    for (const path of ['bin', 'scripts', 'src', 'workflows', 'activities', 'host', 'worker', 'tsconfig.json', 'tsconfig.build.json', 'package.json']) cpSync(join(REPO, path), join(copy, path), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
    recorder = join(copy, 'record-modules.cjs');
    writeFileSync(recorder, "process.on('exit', () => process.stderr.write(`\\n${JSON.stringify(Object.keys(require.cache))}\\n`));\n");
    await run(process.execPath, [join(copy, 'scripts', 'build.cjs')]);
  }, 60_000);
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('--help from dist/: answers, says nothing on stderr, and loads no Temporal SDK, zod, YAML parser or dockerode', async () => {
    const result = await greenlight(['--help'], ['--require', recorder]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: greenlight/);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const loaded = JSON.parse(lines[0]!) as string[];
    expect(loaded).toContain(join(copy, 'dist', 'src', 'cli', 'cli.js'));
    expect(loaded.filter((path) => /node_modules\/(@temporalio|zod|yaml|dockerode|tsx)\//.test(path))).toEqual([]);
  });

  it('--version prints the package version', async () => {
    const result = await greenlight(['--version']);
    expect(result).toEqual({ code: 0, stdout: `${(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version}\n`, stderr: '' });
  });

  it('a usage error from dist/: exit 2 without loading zod', async () => {
    const result = await greenlight(['status', 'Not-An-App'], ['--require', recorder]);
    expect(result.code).toBe(2);
    const loaded = JSON.parse(result.stderr.trim().split('\n').at(-1)!) as string[];
    expect(loaded.filter((path) => /node_modules\/(@temporalio|zod|yaml)\//.test(path))).toEqual([]);
  });

  it('a source edited since the build: the sources through tsx, with a one-line note; rebuilt: dist/ again', async () => {
    const format = join(copy, 'src', 'format.ts');
    writeFileSync(format, `${readFileSync(format, 'utf8')}\n// edited\n`);
    const stale = await greenlight(['--help']);
    expect(stale.code).toBe(0);
    expect(stale.stdout).toMatch(/^Usage: greenlight/);
    expect(stale.stderr).toBe('greenlight: note: src/format.ts changed since the last build: running the TypeScript sources through tsx (slower start); `npm run build` compiles them\n');
    const rebuilt = await run(process.execPath, [join(copy, 'scripts', 'build.cjs')]);
    expect(rebuilt.stderr).toMatch(/^greenlight: built 1 of \d+ sources to dist\/ \(esbuild, \d+ ms\)\n$/);
    expect((await greenlight(['--help'])).stderr).toBe('');
  });
});

