/**
 * Throwaway X.509 certificates for the TLS specs, minted at run time with node:crypto alone
 * (no openssl, no package, nothing committed): an EC P-256 key, and a v3 certificate signed by
 * itself or by a given authority, for `CN=localhost` with the names `DNS:localhost` and
 * `IP:127.0.0.1`, as `openssl req -x509 ... -subj /CN=localhost -addext subjectAltName=...`
 * makes it (or RSA, when asked). A few lines of DER are all a certificate needs; spec/e2e/tls-openssl.spec.ts has
 * openssl read and verify what this writes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExecutionContext } from 'ava';

export interface Minted {
  /** The certificate, PEM. */
  readonly cert: string;
  /** Its private key, PEM (PKCS#8, unencrypted). */
  readonly key: string;
  readonly keyObject: crypto.KeyObject;
  /** SHA-256 fingerprint as Node's `getPeerCertificate().fingerprint256` writes it. */
  readonly fingerprint256: string;
}

export interface MintOptions {
  /** The subject's common name (default `localhost`). */
  readonly cn?: string;
  /** subjectAltName entries (default localhost and 127.0.0.1). */
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  /** Valid from/to (default: an hour ago to a day from now). */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** A certificate authority (basicConstraints CA:TRUE) rather than a server's certificate. */
  readonly ca?: boolean;
  /** Signed by this authority; self-signed when absent. */
  readonly issuer?: Minted;
  /** An RSA key of this many bits instead of EC P-256 (a key too small for OpenSSL, say). */
  readonly rsaBits?: number;
}

// --- DER, just the types a certificate uses ---

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const sequence = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const explicit = (n: number, item: Buffer) => tlv(0xa0 + n, item);

function integer(value: Buffer): Buffer {
  let bytes = value;
  while (bytes.length > 1 && bytes[0] === 0 && bytes[1] < 0x80) bytes = bytes.subarray(1);
  return tlv(0x02, bytes[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift((v % 128) | (groups.length > 0 ? 0x80 : 0));
      if (v < 128) break;
    }
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const name = (cn: string) => sequence(set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const RSA_SHA256 = sequence(oid('1.2.840.113549.1.1.11'), tlv(0x05));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

function ipBytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A key and a certificate for it. */
export function mint(options: MintOptions = {}): Minted {
  const { privateKey, publicKey } =
    options.rsaBits === undefined
      ? crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : crypto.generateKeyPairSync('rsa', { modulusLength: options.rsaBits });
  const cn = options.cn ?? 'localhost';
  const now = Date.now();
  const notBefore = options.notBefore ?? new Date(now - 3600_000);
  const notAfter = options.notAfter ?? new Date(now + 24 * 3600_000);
  const serial = crypto.randomBytes(16);
  serial[0] &= 0x7f; // a positive serial, as RFC 5280 requires
  const altNames = [
    ...(options.dns ?? ['localhost']).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
    ...(options.ips ?? ['127.0.0.1']).map((ip) => tlv(0x87, ipBytes(ip))),
  ];
  const extensions = [
    extension('2.5.29.19', true, options.ca ? sequence(tlv(0x01, Buffer.from([0xff]))) : sequence()),
    ...(options.ca ? [extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x01, 0x06])))] : []), // keyCertSign, cRLSign
    ...(altNames.length > 0 ? [extension('2.5.29.17', false, sequence(...altNames))] : []),
  ];
  const issuer = options.issuer;
  const issuerName = issuer ? new crypto.X509Certificate(issuer.cert).subject.replace(/^CN=/, '') : cn;
  const signer = issuer ? issuer.keyObject : privateKey;
  const algorithm = signer.asymmetricKeyType === 'rsa' ? RSA_SHA256 : ECDSA_SHA256;
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    name(issuerName),
    sequence(time(notBefore), time(notAfter)),
    name(cn),
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  const signature = crypto.sign('sha256', tbs, signer);
  const der = sequence(tbs, algorithm, tlv(0x03, Buffer.from([0]), signature));
  const cert = pem('CERTIFICATE', der);
  return {
    cert,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    keyObject: privateKey,
    fingerprint256: new crypto.X509Certificate(cert).fingerprint256,
  };
}

/** A temporary directory removed after the test. */
export function tempDir(t: ExecutionContext, prefix = 'rx-im-tls-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CertFiles {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly minted: Minted;
}

/** Mints a certificate and writes `cert.pem` and `key.pem` (mode 0600) into a temporary directory. */
export function certFiles(t: ExecutionContext, options: MintOptions = {}, dir = tempDir(t)): CertFiles {
  const minted = mint(options);
  return { dir, minted, ...writeCert(dir, minted) };
}

/** Writes a minted certificate and key as `NAMEcert.pem` and `NAMEkey.pem`; returns their paths. */
export function writeCert(dir: string, minted: Minted, prefix = ''): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, `${prefix}cert.pem`);
  const keyFile = path.join(dir, `${prefix}key.pem`);
  fs.writeFileSync(certFile, minted.cert);
  fs.writeFileSync(keyFile, minted.key, { mode: 0o600 });
  return { certFile, keyFile };
}
