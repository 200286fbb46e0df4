/**
 * Whether dist/ holds the compiled form of the TypeScript sources as they are now. scripts/build.cjs
 * writes the stamp (dist/.build-stamp.json) after a build: size, mtime and SHA-256 of every source and
 * of what shapes the output (the tsconfigs, the build script). bin/greenlight reads it at every start,
 * so the check must cost about a millisecond: it only stats the files, and hashes one only when its
 * size and mtime no longer match (a checkout or `touch` that left the content as it was).
 */
const { existsSync, readFileSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

/** The folders compiled to dist/ (tsconfig.build.json `include`). */
const SOURCE_DIRS = ['src', 'workflows', 'activities', 'host', 'worker'];
/** Files outside SOURCE_DIRS whose change changes the output. */
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.cjs'];
const STAMP = join('dist', '.build-stamp.json');
const STAMP_VERSION = 1;

/** The TypeScript sources under `root`, as sorted repo-relative paths with forward slashes. */
function listSources(root) {
  const found = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
    } catch (err) {
      if (err.code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  return found.sort();
}

/** Every input of the build: the sources, then the build's own inputs that exist. */
function listInputs(root) {
  return [...listSources(root), ...BUILD_INPUTS.filter((path) => existsSync(join(root, path)))];
}

function sha256(root, path) {
  // Required here: the launcher's usual check hashes nothing, and node:crypto costs milliseconds to load.
  const { createHash } = require('node:crypto');
  return createHash('sha256').update(readFileSync(join(root, path))).digest('hex');
}

/** What the stamp records of one file. */
function describe(root, path) {
  const stat = statSync(join(root, path));
  return { size: stat.size, mtimeMs: stat.mtimeMs, sha256: sha256(root, path) };
}

/** The stamp of the inputs as they are now: what build.cjs writes after compiling them. */
function stampOf(root) {
  return { version: STAMP_VERSION, files: Object.fromEntries(listInputs(root).map((path) => [path, describe(root, path)])) };
}

function readStamp(root) {
  try {
    const stamp = JSON.parse(readFileSync(join(root, STAMP), 'utf8'));
    return stamp && stamp.version === STAMP_VERSION && stamp.files ? stamp : null;
  } catch {
    return null;
  }
}

/** Whether one input is as the stamp recorded it: same size and mtime, or failing that the same content. */
function unchanged(root, path, recorded) {
  let stat;
  try {
    stat = statSync(join(root, path));
  } catch {
    return false;
  }
  if (stat.size !== recorded.size) return false;
  if (stat.mtimeMs === recorded.mtimeMs) return true;
  return sha256(root, path) === recorded.sha256;
}

/**
 * Is dist/ current? `{ current: true }`, or `{ current: false, reason }` naming the first difference
 * found (for the launcher's one-line note): no build, a changed, new or removed source.
 */
function distState(root) {
  const stamp = readStamp(root);
  if (!stamp) return { current: false, reason: 'no build in dist/' };
  const inputs = listInputs(root);
  for (const path of inputs) {
    const recorded = stamp.files[path];
    if (!recorded) return { current: false, reason: `${path} is new since the last build` };
    if (!unchanged(root, path, recorded)) return { current: false, reason: `${path} changed since the last build` };
    if (path.endsWith('.ts') && !existsSync(join(root, outputOf(path)))) return { current: false, reason: `${outputOf(path)} is missing` };
  }
  if (inputs.length !== Object.keys(stamp.files).length) {
    const removed = Object.keys(stamp.files).find((path) => !inputs.includes(path));
    return { current: false, reason: `${removed} was removed since the last build` };
  }
  return { current: true };
}

/** The compiled file of a source: src/cli/main.ts -> dist/src/cli/main.js. */
function outputOf(path) {
  return join('dist', path.replace(/\.ts$/, '.js'));
}

module.exports = { STAMP, listSources, stampOf, readStamp, distState, outputOf };
