/**
 * The router's certificate and key checks (host/tls.ts) on files made here with openssl, and the
 * schema's router.tls fields. Files only, no nginx: the real router serving them is test/e2e/tls.test.ts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsFingerprint, tlsProblems } from '../../host/tls';
import { parseDeploySpec } from '../../src/config/load';
import { ConfigError } from '../../src/errors';
import { makeCertificate, type CertificatePair } from '../../harness/tls';
import { shopSpec } from '../../harness/specs';

let dir: string;
let good: CertificatePair;
let other: CertificatePair;
let expired: CertificatePair;
let future: CertificatePair;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'greenlight-tls-unit-'));
  good = makeCertificate(dir, 'good');
  other = makeCertificate(dir, 'other');
  expired = makeCertificate(dir, 'expired', { startDate: '20200101000000Z', endDate: '20200102000000Z' });
  future = makeCertificate(dir, 'future', { startDate: '20990101000000Z', endDate: '20990201000000Z' });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problems = (certificate: string, key: string) => tlsProblems({ certificate, key }, 'router.tls');

describe('tlsProblems (router.tls at validate)', () => {
  it('passes a matching, valid pair', async () => {
    expect(await problems(good.certificate, good.key)).toEqual([]);
  });

  it('refuses a key that is not the certificate\'s, naming router.tls.key, both files and the fix', async () => {
    expect(await problems(good.certificate, other.key)).toEqual([
      `router.tls.key: "${other.key}" is not the private key of the certificate in router.tls.certificate ("${good.certificate}"): name the key it was issued for (certbot: privkey.pem beside fullchain.pem), and put the server certificate first in the certificate file`,
    ]);
  });

  it('refuses an expired certificate', async () => {
    expect(await problems(expired.certificate, expired.key)).toEqual([
      `router.tls.certificate: "${expired.certificate}" expired on 2020-01-02T00:00:00.000Z: renew it (certbot renew) and deploy again; nginx would serve it and every client would refuse it`,
    ]);
  });

  it('refuses a certificate not yet valid', async () => {
    expect(await problems(future.certificate, future.key)).toEqual([
      `router.tls.certificate: "${future.certificate}" is not valid before 2099-01-01T00:00:00.000Z: check this host's clock, or wait for the certificate's start`,
    ]);
  });

  it('refuses files that do not exist, or are folders, naming each field', async () => {
    const missing = join(dir, 'nope', 'cert.pem');
    const folder = join(dir, 'a-folder');
    mkdirSync(folder, { recursive: true });
    expect(await problems(missing, folder)).toEqual([
      `router.tls.certificate: "${missing}" does not exist: point it at the file on this host, readable by the worker's user (nginx's master reads it as that user)`,
      `router.tls.key: "${folder}" is a folder, not a file: point it at the file on this host, readable by the worker's user (nginx's master reads it as that user)`,
    ]);
  });

  it('refuses garbage, and the two files swapped', async () => {
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate at all\n');
    expect(await problems(garbage, garbage)).toEqual([
      `router.tls.certificate: "${garbage}" is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line): name the certificate file (certbot: fullchain.pem), not the key or a DER file (openssl x509 -inform der -in FILE -out FILE.pem)`,
      `router.tls.key: "${garbage}" is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" line): name the key file (certbot: privkey.pem), not the certificate`,
    ]);
    expect(await problems(good.key, good.certificate)).toHaveLength(2);
  });

  it('refuses a PEM block that does not parse', async () => {
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const [problem, ...rest] = await problems(broken, good.key);
    expect(rest).toEqual([]);
    expect(problem).toMatch(new RegExp(`^router\\.tls\\.certificate: "${broken}" does not parse as a PEM certificate \\(.+\\): replace it with the certificate your CA issued$`));
  });

  it("names a fleet host's field", async () => {
    expect(await tlsProblems({ certificate: good.certificate, key: other.key }, 'hosts[web-1].router.tls')).toEqual([expect.stringMatching(/^hosts\[web-1\]\.router\.tls\.key: /)]);
  });
});

describe('tlsFingerprint', () => {
  it('changes when the files are replaced in place, and only then', async () => {
    const live = { certificate: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(good.certificate, live.certificate);
    copyFileSync(good.key, live.key);
    const before = await tlsFingerprint(live);
    expect(before).toMatch(/^[0-9a-f]{16}$/);
    expect(await tlsFingerprint(live)).toBe(before);
    copyFileSync(other.certificate, live.certificate);
    copyFileSync(other.key, live.key);
    expect(await tlsFingerprint(live)).not.toBe(before);
  });
});

describe('router.tls in the schema', () => {
  const tls = { certificate: '/etc/tls/cert.pem', key: '/etc/tls/key.pem' };
  const issues = (input: unknown): string[] => {
    try {
      parseDeploySpec(input);
      return [];
    } catch (err) {
      return (err as ConfigError).issues;
    }
  };

  it('takes absolute paths and a redirect port', () => {
    expect(parseDeploySpec(shopSpec({}, { router: { port: 443, tls: { ...tls, redirectPort: 80 } } })).router).toEqual({ port: 443, tls: { ...tls, redirectPort: 80 } });
  });

  it.each([
    [{ router: { port: 443, tls: { ...tls, certificate: 'cert.pem' } } }, 'router.tls.certificate: must be an absolute path (starting with "/") of the certificate: nginx would resolve a relative path against its own prefix'],
    [{ router: { port: 443, tls: { ...tls, key: '/etc/$x/key.pem' } } }, 'router.tls.key: must not contain "$" or a line break: nginx would read "$" as a variable (use a symlink without it)'],
    [{ router: { port: 443, tls: { key: '/k.pem' } } }, 'router.tls.certificate: is required (must be the absolute path of the certificate (PEM), e.g. "/etc/letsencrypt/live/shop.example.com/fullchain.pem")'],
    [{ router: { port: 443, tls: { ...tls, redirectPort: 443 } } }, 'router.tls.redirectPort: port 443 is router.port itself: the redirect needs its own plain-HTTP port (e.g. 80 with router.port 443)'],
    [{ router: { port: 443, tls: { ...tls, redirectPort: 5001 } } }, "services.backend.hostPorts.blue: port 5001 is the router's redirect port (router.tls.redirectPort): pick another host port"],
    [
      { router: { port: 443, tls }, hosts: [{ name: 'web-1' }, { name: 'web-2', router: { port: 8443 } }] },
      "hosts.1.router.tls: is missing while router.tls is set: host web-2's router replaces `router` whole (port and tls), so it would serve plain HTTP; repeat the tls settings here (its own certificate paths on that host)",
    ],
    [
      { router: { port: 443, tls }, hosts: [{ name: 'web-1', router: { port: 8443, tls: { ...tls, redirectPort: 5003 } } }] },
      'hosts.0.router.tls.redirectPort: port 5003 is already frontend.blue on host web-1: give every service and color its own host port',
    ],
  ])('refuses %#: %j', (overrides, issue) => {
    expect(issues(shopSpec({}, overrides as Parameters<typeof shopSpec>[1]))).toEqual([issue]);
  });
});
