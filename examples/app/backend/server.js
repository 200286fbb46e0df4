// The example backend: plain Node.js 20 (no build), with pg and node-redis vendored in node_modules.
// Both colors share one PostgreSQL database (users, notes) and one Redis (sessions), so a user logged
// in on blue stays logged in on green, and data written by either color is seen by both.
//
// Environment:
//   PORT (4000), APP_VERSION, GREENLIGHT_COLOR (set by greenlight)
//   DATABASE_URL, REDIS_URL   optional: unset, the app still starts; what needs them answers 503
//   JWT_SECRET                signs tokens (HS256); the same secret on every color (a greenlight secret)
//   GL_SCHEMA_VERSION         the schema level this image's code knows (build arg SCHEMA_VERSION)
// GL_BEHAVIOR (baked in at build time) lets the tests ship broken versions on purpose:
//   ok         - healthy
//   unhealthy  - every health endpoint answers 503
//   flaky      - health passes, but a share of API requests answer 500 (FLAKY_RATE, default 0.5)
//   slow       - health passes, API requests take SLOW_MS (default 400) longer
//   hang       - health endpoints accept the connection and never answer
// Long-lived connections (to show them across a switch): /api/ws is a WebSocket that greets with the
// version and color, then echoes each message with them; /api/events is a server-sent event stream, one
// event every ?every= ms (default 1000), ending after ?count= events if given. On SIGTERM both are
// closed cleanly: WebSockets with 1001 "going away", streams with a final `event: bye`.
// Migrations are NOT run at startup: `node /app/migrate.js` is a separate step (see migrate.js).
'use strict';
const http = require('node:http');
const { WebSocketServer } = require('ws');
const { randomBytes } = require('node:crypto');
const auth = require('./auth');
const { schemaLevel, migrationsUpTo } = require('./migrations');
const { withTimeout, createDb, createRedis } = require('./deps');

const port = Number(process.env.PORT || 4000);
const version = process.env.APP_VERSION || 'dev';
const color = process.env.GREENLIGHT_COLOR || 'none';
const behavior = process.env.GL_BEHAVIOR || 'ok';
const flakyRate = Number(process.env.FLAKY_RATE || 0.5);
const slowMs = Number(process.env.SLOW_MS || 400);
const jwtSecret = process.env.JWT_SECRET || '';
const level = schemaLevel();
const requiredMigrations = migrationsUpTo(level).map((m) => m.id);
const startedAt = new Date().toISOString();
const startedMs = Date.now();

const SESSION_TTL_SECONDS = 3600;
const CHECK_TIMEOUT_MS = 1_500; // under greenlight's default 2 s health timeout
const REDIS_TIMEOUT_MS = 1_500;
const MAX_BODY_BYTES = 16 * 1024;
const NOTES_LIMIT = 50;

const db = createDb(process.env.DATABASE_URL, `shop-backend ${version} ${color}`);
const redis = createRedis(process.env.REDIS_URL);
let requests = 0;

class HttpError extends Error {
  constructor(status, message, headers = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function onError(res, err) {
  if (res.headersSent) return res.destroy();
  if (err instanceof HttpError) return send(res, err.status, { error: err.message, version, color }, err.headers);
  console.error('unexpected error:', err);
  return send(res, 500, { error: 'internal error', version, color });
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`, { connection: 'close' });
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // reported below
  }
  throw new HttpError(400, 'the body must be a JSON object');
}

// ---- dependencies -------------------------------------------------------------------------------

/** SQLSTATE classes that mean "the database is unavailable" rather than "this query is wrong". */
function dbUnavailable(err) {
  const sqlState = typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) ? err.code : null;
  return !sqlState || /^(08|53|57)/.test(sqlState);
}

async function query(sql, params = []) {
  if (!db) throw new HttpError(503, 'database not configured (DATABASE_URL is not set)');
  try {
    return await db.query(sql, params);
  } catch (err) {
    if (dbUnavailable(err)) throw new HttpError(503, `database unavailable: ${err.message}`);
    throw err;
  }
}

async function redisCall(what, fn) {
  if (!redis) throw new HttpError(503, 'redis not configured (REDIS_URL is not set)');
  try {
    return await withTimeout(Promise.resolve().then(() => fn(redis)), REDIS_TIMEOUT_MS, `redis ${what}`);
  } catch (err) {
    throw new HttpError(503, `redis unavailable: ${err.message}`);
  }
}

function requireSecret() {
  if (!jwtSecret) throw new HttpError(503, 'JWT_SECRET is not set: logins are disabled');
}

async function checkDb() {
  if (!db) return { ok: null, detail: 'not configured' };
  try {
    await withTimeout(db.query('SELECT 1'), CHECK_TIMEOUT_MS, 'SELECT 1');
    return { ok: true, detail: 'ok' };
  } catch (err) {
    return { ok: false, detail: `unavailable: ${err.message}` };
  }
}

async function checkRedis() {
  if (!redis) return { ok: null, detail: 'not configured' };
  try {
    await withTimeout(Promise.resolve().then(() => redis.ping()), CHECK_TIMEOUT_MS, 'PING');
    return { ok: true, detail: 'ok' };
  } catch (err) {
    return { ok: false, detail: `unavailable: ${err.message}` };
  }
}

/**
 * Informational (never fails a health check): whether the migrations this version needs are applied.
 * greenlight may run `migrate.js` after the new color's health gate, so health must not depend on it.
 */
async function schemaState() {
  if (!db) return 'not configured';
  try {
    const { rows } = await withTimeout(db.query('SELECT id FROM schema_migrations'), CHECK_TIMEOUT_MS, 'schema check');
    const applied = new Set(rows.map((r) => r.id));
    const missing = requiredMigrations.filter((id) => !applied.has(id));
    return missing.length ? `behind: migration(s) ${missing.join(', ')} not applied (run node /app/migrate.js)` : `ok (needs ${level}, at ${Math.max(...applied)})`;
  } catch (err) {
    return err.code === '42P01' ? 'not migrated (run node /app/migrate.js)' : `unknown: ${err.message}`;
  }
}

// ---- health ------------------------------------------------------------------------------------

async function health(res, path) {
  if (behavior === 'unhealthy') return send(res, 503, { status: 'unhealthy', version, color });
  if (behavior === 'hang') return undefined; // accept the connection, never answer
  const statusOf = (check) => (check.ok ? 200 : 503);
  switch (path) {
    case '/api/health':
      return send(res, 200, { status: 'ok', version, color, startedAt, requests, check: path });
    case '/api/health/db': {
      const c = await checkDb();
      return send(res, statusOf(c), { status: c.ok ? 'ok' : 'unhealthy', version, color, db: c.detail });
    }
    case '/api/health/redis': {
      const c = await checkRedis();
      return send(res, statusOf(c), { status: c.ok ? 'ok' : 'unhealthy', version, color, redis: c.detail });
    }
    case '/api/health/detailed': {
      const [d, r, schema] = await Promise.all([checkDb(), checkRedis(), schemaState()]);
      // 503 only when a configured dependency is down; "not configured" is healthy.
      const down = d.ok === false || r.ok === false;
      return send(res, down ? 503 : 200, {
        status: down ? 'unhealthy' : 'ok',
        version,
        color,
        db: d.detail,
        redis: r.detail,
        uptimeSeconds: Math.round((Date.now() - startedMs) / 1000),
        schema,
        startedAt,
        requests,
      });
    }
    default:
      return send(res, 404, { error: 'not found', version, color });
  }
}

// ---- sessions and users ------------------------------------------------------------------------

const sessionKey = (sid) => `session:${sid}`;

/** The verified token's claims and its Redis session; 401 when either is missing or invalid. */
async function authenticate(req) {
  requireSecret();
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization || '');
  if (!m) throw new HttpError(401, 'missing bearer token', { 'www-authenticate': 'Bearer' });
  let claims;
  try {
    claims = auth.verifyJwt(m[1], jwtSecret);
  } catch (err) {
    if (err instanceof auth.TokenError) throw new HttpError(401, err.message, { 'www-authenticate': 'Bearer error="invalid_token"' });
    throw err;
  }
  // The JWT alone is not enough: the session must still exist (logout and expiry are server-side).
  const raw = await redisCall('GET', (r) => r.get(sessionKey(claims.sid)));
  if (!raw) throw new HttpError(401, 'session expired or logged out', { 'www-authenticate': 'Bearer error="invalid_token"' });
  const session = JSON.parse(raw);
  if (session.username !== claims.sub) throw new HttpError(401, 'session does not belong to this token');
  return { claims, session };
}

async function login(req) {
  const { username, password } = await readJson(req);
  if (typeof username !== 'string' || typeof password !== 'string' || !username || !password || username.length > 100 || password.length > 1024) {
    throw new HttpError(400, 'username and password are required (strings)');
  }
  requireSecret();
  const { rows } = await query('SELECT username, password_hash FROM users WHERE username = $1', [username]);
  const ok = rows.length ? await auth.verifyPassword(password, rows[0].password_hash) : await auth.verifyAgainstNothing(password);
  if (!ok) throw new HttpError(401, 'invalid username or password');
  const sid = randomBytes(24).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const session = { username, createdBy: { version, color }, createdAt: new Date(iat * 1000).toISOString() };
  await redisCall('SET', (r) => r.set(sessionKey(sid), JSON.stringify(session), { expiration: { type: 'EX', value: SESSION_TTL_SECONDS } }));
  const token = auth.signJwt({ sub: username, sid, iat, exp: iat + SESSION_TTL_SECONDS }, jwtSecret);
  return [200, { token, sessionId: sid }];
}

async function logout(req) {
  const { claims } = await authenticate(req);
  await redisCall('DEL', (r) => r.del(sessionKey(claims.sid)));
  return [200, { loggedOut: true }];
}

async function me(req) {
  const { session } = await authenticate(req);
  return [200, { username: session.username, sessionCreatedBy: session.createdBy, servedBy: { version, color } }];
}

// ---- notes -------------------------------------------------------------------------------------

// v1 (schema 1) neither reads nor writes tags; v2 (schema 2) does. Both run on schema 2.
const withTags = level >= 2;

function toNote(row) {
  const note = { id: row.id, body: row.body, createdBy: row.created_by, createdAt: row.created_at.toISOString() };
  if (withTags) note.tags = row.tags ?? [];
  return note;
}

async function listNotes() {
  const columns = withTags ? 'id, body, created_by, created_at, tags' : 'id, body, created_by, created_at';
  const { rows } = await query(`SELECT ${columns} FROM notes ORDER BY id DESC LIMIT ${NOTES_LIMIT}`);
  return [200, { version, color, notes: rows.map(toNote) }];
}

async function createNote(req) {
  const { session } = await authenticate(req);
  const input = await readJson(req);
  const body = typeof input.body === 'string' ? input.body.trim() : '';
  if (!body || body.length > 2000) throw new HttpError(400, 'body is required: a string of 1 to 2000 characters');
  let row;
  if (withTags) {
    const tags = input.tags === undefined ? [] : input.tags;
    if (!Array.isArray(tags) || tags.length > 10 || !tags.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 30)) {
      throw new HttpError(400, 'tags must be an array of at most 10 strings of 1 to 30 characters');
    }
    ({ rows: [row] } = await query('INSERT INTO notes (body, created_by, tags) VALUES ($1, $2, $3) RETURNING id, body, created_by, created_at, tags', [body, session.username, tags]));
  } else {
    ({ rows: [row] } = await query('INSERT INTO notes (body, created_by) VALUES ($1, $2) RETURNING id, body, created_by, created_at', [body, session.username]));
  }
  return [201, { version, color, note: toNote(row) }];
}

// ---- routing -----------------------------------------------------------------------------------

const routes = {
  '/api/version': { GET: () => [200, { version, color }] },
  '/api/items': { GET: (_req, url) => [200, { version, color, path: url.pathname, items: [1, 2, 3] }] },
  '/api/login': { POST: login },
  '/api/logout': { POST: logout },
  '/api/me': { GET: me },
  '/api/notes': { GET: listNotes, POST: createNote },
};

async function api(req, res, url, path) {
  const route = routes[path];
  if (!route) return send(res, 404, { error: 'not found', version, color });
  const handler = route[req.method];
  if (!handler) return send(res, 405, { error: `method ${req.method} not allowed`, version, color }, { allow: Object.keys(route).join(', ') });
  const [status, body] = await handler(req, url);
  return send(res, status, body);
}

// ---- long-lived connections ------------------------------------------------------------------------

const sockets = new WebSocketServer({ noServer: true });
const streams = new Set();

sockets.on('connection', (ws) => {
  ws.send(JSON.stringify({ hello: true, version, color }));
  ws.on('message', (data) => ws.send(JSON.stringify({ echo: data.toString(), version, color })));
});

function events(req, res, url) {
  const every = Math.max(10, Number(url.searchParams.get('every')) || 1000);
  const count = Number(url.searchParams.get('count')) || Infinity;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let n = 0;
  const stream = { res, timer: null };
  const tick = () => {
    n += 1;
    res.write(`data: ${JSON.stringify({ n, version, color })}\n\n`);
    if (n >= count) end(stream, false);
  };
  stream.timer = setInterval(tick, every);
  streams.add(stream);
  tick();
  req.on('close', () => end(stream, false));
}

function end(stream, bye) {
  if (!streams.delete(stream)) return;
  clearInterval(stream.timer);
  if (bye) stream.res.write('event: bye\ndata: {}\n\n');
  stream.res.end();
}

const server = http.createServer((req, res) => {
  requests += 1;
  const url = new URL(req.url, 'http://localhost');
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  if (path === '/api/events' && req.method === 'GET') return events(req, res, url);
  if (path === '/api/health' || path.startsWith('/api/health/')) {
    health(res, path).catch((err) => onError(res, err));
    return;
  }
  const answer = () => {
    if (behavior === 'flaky' && Math.random() < flakyRate) return send(res, 500, { error: 'flaky on purpose', version, color });
    return api(req, res, url, path).catch((err) => onError(res, err));
  };
  if (behavior === 'slow') setTimeout(answer, slowMs);
  else answer();
});

server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url, 'http://localhost').pathname !== '/api/ws' || stopping) return socket.destroy();
  sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req));
});

server.keepAliveTimeout = 70_000; // longer than nginx's upstream keepalive, so nginx closes first
server.listen(port, () => {
  const deps = `db ${db ? 'configured' : 'not configured'}, redis ${redis ? 'configured' : 'not configured'}`;
  console.log(`backend ${version} (${color}, ${behavior}, schema ${level}; ${deps}) on :${port}`);
});

// Graceful stop: finish in-flight requests, close the pool and the Redis client, then exit.
let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  for (const ws of sockets.clients) ws.close(1001, 'going away');
  for (const stream of streams) end(stream, true);
  server.close(() => {
    const closing = [db && db.end(), redis && Promise.resolve().then(() => redis.close())].filter(Boolean).map((p) => p.catch(() => undefined));
    Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 2_000))]).then(() => process.exit(0));
  });
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
