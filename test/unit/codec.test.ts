import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ENCRYPTED_ENCODING, EncryptionCodec, METADATA_KEY_ID, parsePayloadKeys, payloadKeysFromEnv, type PayloadKey } from '../../src/codec';
import { startCodecServer } from '../../src/cli/codec-server';
import { codecServer } from '../../src/cli/commands/codec-server';
import { InfrastructureError } from '../../src/errors';

const key = (id: string): PayloadKey => ({ id, key: randomBytes(32) });
const toPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const fromPayload = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? new Uint8Array()).toString();
const SPEC = { app: 'shop', services: { backend: { env: { DATABASE_PASSWORD_HINT: 'plain-env-value-4711' } } } };

describe('EncryptionCodec', () => {
  const k1 = key('k1');
  const codec = new EncryptionCodec([k1]);

  it('round-trips a payload, and what it writes holds neither the value nor the JSON encoding', async () => {
    const [sealed] = await codec.encode([toPayload(SPEC)]);
    expect(text(sealed!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed!.metadata![METADATA_KEY_ID])).toBe('k1');
    expect(Object.keys(sealed!.metadata!).sort()).toEqual(['encoding', METADATA_KEY_ID]);
    expect(Buffer.from(sealed!.data!).includes('plain-env-value-4711')).toBe(false);
    expect(Buffer.from(sealed!.data!).includes('json/plain')).toBe(false);
    const [opened] = await codec.decode([sealed!]);
    expect(fromPayload(opened!)).toEqual(SPEC);
    expect(text(opened!.metadata!.encoding)).toBe('json/plain');
  });

  it('uses a fresh IV for each payload: the same value encrypts differently', async () => {
    const [a, b] = await codec.encode([toPayload('same'), toPayload('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('rotation: the first key encrypts, an older key id still decodes', async () => {
    const [old] = await codec.encode([toPayload('written with k1')]);
    const rotated = new EncryptionCodec([key('k2'), k1]);
    const [fresh] = await rotated.encode([toPayload('written with k2')]);
    expect(text(fresh!.metadata![METADATA_KEY_ID])).toBe('k2');
    expect((await rotated.decode([old!, fresh!])).map(fromPayload)).toEqual(['written with k1', 'written with k2']);
  });

  it('an unknown key id is a clear error naming the id and the variable', async () => {
    const [sealed] = await new EncryptionCodec([key('k9')]).encode([toPayload('x')]);
    await expect(codec.decode([sealed!])).rejects.toThrow(InfrastructureError);
    await expect(codec.decode([sealed!])).rejects.toThrow(/encrypted with key "k9", which this process does not have \(its keys: k1\): add it to GREENLIGHT_PAYLOAD_KEYS/);
  });

  it('the same id with another key does not authenticate', async () => {
    const [sealed] = await new EncryptionCodec([key('k1')]).encode([toPayload('x')]);
    await expect(codec.decode([sealed!])).rejects.toThrow(/key "k1" does not authenticate/);
  });

  it.each([
    ['a flipped ciphertext byte', (data: Buffer) => (data[20] ^= 1)],
    ['a flipped IV byte', (data: Buffer) => (data[0] ^= 1)],
    ['a flipped tag byte', (data: Buffer) => (data[data.length - 1] ^= 1)],
  ])('tampered ciphertext is rejected: %s', async (_what, tamper) => {
    const [sealed] = await codec.encode([toPayload({ a: 'long enough to tamper with' })]);
    const data = Buffer.from(sealed!.data!);
    tamper(data);
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow(/does not authenticate: it was altered/);
  });

  it('a relabelled key id is rejected (the id is authenticated too)', async () => {
    const both = new EncryptionCodec([k1, { id: 'k1-copy', key: k1.key }]);
    const [sealed] = await both.encode([toPayload('x')]);
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [METADATA_KEY_ID]: Buffer.from('k1-copy') } };
    await expect(both.decode([relabelled])).rejects.toThrow(/does not authenticate/);
  });

  it('a truncated payload is rejected', async () => {
    const [sealed] = await codec.encode([toPayload('x')]);
    await expect(codec.decode([{ ...sealed!, data: Buffer.from(sealed!.data!).subarray(0, 10) }])).rejects.toThrow(/truncated \(10 bytes\)/);
  });

  it('passes through payloads it did not encrypt (histories from before the codec), binary and null ones included', async () => {
    const plain = [toPayload({ phase: 'done' }), toPayload(undefined), toPayload(new Uint8Array([1, 2, 3]))];
    expect(await codec.decode(plain)).toEqual(plain);
  });
});

describe('payload keys from the environment', () => {
  const good = randomBytes(32).toString('base64');
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'greenlight-codec-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('GREENLIGHT_PAYLOAD_KEYS: the first encrypts, the order is kept', () => {
    const other = randomBytes(32).toString('base64');
    const keys = payloadKeysFromEnv({ GREENLIGHT_PAYLOAD_KEYS: ` new:${good}, old:${other} ` });
    expect(keys.map((k) => k.id)).toEqual(['new', 'old']);
    expect(keys[0]!.key.equals(Buffer.from(good, 'base64'))).toBe(true);
  });

  it.each([
    ['no id', `:${good}`, /GREENLIGHT_PAYLOAD_KEYS: key 1: expected id:<base64 key>/],
    ['no colon', good, /GREENLIGHT_PAYLOAD_KEYS: key 1: expected id:<base64 key>/],
    ['bad base64', 'k1:not*base64!', /GREENLIGHT_PAYLOAD_KEYS: key 1 \("k1"\): the key is not base64/],
    ['16 bytes', `k1:${randomBytes(16).toString('base64')}`, /GREENLIGHT_PAYLOAD_KEYS: key 1 \("k1"\): the key is 16 bytes, AES-256 needs 32 \(make one with: echo "k1:\$\(openssl rand -base64 32\)"\)/],
    ['the second entry bad', `k1:${good},k2:${randomBytes(31).toString('base64')}`, /key 2 \("k2"\): the key is 31 bytes/],
    ['a repeated id', `k1:${good},k1:${good}`, /key id "k1" appears twice/],
    ['only commas', ' , ', /no key in it/],
  ])('a bad GREENLIGHT_PAYLOAD_KEYS (%s) is a clear error naming the variable', (_what, value, message) => {
    expect(() => payloadKeysFromEnv({ GREENLIGHT_PAYLOAD_KEYS: value })).toThrow(message);
    expect(() => payloadKeysFromEnv({ GREENLIGHT_PAYLOAD_KEYS: value })).toThrow(InfrastructureError);
  });

  it('an error never repeats the key material', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => parsePayloadKeys(`k1:${short}`, 'X')).toThrow(expect.objectContaining({ message: expect.not.stringContaining(short) }));
  });

  it('GREENLIGHT_PAYLOAD_KEY_FILE: one entry a line, comments skipped; a missing file is an error naming it', () => {
    const file = join(dir, 'keys');
    writeFileSync(file, `# rotated 2026-12-01\nk2:${good}\nk1:${randomBytes(32).toString('base64')}\n`);
    expect(payloadKeysFromEnv({ GREENLIGHT_PAYLOAD_KEY_FILE: file }).map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(() => payloadKeysFromEnv({ GREENLIGHT_PAYLOAD_KEY_FILE: join(dir, 'absent') })).toThrow(/GREENLIGHT_PAYLOAD_KEY_FILE .*absent: cannot read it \(ENOENT\)/);
    writeFileSync(file, 'k1:short\n');
    expect(() => payloadKeysFromEnv({ GREENLIGHT_PAYLOAD_KEY_FILE: file })).toThrow(/GREENLIGHT_PAYLOAD_KEY_FILE .*keys: key 1 \("k1"\): the key is 3 bytes/);
  });

  it('the variable wins over the file; without either, <GREENLIGHT_HOME>/payload-keys', () => {
    const home = join(dir, 'home');
    rmSync(home, { recursive: true, force: true });
    expect(() => payloadKeysFromEnv({ GREENLIGHT_HOME: home })).toThrow(/no payload encryption key: set GREENLIGHT_PAYLOAD_KEYS=id:<base64 of 32 bytes> .*run scripts\/payload-key.sh, which writes .*home\/payload-keys/);
    mkdirSync(home);
    writeFileSync(join(home, 'payload-keys'), `home:${good}\n`);
    chmodSync(join(home, 'payload-keys'), 0o600);
    expect(payloadKeysFromEnv({ GREENLIGHT_HOME: home }).map((k) => k.id)).toEqual(['home']);
    expect(payloadKeysFromEnv({ GREENLIGHT_HOME: home, GREENLIGHT_PAYLOAD_KEYS: `env:${good}` }).map((k) => k.id)).toEqual(['env']);
  });
});

describe('the codec server', () => {
  const codec = new EncryptionCodec([key('k1')]);
  const UI = 'http://127.0.0.1:8233';
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = await startCodecServer({ codec, allowedOrigins: [UI], token: 's3cret-token' }, '127.0.0.1', 0);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const asJson = (p: Payload) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = { Authorization: 'Bearer s3cret-token' }) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: UI, ...headers }, body: JSON.stringify(body) });

  it('POST /decode answers the decoded payloads in the protocol shape, with CORS for the UI origin', async () => {
    const [sealed] = await codec.encode([toPayload(SPEC)]);
    const response = await post('/decode', { payloads: [asJson(sealed!), asJson(toPayload('plain'))] });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(UI);
    const { payloads } = (await response.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(payloads.map((p) => JSON.parse(Buffer.from(p.data, 'base64').toString()))).toEqual([SPEC, 'plain']);
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
  });

  it('POST /encode answers payloads the codec decodes again', async () => {
    const response = await post('/encode', { payloads: [asJson(toPayload('from the UI'))] });
    const { payloads } = (await response.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    const back = payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])), data: Buffer.from(p.data, 'base64') }));
    expect((await codec.decode(back)).map(fromPayload)).toEqual(['from the UI']);
  });

  it('the preflight allows the UI origin and its headers; another origin gets no CORS headers', async () => {
    const preflight = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { Origin: UI, 'Access-Control-Request-Method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('Content-Type, X-Namespace, Authorization, Authorization-Extras');
    const foreign = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('without the bearer token (or with a wrong one): 401 and nothing decoded', async () => {
    const [sealed] = await codec.encode([toPayload(SPEC)]);
    for (const headers of [{}, { Authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
      const response = await post('/decode', { payloads: [asJson(sealed!)] }, headers);
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain('plain-env-value-4711');
    }
  });

  it('a payload of an unknown key or a bad body: 400 with the reason', async () => {
    const [foreign] = await new EncryptionCodec([key('k7')]).encode([toPayload('x')]);
    const unknown = await post('/decode', { payloads: [asJson(foreign!)] });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toContain('encrypted with key "k7"');
    expect((await post('/decode', { nope: 1 })).status).toBe(400);
    expect((await post('/other', { payloads: [] })).status).toBe(404);
  });
});

describe('greenlight codec-server (the command)', () => {
  const keys = `k1:${randomBytes(32).toString('base64')}`;

  it('listens with the keys of the environment, says where, and stops when told', async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const lines: string[] = [];
    const running = codecServer({ host: '127.0.0.1', port: 0, uiOrigins: ['http://127.0.0.1:8233'], out: (l) => lines.push(l), stopped }, { GREENLIGHT_PAYLOAD_KEYS: keys });
    await expect.poll(() => lines.length).toBe(1);
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(lines[0]!)![0];
    const response = await fetch(`${url}/decode`, { method: 'POST', body: JSON.stringify({ payloads: [] }) });
    expect(await response.json()).toEqual({ payloads: [] });
    stop();
    await expect(running).resolves.toBe('done');
    await expect(fetch(`${url}/decode`, { method: 'POST', body: '{}' })).rejects.toThrow();
  });

  it.each([
    ['no key', {}, { port: 0 }, /no payload encryption key: set GREENLIGHT_PAYLOAD_KEYS/],
    ['a bad key', { GREENLIGHT_PAYLOAD_KEYS: 'k1:abc' }, { port: 0 }, /GREENLIGHT_PAYLOAD_KEYS: key 1 \("k1"\): the key is 2 bytes/],
    ['a bad port', { GREENLIGHT_PAYLOAD_KEYS: keys }, { port: Number.NaN }, /--port NaN: must be a number between 0 and 65535/],
    ['an unreadable token file', { GREENLIGHT_PAYLOAD_KEYS: keys }, { port: 0, tokenFile: '/nonexistent/token' }, /--token-file \/nonexistent\/token: cannot read it \(ENOENT\)/],
  ])('refuses to start with %s, naming the fix', async (_what, env, options, message) => {
    const home = mkdtempSync(join(tmpdir(), 'greenlight-codec-home-'));
    try {
      const lines: string[] = [];
      await expect(codecServer({ host: '127.0.0.1', uiOrigins: [], out: (l) => lines.push(l), stopped: Promise.resolve(), ...options }, { GREENLIGHT_HOME: home, ...env })).rejects.toThrow(message);
      expect(lines).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
