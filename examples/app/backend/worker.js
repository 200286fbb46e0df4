// The example worker: a background job runner with no port, run as a singleton (`overlap: false`). It
// holds a PostgreSQL advisory lock while it runs jobs, and records each period it held it in the
// worker_holds table (the database's own clock), so a test can check that two never overlapped and
// measure the gap of a handover. On SIGTERM it finishes the job it is on, releases the lock and exits.
//
//   DATABASE_URL    required
//   GL_LOCK_KEY     advisory lock key (default 4242)
//   GL_JOB_MS       length of one job (default 200)
//   GL_BEHAVIOR     ok | crash (exits 2 s after taking the lock: a worker that never gets healthy)
const fs = require('node:fs');
const { Client } = require('pg');

const app = process.env.GREENLIGHT_APP || 'shop';
const color = process.env.GREENLIGHT_COLOR || 'none';
const version = process.env.APP_VERSION || 'dev';
const lockKey = Number(process.env.GL_LOCK_KEY || 4242);
const jobMs = Number(process.env.GL_JOB_MS || 200);
const behavior = process.env.GL_BEHAVIOR || 'ok';
// The image's HEALTHCHECK (worker-health.js) reads this file: present while the lock is held.
const HEALTHY = '/tmp/worker-holds-lock';

const log = (message) => console.log(`${new Date().toISOString()} worker ${version} ${color}: ${message}`);

async function main() {
  const db = new Client({ connectionString: process.env.DATABASE_URL, application_name: `greenlight-worker ${app} ${color}` });
  await db.connect();
  await db.query(`CREATE TABLE IF NOT EXISTS worker_holds (
    id bigserial PRIMARY KEY, app text NOT NULL, color text NOT NULL, version text NOT NULL, host text NOT NULL,
    lock_was_free boolean NOT NULL, acquired_at timestamptz NOT NULL, released_at timestamptz, jobs integer NOT NULL DEFAULT 0)`);
  // A singleton never waits for the lock: finding it taken means two run at once, which is recorded.
  const free = (await db.query('SELECT pg_try_advisory_lock($1) AS got', [lockKey])).rows[0].got;
  if (!free) await db.query('SELECT pg_advisory_lock($1)', [lockKey]);
  const hold = (
    await db.query('INSERT INTO worker_holds (app, color, version, host, lock_was_free, acquired_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp()) RETURNING id', [app, color, version, require('node:os').hostname(), free])
  ).rows[0].id;
  fs.writeFileSync(HEALTHY, String(hold));
  log(`holds lock ${lockKey}${free ? '' : ' (it was taken: another worker ran)'}; hold ${hold}`);

  let stopping = false;
  process.on('SIGTERM', () => {
    log('SIGTERM: finishing the current job');
    stopping = true;
  });
  if (behavior === 'crash') setTimeout(() => process.exit(3), 2_000);
  let jobs = 0;
  while (!stopping) {
    await new Promise((resolve) => setTimeout(resolve, jobMs)); // one job
    jobs += 1;
    if (jobs % 10 === 0) await db.query('UPDATE worker_holds SET jobs = $2 WHERE id = $1', [hold, jobs]);
  }
  fs.rmSync(HEALTHY, { force: true });
  // Released at the database's clock, in the same statement that ends the hold.
  await db.query('UPDATE worker_holds SET jobs = $2, released_at = clock_timestamp() WHERE id = $1', [hold, jobs]);
  await db.query('SELECT pg_advisory_unlock($1)', [lockKey]);
  await db.end();
  log(`released lock ${lockKey} after ${jobs} jobs`);
}

main().catch((err) => {
  log(`failed: ${err.message}`);
  process.exit(1);
});
