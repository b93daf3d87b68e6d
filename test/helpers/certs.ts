// Self-signed certificates for 127.0.0.1/localhost, made by the test with openssl.

import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Cert {
  cert: string;
  key: string;
  /** SHA-256 fingerprint as tls reports it (`fingerprint256`). */
  fingerprint: string;
}

export function makeCert(name: string, dir = mkdtempSync(path.join(tmpdir(), 'pounce-tls-'))): Cert {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

export function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A certificate for 127.0.0.1/localhost signed by `issuer` (made by makeCert, a self-signed root). */
export function makeSignedCert(name: string, issuer: Cert, dir = path.dirname(issuer.cert)): Cert {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const request = path.join(dir, `${name}.csr`);
  const extensions = path.join(dir, `${name}.ext`);
  writeFileSync(extensions, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      key,
      '-out',
      request,
      '-subj',
      `/CN=${name}`,
    ]),
  );
  openssl(
    ['x509', '-req', '-in', request, '-CA', issuer.cert, '-CAkey', issuer.key, '-CAcreateserial'].concat([
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      extensions,
    ]),
  );
  return { cert, key, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}
