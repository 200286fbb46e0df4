/**
 * Certificates for the tests and the bench, made with this machine's openssl (Debian's /usr/bin/openssl,
 * 3.0): self-signed for 127.0.0.1 and localhost, EC P-256 (fast to make), valid now or on given dates.
 * OpenSSL 3.0's `req -x509` and `x509 -req` take a number of days only, so a certificate already
 * expired (or not yet valid) is signed by `openssl ca -selfsign`, which takes -startdate/-enddate.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OPENSSL = process.env.GL_OPENSSL ?? '/usr/bin/openssl';

export interface CertificatePair {
  certificate: string;
  key: string;
}

export interface CertificateOptions {
  /** Common name (default "localhost"); the SAN always names localhost and 127.0.0.1. */
  commonName?: string;
  /** Validity as openssl's YYYYMMDDHHMMSSZ; both, or neither (then 1 day from now). */
  startDate?: string;
  endDate?: string;
}

function openssl(args: string[], cwd?: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Writes `<dir>/<name>.crt` and `<dir>/<name>.key`: a new key and a self-signed certificate for it. */
export function makeCertificate(dir: string, name: string, options: CertificateOptions = {}): CertificatePair {
  const pair = { certificate: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const subject = `/CN=${options.commonName ?? 'localhost'}`;
  const san = 'subjectAltName=DNS:localhost,IP:127.0.0.1';
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', pair.key]);
  if (options.startDate === undefined) {
    openssl(['req', '-x509', '-key', pair.key, '-subj', subject, '-addext', san, '-days', '1', '-out', pair.certificate]);
    return pair;
  }
  const ca = mkdtempSync(join(dir, `.${name}-ca-`));
  try {
    writeFileSync(join(ca, 'index.txt'), '');
    writeFileSync(join(ca, 'serial'), '01\n');
    writeFileSync(
      join(ca, 'ca.cnf'),
      ['[ca]', 'default_ca = gl', '[gl]', 'database = index.txt', 'new_certs_dir = .', 'serial = serial', 'default_md = sha256', 'policy = any', 'copy_extensions = copy', '[any]', 'commonName = supplied', ''].join('\n'),
    );
    openssl(['req', '-new', '-key', pair.key, '-subj', subject, '-addext', san, '-out', 'request.csr'], ca);
    openssl(['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', pair.key, '-in', 'request.csr', '-out', pair.certificate, '-notext', '-startdate', options.startDate, '-enddate', options.endDate!], ca);
  } finally {
    rmSync(ca, { recursive: true, force: true });
  }
  return pair;
}

/** The SHA-256 fingerprint of a certificate file, as a TLS peer certificate's `fingerprint256` spells it. */
export function certificateFingerprint(path: string): string {
  return new X509Certificate(readFileSync(path)).fingerprint256;
}

