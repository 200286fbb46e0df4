// A validation command: greenlight runs it in a one-off container of the new image before deploying.
'use strict';
if (process.env.GL_SELFTEST === 'fail') {
  console.error('selftest: 1 of 12 checks failed: expected 200, got 500 (on purpose)');
  process.exit(1);
}
console.log('selftest: 12 of 12 checks passed');
