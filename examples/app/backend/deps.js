// The shared dependencies both colors use: a PostgreSQL pool and a Redis client. Either is null when
// its URL is not set (the app still starts; what needs it answers 503 "not configured"). Neither
// blocks startup: a dependency that is down makes the health checks fail, not the process.
'use strict';

/** Rejects after `ms` with an error naming `what`, so a stuck dependency cannot hang a request. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function createDb(url, applicationName) {
  if (!url) return null;
  const { Pool } = require('pg');
  const pool = new Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    query_timeout: 5_000,
    application_name: applicationName,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', (err) => console.error(`postgres: idle connection lost: ${err.message}`));
  return pool;
}

function createRedis(url) {
  if (!url) return null;
  const { createClient } = require('redis');
  const client = createClient({
    url,
    // Fail commands at once while disconnected instead of queueing them until Redis is back.
    disableOfflineQueue: true,
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2_000) },
  });
  let lastError = '';
  client.on('error', (err) => {
    // Logged once per distinct error, not on every reconnect attempt.
    const message = err && err.message ? err.message : String(err);
    if (message !== lastError) console.error(`redis: ${message}`);
    lastError = message;
  });
  client.on('ready', () => {
    if (lastError) console.error('redis: connected again');
    lastError = '';
  });
  client.connect().catch((err) => console.error(`redis: connect failed: ${err.message}`));
  return client;
}

module.exports = { withTimeout, createDb, createRedis };
