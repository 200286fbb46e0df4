/**
 * The payload codec: every payload greenlight writes to Temporal (workflow and activity inputs and
 * results, queries, updates, signals, memo, the UI summaries and details) is sealed with AES-256-GCM
 * before it leaves the process, so anyone who can read Temporal's history (its database, the UI, the
 * CLI) sees ciphertext. Search attributes and headers do not pass through codecs (the SDK skips them):
 * greenlight's hold the app, phase, outcome, images and hosts, no env or secret value.
 *
 * Keys come from the environment of the worker and of the CLI (the same on both sides):
 * GREENLIGHT_PAYLOAD_KEYS="id1:<base64 of 32 bytes>,id2:..." — the first key encrypts, every key
 * decrypts, so a key is rotated by putting the new one first and dropping the old one once no history
 * that anyone still reads was written with it. Without the variable, the file GREENLIGHT_PAYLOAD_KEY_FILE
 * names, else <GREENLIGHT_HOME>/payload-keys (scripts/payload-key.sh makes it once, 0600), holds the same
 * list, one entry a line. No key at all is an error: greenlight never writes a deploy's env in the clear.
 *
 * Decoding passes through payloads that are not encrypted: histories recorded before the codec (and
 * deploys started by an older version) still replay and read.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { InfrastructureError } from './errors';
import { greenlightHome } from './settings';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_ENCODING = 'encoding';
export const METADATA_KEY_ID = 'encryption-key-id';
export const KEYS_VARIABLE = 'GREENLIGHT_PAYLOAD_KEYS';
export const KEY_FILE_VARIABLE = 'GREENLIGHT_PAYLOAD_KEY_FILE';
/** The key file's name under GREENLIGHT_HOME, written by scripts/payload-key.sh. */
export const DEFAULT_KEY_FILE = 'payload-keys';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAKE_ONE = 'make one with: echo "k1:$(openssl rand -base64 32)"';

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/**
 * Parses a key list ("id:base64", separated by commas or line breaks; `#` starts a comment line).
 * `source` names where it came from (the variable or the file) in every error, which never repeats a key.
 */
export function parsePayloadKeys(text: string, source: string): PayloadKey[] {
  const entries = text
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new InfrastructureError(`${source}: no key in it; expected id:<base64 of 32 bytes>[,id2:...] (${MAKE_ONE})`);
  const keys = entries.map((entry, index) => parseEntry(entry, index + 1, source));
  const seen = new Set<string>();
  for (const { id } of keys) {
    if (seen.has(id)) throw new InfrastructureError(`${source}: key id "${id}" appears twice; each key needs its own id`);
    seen.add(id);
  }
  return keys;
}

function parseEntry(entry: string, position: number, source: string): PayloadKey {
  const colon = entry.indexOf(':');
  const id = colon > 0 ? entry.slice(0, colon).trim() : '';
  const encoded = colon > 0 ? entry.slice(colon + 1).trim() : '';
  const where = `${source}: key ${position}${KEY_ID.test(id) ? ` ("${id}")` : ''}`;
  if (!KEY_ID.test(id)) throw new InfrastructureError(`${where}: expected id:<base64 key>, the id made of letters, digits, . _ - (${MAKE_ONE})`);
  if (!BASE64.test(encoded)) throw new InfrastructureError(`${where}: the key is not base64 (${MAKE_ONE})`);
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== KEY_BYTES) throw new InfrastructureError(`${where}: the key is ${key.length} bytes, AES-256 needs ${KEY_BYTES} (${MAKE_ONE})`);
  return { id, key };
}

/** The keys this process uses: GREENLIGHT_PAYLOAD_KEYS, else GREENLIGHT_PAYLOAD_KEY_FILE, else <GREENLIGHT_HOME>/payload-keys. */
export function payloadKeysFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadKey[] {
  if (env[KEYS_VARIABLE]?.trim()) return parsePayloadKeys(env[KEYS_VARIABLE], KEYS_VARIABLE);
  const named = env[KEY_FILE_VARIABLE]?.trim();
  const file = named || join(env.GREENLIGHT_HOME ? env.GREENLIGHT_HOME : greenlightHome(), DEFAULT_KEY_FILE);
  if (!named && !existsSync(file)) {
    throw new InfrastructureError(
      `no payload encryption key: set ${KEYS_VARIABLE}=id:<base64 of 32 bytes> (the same on the worker and wherever the CLI runs; ${MAKE_ONE}), ` +
        `or ${KEY_FILE_VARIABLE} to a file holding it, or run scripts/payload-key.sh, which writes ${file}`,
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InfrastructureError(`${named ? KEY_FILE_VARIABLE : 'the payload key file'} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parsePayloadKeys(text, `${named ? `${KEY_FILE_VARIABLE} ` : ''}${file}`);
}

/** AES-256-GCM over the whole serialized payload (metadata included); the key id is the associated data. */
export class EncryptionCodec implements PayloadCodec {
  private readonly keysById: Map<string, Buffer>;
  private readonly encrypting: PayloadKey;

  constructor(keys: PayloadKey[]) {
    if (keys.length === 0) throw new InfrastructureError(`${KEYS_VARIABLE}: no key (${MAKE_ONE})`);
    this.encrypting = keys[0];
    this.keysById = new Map(keys.map(({ id, key }) => [id, key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.seal(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.open(payload) : payload));
  }

  private seal(payload: Payload): Payload {
    const { id, key } = this.encrypting;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(id));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { [METADATA_ENCODING]: Buffer.from(ENCRYPTED_ENCODING), [METADATA_KEY_ID]: Buffer.from(id) }, data: sealed };
  }

  private open(payload: Payload): Payload {
    const idBytes = payload.metadata?.[METADATA_KEY_ID];
    const id = idBytes ? Buffer.from(idBytes).toString() : '';
    const key = this.keysById.get(id);
    if (!key) {
      throw new InfrastructureError(
        `a payload is encrypted with key "${id || '(none named)'}", which this process does not have (its keys: ${[...this.keysById.keys()].join(', ')}): add it to ${KEYS_VARIABLE} (or the key file) after the current key`,
      );
    }
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new InfrastructureError(`a payload encrypted with key "${id}" is truncated (${sealed.length} bytes)`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES)).setAAD(Buffer.from(id));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new InfrastructureError(`a payload encrypted with key "${id}" does not authenticate: it was altered, or "${id}" is not the key it was written with`);
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.[METADATA_ENCODING];
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING;
}

/** The codec of this process's keys (see payloadKeysFromEnv). */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionCodec {
  return new EncryptionCodec(payloadKeysFromEnv(env));
}

/** The data converter every greenlight Client and Worker uses: the default converters plus the codec. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return { payloadCodecs: [payloadCodecFromEnv(env)] };
}
