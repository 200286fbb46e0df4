// Passwords (scrypt) and tokens (JWT, HS256) with node:crypto only: no dependency to audit.
'use strict';
const { createHmac, randomBytes, scrypt: scryptCallback, timingSafeEqual } = require('node:crypto');
const { promisify } = require('node:util');

const scrypt = promisify(scryptCallback);

// scrypt cost: N=2^14, r=8, p=1 (16 MiB, ~50 ms): the parameters are stored with every hash, so they
// can be raised later without invalidating existing passwords.
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

/** "scrypt$N$r$p$<salt>$<hash>" (base64url). */
async function hashPassword(password) {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

async function verifyPassword(password, stored) {
  const parts = String(stored).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64url');
  const expected = Buffer.from(parts[5], 'base64url');
  const actual = await scrypt(password, salt, expected.length, { N, r, p, maxmem: 256 * N * r * p });
  return timingSafeEqual(actual, expected);
}

// Compared against when the user does not exist, so a login takes as long either way.
let dummyHash = null;
async function verifyAgainstNothing(password) {
  dummyHash ??= await hashPassword('not-a-password');
  await verifyPassword(password, dummyHash);
  return false;
}

class TokenError extends Error {}

const b64json = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const hmac = (secret, data) => createHmac('sha256', secret).update(data).digest();

/** A compact JWS (JWT) signed with HMAC-SHA256. */
function signJwt(payload, secret) {
  const head = `${b64json({ alg: 'HS256', typ: 'JWT' })}.${b64json(payload)}`;
  return `${head}.${hmac(secret, head).toString('base64url')}`;
}

/** The payload of a valid, unexpired HS256 token; throws TokenError saying why otherwise. */
function verifyJwt(token, secret, nowSeconds = Math.floor(Date.now() / 1000)) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new TokenError('malformed token');
  let header;
  let payload;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('malformed token');
  }
  // Only HS256: never let the token choose its algorithm ("none", or RS256 with a public key as secret).
  if (!header || header.alg !== 'HS256') throw new TokenError('unsupported token algorithm');
  const expected = hmac(secret, `${parts[0]}.${parts[1]}`);
  const actual = Buffer.from(parts[2], 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new TokenError('bad token signature');
  if (!payload || typeof payload !== 'object') throw new TokenError('malformed token');
  if (typeof payload.exp !== 'number' || payload.exp <= nowSeconds) throw new TokenError('token expired');
  if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw new TokenError('token without subject or session');
  return payload;
}

module.exports = { hashPassword, verifyPassword, verifyAgainstNothing, signJwt, verifyJwt, TokenError };
