// The schema, as an ordered list of expand-only migrations. Both colors share one database, and during
// a deploy (and after a rollback) the previous version keeps running on the schema the new version
// migrated to, so a migration may only ADD: new tables, new nullable (or defaulted) columns, new
// indexes, seed rows. Dropping, renaming or retyping something the running version uses is a
// "contract" step: it ships in a later release, once no running version needs the old shape.
//
// An image carries the migrations up to its own level (GL_SCHEMA_VERSION, from the SCHEMA_VERSION
// build arg): v1 knows 1, v2 and later know 1 and 2.
'use strict';
const { hashPassword } = require('./auth');

const MIGRATIONS = [
  {
    id: 1,
    name: 'users and notes',
    statements: [
      `CREATE TABLE IF NOT EXISTS users (
         id serial PRIMARY KEY,
         username text NOT NULL UNIQUE,
         password_hash text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
      `CREATE TABLE IF NOT EXISTS notes (
         id serial PRIMARY KEY,
         body text NOT NULL,
         created_by text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
       )`,
      // The demo user (demo/demo); its scrypt hash is computed when the migration runs.
      {
        sql: 'INSERT INTO users (username, password_hash) VALUES ($1, $2) ON CONFLICT (username) DO NOTHING',
        params: async () => ['demo', await hashPassword('demo')],
      },
    ],
  },
  {
    id: 2,
    name: 'note tags',
    statements: [
      // Nullable with a default: v1 inserts without it and never selects it.
      `ALTER TABLE notes ADD COLUMN IF NOT EXISTS tags text[] DEFAULT '{}'`,
    ],
  },
];

const LATEST = MIGRATIONS[MIGRATIONS.length - 1].id;

/** The schema level this image's code needs (and the migrations it carries). */
function schemaLevel(env = process.env) {
  const level = env.GL_SCHEMA_VERSION === undefined || env.GL_SCHEMA_VERSION === '' ? LATEST : Number(env.GL_SCHEMA_VERSION);
  if (!Number.isInteger(level) || level < 1 || level > LATEST) {
    throw new Error(`GL_SCHEMA_VERSION must be an integer from 1 to ${LATEST}, got "${env.GL_SCHEMA_VERSION}"`);
  }
  return level;
}

function migrationsUpTo(level) {
  return MIGRATIONS.filter((m) => m.id <= level);
}

const sqlOf = (statement) => (typeof statement === 'string' ? statement : statement.sql);
const normalized = (sql) => sql.replace(/--[^\n]*/g, ' ').replace(/\s+/g, ' ').trim().toUpperCase();

/**
 * Why a statement is not expand-only (an allow-list), or null when it is. Every allowed form is also
 * idempotent, so a migration interrupted before it was recorded can simply run again.
 */
function expandOnlyViolation(sql) {
  const s = normalized(sql).replace(/;$/, '');
  if (s.includes(';')) return 'holds more than one statement (one per entry, so each is checked)';
  if (/^CREATE TABLE IF NOT EXISTS /.test(s)) return null;
  if (/^CREATE (UNIQUE )?INDEX IF NOT EXISTS /.test(s)) return null;
  if (/^ALTER TABLE (IF EXISTS )?[\w."]+ ADD COLUMN IF NOT EXISTS /.test(s)) {
    if (/,\s*(?!ADD COLUMN IF NOT EXISTS )[A-Z]/.test(s.replace(/\([^()]*\)/g, ''))) return 'combines ADD COLUMN with another kind of change';
    if (/\bNOT NULL\b/.test(s) && !/\bDEFAULT\b/.test(s)) return 'adds a NOT NULL column without a DEFAULT (the running version inserts without it)';
    return null;
  }
  if (/^INSERT INTO .* ON CONFLICT .*DO NOTHING$/.test(s)) return null;
  if (/^(DROP|TRUNCATE|DELETE|UPDATE)\b|\b(DROP|RENAME)\b/.test(s)) return 'drops, renames or rewrites what the running version uses (a contract step: ship it in a later release)';
  if (/\bALTER COLUMN\b/.test(s)) return 'changes an existing column (a contract step: add a new column instead)';
  return 'is not one of CREATE TABLE IF NOT EXISTS, CREATE [UNIQUE] INDEX IF NOT EXISTS, ALTER TABLE ... ADD COLUMN IF NOT EXISTS, INSERT ... ON CONFLICT DO NOTHING';
}

/** Every violation in the given migrations, as "migration 002 (note tags), statement 1: ...". */
function checkExpandOnly(migrations = MIGRATIONS) {
  const problems = [];
  for (const m of migrations) {
    m.statements.forEach((statement, i) => {
      const why = expandOnlyViolation(sqlOf(statement));
      if (why) problems.push(`migration ${label(m)}, statement ${i + 1}: ${why}`);
    });
  }
  return problems;
}

const label = (m) => `${String(m.id).padStart(3, '0')} (${m.name})`;

module.exports = { MIGRATIONS, LATEST, schemaLevel, migrationsUpTo, expandOnlyViolation, checkExpandOnly, sqlOf, label };
