/**
 * scripts/dist-stamp.cjs: whether dist/ is the compiled form of the sources as they are now, which
 * bin/greenlight asks at every start. On a throwaway tree: each way of going stale, and the ways of
 * staying current (a touch that keeps the content).
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

interface DistStampModule {
  STAMP: string;
  listSources(root: string): string[];
  stampOf(root: string): { version: number; files: Record<string, { size: number; mtimeMs: number; sha256: string }> };
  distState(root: string): { current: true } | { current: false; reason: string };
  outputOf(path: string): string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { STAMP, distState, listSources, outputOf, stampOf } = require('../../scripts/dist-stamp.cjs') as DistStampModule;

let root: string;
const write = (path: string, text: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
};
/** What scripts/build.cjs leaves: an output per source and the stamp. */
const build = () => {
  for (const path of listSources(root)) write(outputOf(path), '"use strict";\n');
  write(STAMP, JSON.stringify(stampOf(root)));
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'greenlight-stamp-'));
  write('src/cli/main.ts', 'export {};\n');
  write('workflows/index.ts', 'export const a = 1;\n');
  write('host/types.d.ts', 'export type T = 1;\n');
  write('tsconfig.json', '{}\n');
  // An hour old, as sources are: an edit in the same clock tick as their creation would keep the mtime.
  const hourAgo = new Date(Date.now() - 3_600_000);
  for (const path of ['src/cli/main.ts', 'workflows/index.ts', 'tsconfig.json']) utimesSync(join(root, path), hourAgo, hourAgo);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('dist stamp', () => {
  it('lists the compiled folders\' .ts sources, sorted, without declaration files', () => {
    write('test/unit/x.test.ts', '');
    write('src/a.ts', '');
    expect(listSources(root)).toEqual(['src/a.ts', 'src/cli/main.ts', 'workflows/index.ts']);
  });

  it('no build yet: stale', () => {
    expect(distState(root)).toEqual({ current: false, reason: 'no build in dist/' });
  });

  it('right after a build: current', () => {
    build();
    expect(distState(root)).toEqual({ current: true });
  });

  it('a source touched but unchanged (a checkout, an editor saving as it was): still current, by its hash', () => {
    build();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'src/cli/main.ts'), later, later);
    expect(distState(root)).toEqual({ current: true });
  });

  it.each([
    ['a source edited', () => write('src/cli/main.ts', 'export const edited = true;\n'), 'src/cli/main.ts changed since the last build'],
    ['a source edited to the same size', () => write('workflows/index.ts', 'export const b = 1;\n'), 'workflows/index.ts changed since the last build'],
    ['a new source', () => write('src/new.ts', ''), 'src/new.ts is new since the last build'],
    ['a source removed', () => rmSync(join(root, 'workflows/index.ts')), 'workflows/index.ts was removed since the last build'],
    ['an output deleted', () => rmSync(join(root, 'dist/src/cli/main.js')), 'dist/src/cli/main.js is missing'],
    ['the build config changed', () => write('tsconfig.json', '{ "compilerOptions": {} }\n'), 'tsconfig.json changed since the last build'],
    ['a stamp of another format', () => write(STAMP, JSON.stringify({ version: 0, files: {} })), 'no build in dist/'],
  ])('%s: stale, saying which', (_, change, reason) => {
    build();
    change();
    expect(distState(root)).toEqual({ current: false, reason });
  });
});
