#!/usr/bin/env node
/**
 * `npm run build`: compiles the TypeScript of src/, workflows/, activities/, host/ and worker/ to
 * dist/ (CommonJS, one .js per .ts, the same layout as `tsc -p tsconfig.build.json`) and writes the
 * stamp bin/greenlight checks (scripts/dist-stamp.cjs). One build for both uses: scripts/up.sh runs it
 * so a checkout's CLI starts from compiled JavaScript, and `npm pack`'s prepack runs it (with --clean)
 * before bundling the workflows into the release tarball.
 *
 * Incremental: only sources whose content changed since the stamp are compiled again, and the outputs
 * of removed sources are deleted. With esbuild (in node_modules as tsx's own compiler) this is a
 * transpile per file in well under a second; without it, tsc. Neither checks types here: `npm run
 * typecheck` does (and `npm test`, CI).
 *
 *   node scripts/build.cjs           compile what changed
 *   node scripts/build.cjs --clean   remove dist/ and compile everything (the release build)
 *   node scripts/build.cjs --tsc     with tsc even where esbuild is installed (to compare the outputs)
 */
const { execFileSync } = require('node:child_process');
const { mkdirSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { STAMP, outputOf, readStamp, stampOf } = require('./dist-stamp.cjs');

const ROOT = join(__dirname, '..');
const DIST = join(ROOT, 'dist');
/** Written by `npm pack` (worker/bundle.ts) from the compiled workflows: stale once any of them changes. */
const WORKFLOW_BUNDLE = join(DIST, 'workflow-bundle.js');

function loadEsbuild(args) {
  if (args.includes('--tsc')) return null;
  try {
    return require(require.resolve('esbuild', { paths: [ROOT] }));
  } catch {
    return null;
  }
}

/** The sources to compile: every one on a clean build, else those whose content differs from the stamp. */
function changedSources(stamp, previous) {
  return Object.keys(stamp.files).filter((path) => path.endsWith('.ts') && (!previous || previous.files[path]?.sha256 !== stamp.files[path].sha256));
}

/** A change to the build's own inputs (tsconfig, this script) can change every output. */
function buildInputsChanged(stamp, previous) {
  return Object.keys(stamp.files).some((path) => !path.endsWith('.ts') && previous.files[path]?.sha256 !== stamp.files[path].sha256);
}

function compile(sources, esbuild) {
  if (esbuild) {
    esbuild.buildSync({
      entryPoints: sources.map((path) => join(ROOT, path)),
      outdir: DIST,
      outbase: ROOT,
      bundle: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      tsconfig: join(ROOT, 'tsconfig.json'),
      // import() of a relative module as require(), as tsc compiles it for CommonJS: the CLI loads each
      // command's modules lazily with import() (src/cli/cli.ts), and Node's ESM loader would find no
      // extensionless "./commands/status".
      supported: { 'dynamic-import': false },
      logLevel: 'warning',
    });
    return 'esbuild';
  }
  // tsc compiles the whole project (tsconfig.build.json); its build info keeps the next run short.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [ROOT] }), '-p', join(ROOT, 'tsconfig.build.json'), '--incremental', '--tsBuildInfoFile', join(DIST, '.tsbuildinfo')], { stdio: 'inherit' });
  return 'tsc';
}

function main(args) {
  const started = Date.now();
  const clean = args.includes('--clean');
  if (clean) rmSync(DIST, { recursive: true, force: true });
  const stamp = stampOf(ROOT);
  let previous = clean ? null : readStamp(ROOT);
  if (previous && buildInputsChanged(stamp, previous)) previous = null;
  const sources = changedSources(stamp, previous);
  const removed = previous ? Object.keys(previous.files).filter((path) => path.endsWith('.ts') && !stamp.files[path]) : [];
  const outputsChange = sources.length > 0 || removed.length > 0 || !previous;
  // Same content but new mtimes (a checkout, a touch): only the stamp is rewritten, so the launcher's
  // check is back to comparing stats instead of hashing those files at every start.
  if (!outputsChange && JSON.stringify(stamp) === JSON.stringify(previous)) return;
  let compiler = 'stamp only';
  if (outputsChange) {
    for (const path of removed) rmSync(join(ROOT, outputOf(path)), { force: true });
    // The workflow bundle is made from the compiled workflows: a rebuild would leave it stale.
    rmSync(WORKFLOW_BUNDLE, { force: true });
    mkdirSync(DIST, { recursive: true });
    if (sources.length > 0) compiler = compile(sources, loadEsbuild(args));
  }
  // The stamp last, atomically: an interrupted build leaves dist/ marked stale, never current.
  const tmp = join(ROOT, `${STAMP}.${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(stamp)}\n`);
  renameSync(tmp, join(ROOT, STAMP));
  const what = `${sources.length} of ${Object.keys(stamp.files).filter((path) => path.endsWith('.ts')).length} sources`;
  console.error(`greenlight: built ${what}${removed.length ? `, removed ${removed.length}` : ''} to dist/ (${compiler}, ${Date.now() - started} ms)`);
}

main(process.argv.slice(2));
