/**
 * The router's certificate and key (`router.tls`), checked at validate on every host before anything is
 * created: nginx would refuse a missing, unreadable, garbled or mismatched pair at `nginx -t`, and serve
 * an expired certificate without a word. `tlsPairProblems` is pure (node:crypto over the files' text);
 * `tlsProblems` reads the files as the worker's user, who is nginx's master's (it reads them at reload).
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { DeploySpec } from '../src/config/schema';

export type RouterTls = NonNullable<DeploySpec['router']['tls']>;

/** One of the two files: its spec field, its path, and its text or why it could not be read. */
export interface TlsFile {
  field: string;
  path: string;
  text: string | null;
  readError?: string;
}

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
const PEM_PRIVATE_KEY = /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/** Why reading `path` failed, in words a user acts on. */
function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return "is not readable by the worker's user";
  if (code === 'EISDIR') return 'is a folder, not a file';
  return `cannot be read (${(err as Error).message})`;
}

function parseCertificate(file: TlsFile): { certificate: X509Certificate | null; problem: string | null } {
  const where = `${file.field}: "${file.path}"`;
  if (!file.text?.includes(PEM_CERTIFICATE)) {
    return { certificate: null, problem: `${where} is not a PEM certificate (no "${PEM_CERTIFICATE}" line): name the certificate file (certbot: fullchain.pem), not the key or a DER file (openssl x509 -inform der -in FILE -out FILE.pem)` };
  }
  try {
    return { certificate: new X509Certificate(file.text), problem: null };
  } catch (err) {
    return { certificate: null, problem: `${where} does not parse as a PEM certificate (${(err as Error).message}): replace it with the certificate your CA issued` };
  }
}

function parseKey(file: TlsFile): { key: KeyObject | null; problem: string | null } {
  const where = `${file.field}: "${file.path}"`;
  if (!file.text || !PEM_PRIVATE_KEY.test(file.text)) {
    return { key: null, problem: `${where} is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" line): name the key file (certbot: privkey.pem), not the certificate` };
  }
  try {
    return { key: createPrivateKey(file.text), problem: null };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MISSING_PASSPHRASE' || /ENCRYPTED/.test(file.text)) {
      return { key: null, problem: `${where} is encrypted with a passphrase, which nginx would ask for at every reload: store it unencrypted, readable by the worker's user only (openssl pkey -in FILE -out FILE.plain)` };
    }
    return { key: null, problem: `${where} does not parse as a PEM private key (${(err as Error).message}): replace it with the key the certificate was issued for` };
  }
}

/** Every problem of the pair at `now`, each naming its field, its file and the fix; empty when nginx can serve it. */
export function tlsPairProblems(certFile: TlsFile, keyFile: TlsFile, now: Date = new Date()): string[] {
  const unreadable = [certFile, keyFile].flatMap((file) =>
    file.text === null ? [`${file.field}: "${file.path}" ${file.readError ?? 'cannot be read'}: point it at the file on this host, readable by the worker's user (nginx's master reads it as that user)`] : [],
  );
  const { certificate, problem: certProblem } = certFile.text === null ? { certificate: null, problem: null } : parseCertificate(certFile);
  const { key, problem: keyProblem } = keyFile.text === null ? { key: null, problem: null } : parseKey(keyFile);
  const problems = [...unreadable, ...[certProblem, keyProblem].filter((p): p is string => p !== null)];
  if (!certificate) return problems;
  const where = `${certFile.field}: "${certFile.path}"`;
  const validFrom = new Date(certificate.validFrom);
  const validTo = new Date(certificate.validTo);
  if (now > validTo) problems.push(`${where} expired on ${validTo.toISOString()}: renew it (certbot renew) and deploy again; nginx would serve it and every client would refuse it`);
  else if (now < validFrom) problems.push(`${where} is not valid before ${validFrom.toISOString()}: check this host's clock, or wait for the certificate's start`);
  if (key && !certificate.checkPrivateKey(key)) {
    problems.push(
      `${keyFile.field}: "${keyFile.path}" is not the private key of the certificate in ${certFile.field} ("${certFile.path}"): name the key it was issued for (certbot: privkey.pem beside fullchain.pem), and put the server certificate first in the certificate file`,
    );
  }
  return problems;
}

async function readTlsFile(field: string, path: string): Promise<TlsFile> {
  try {
    return { field, path, text: await readFile(path, 'utf8') };
  } catch (err) {
    return { field, path, text: null, readError: readProblem(err) };
  }
}

/** The problems of `tls` on this host, read as the worker's user; `field` is where the spec sets it ("router.tls"). */
export async function tlsProblems(tls: RouterTls, field: string, now: Date = new Date()): Promise<string[]> {
  const [certFile, keyFile] = await Promise.all([readTlsFile(`${field}.certificate`, tls.certificate), readTlsFile(`${field}.key`, tls.key)]);
  return tlsPairProblems(certFile, keyFile, now);
}

/**
 * A fingerprint of the files' contents (16 hex digits of a SHA-256 over both): what a renewal in place
 * changes in the rendered config. Throws if a file cannot be read (validate has checked them).
 */
export async function tlsFingerprint(tls: RouterTls): Promise<string> {
  const [certificate, key] = await Promise.all([readFile(tls.certificate), readFile(tls.key)]);
  return createHash('sha256').update(certificate).update('\0').update(key).digest('hex').slice(0, 16);
}
