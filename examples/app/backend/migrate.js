// One-off migration command, run in a container of the NEW image before traffic moves to it:
//   node /app/migrate.js           applies this image's migrations that are not applied yet
//   node /app/migrate.js --check   no database: checks they are expand-only and prints the plan
// Exits 0 when the schema is at (or beyond) this image's level, 1 otherwise. Safe to run again and
// concurrently: an advisory lock serializes runners, applied migrations are recorded in
// schema_migrations, and every statement is idempotent (IF NOT EXISTS, ON CONFLICT DO NOTHING).
// The app never migrates at startup: greenlight runs this as a step before the switch.
'use strict';
const { MIGRATIONS, schemaLevel, migrationsUpTo, checkExpandOnly, sqlOf, label } = require('./migrations');

const LOCK_KEY = 7_007_001; // pg_advisory_lock key: one migration runner at a time per database
const LOCK_TIMEOUT = '5s'; // give up an ALTER that waits behind live traffic rather than queue it
const LOCK_RETRIES = 5;

const log = (message) => console.log(`migrate: ${message}`);

async function applyOne(client, migration, appliedBy) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.query('BEGIN');
      for (const statement of migration.statements) {
        const params = typeof statement === 'string' || !statement.params ? [] : await statement.params();
        await client.query(sqlOf(statement), params);
      }
      await client.query('INSERT INTO schema_migrations (id, name, applied_by) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [
        migration.id,
        migration.name,
        appliedBy,
      ]);
      await client.query('COMMIT');
      return;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // 55P03 lock_not_available: the table is busy; an ALTER waiting for its lock would block every
      // query queued behind it, so give up quickly and try again.
      if (err.code === '55P03' && attempt < LOCK_RETRIES) {
        log(`${label(migration)}: table busy (lock_timeout ${LOCK_TIMEOUT}), retrying (${attempt}/${LOCK_RETRIES - 1})`);
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      throw err;
    }
  }
}

async function migrate(level) {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const { Client } = require('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'shop-migrate' });
  await client.connect();
  try {
    await client.query(`SET lock_timeout = '${LOCK_TIMEOUT}'`);
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      applied_by text
    )`);
    const applied = new Set((await client.query('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
    const appliedBy = [process.env.APP_VERSION || 'dev', process.env.GREENLIGHT_COLOR].filter(Boolean).join('/');
    let count = 0;
    for (const migration of migrationsUpTo(level)) {
      if (applied.has(migration.id)) {
        log(`${label(migration)}: already applied`);
        continue;
      }
      const started = Date.now();
      await applyOne(client, migration, appliedBy);
      count += 1;
      log(`${label(migration)}: applied in ${Date.now() - started} ms`);
    }
    const newer = [...applied].filter((id) => id > level).sort((a, b) => a - b);
    if (newer.length) log(`the database also has newer migrations (${newer.join(', ')}): fine, they are expand-only`);
    const now = [...applied, ...migrationsUpTo(level).map((m) => m.id)];
    log(`schema at ${Math.max(...now)} (this image needs ${level}), ${count} applied now`);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function main() {
  const level = schemaLevel();
  const problems = checkExpandOnly(migrationsUpTo(level));
  if (problems.length) {
    for (const p of problems) log(`not expand-only: ${p}`);
    return 1;
  }
  if (process.argv.includes('--check')) {
    for (const m of migrationsUpTo(level)) log(`${label(m)}: ${m.statements.length} statement(s), expand-only`);
    log(`${migrationsUpTo(level).length} of ${MIGRATIONS.length} known migrations in this image (level ${level}): ok`);
    return 0;
  }
  await migrate(level);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`failed: ${err.message}${err.code ? ` (${err.code})` : ''}`);
    process.exit(1);
  },
);
