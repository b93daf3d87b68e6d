// Certificates for 127.0.0.1/localhost (self-signed, or signed by one of those), made by the test with openssl.

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

/** A new P-256 key, unencrypted, and the name this machine is reached by in the tests. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const SUBJECT_ALT_NAME = 'subjectAltName=IP:127.0.0.1,DNS:localhost';

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });

function made(cert: string, key: string): Cert {
  return { cert, key, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

/** A self-signed certificate (also usable as a CA: see makeSignedCert). */
export function makeCert(name: string, dir = mkdtempSync(path.join(tmpdir(), 'pounce-tls-'))): Cert {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const subject = ['-subj', `/CN=${name}`, '-addext', SUBJECT_ALT_NAME];
  openssl(['req', '-x509', ...NEW_KEY, '-keyout', key, '-out', cert, '-days', '2', ...subject]);
  return made(cert, key);
}

/** A certificate signed by `issuer` (one makeCert made). */
export function makeSignedCert(name: string, issuer: Cert, dir = path.dirname(issuer.cert)): Cert {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const request = path.join(dir, `${name}.csr`);
  const extensions = path.join(dir, `${name}.ext`);
  writeFileSync(extensions, `${SUBJECT_ALT_NAME}\n`);
  openssl(['req', '-new', ...NEW_KEY, '-keyout', key, '-out', request, '-subj', `/CN=${name}`]);
  const ca = ['-CA', issuer.cert, '-CAkey', issuer.key, '-CAcreateserial'];
  openssl(['x509', '-req', '-in', request, ...ca, '-out', cert, '-days', '2', '-extfile', extensions]);
  return made(cert, key);
}

export function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
