/**
 * The server's certificate files, read and checked without a socket: every way a pair can be
 * unusable is one line naming the file, and a reload from broken files keeps the pair in use.
 * Certificates are minted at run time (spec/helpers/certs.ts).
 */
import test from 'ava';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TlsCertificate, describeCertificate, readKeyPair } from '../../lib/tcp/tls';
import { certFiles, mint, tempDir, writeCert } from '../helpers/certs';

function error(certFile: string, keyFile: string): string {
  const loaded = TlsCertificate.load(certFile, keyFile);
  if (loaded.ok) throw new Error('loaded, though it should not have');
  return loaded.error;
}

test('a good pair loads, and says what it is', (t) => {
  const { certFile, keyFile, minted } = certFiles(t);
  const loaded = TlsCertificate.load(certFile, keyFile);
  if (!loaded.ok) return t.fail(loaded.error);
  const { info } = loaded.value;
  t.is(info.subject, 'CN=localhost');
  t.is(info.altNames, 'DNS:localhost, IP Address:127.0.0.1');
  t.is(info.fingerprint256, minted.fingerprint256);
  t.is(loaded.value.serverOptions().cert.toString(), minted.cert);
  t.is(loaded.value.serverOptions().key.toString(), minted.key);
});

test("a chain (the server's certificate, then its CA) loads as the server's certificate", (t) => {
  const dir = tempDir(t);
  const ca = mint({ cn: 'rx-im test CA', ca: true, dns: [], ips: [] });
  const leaf = mint({ issuer: ca });
  const { certFile, keyFile } = writeCert(dir, { ...leaf, cert: leaf.cert + ca.cert });
  const loaded = readKeyPair(certFile, keyFile);
  t.true(loaded.ok);
  t.is(loaded.ok && loaded.value.info.fingerprint256, leaf.fingerprint256);
});

test('missing files and directories are named, with why', (t) => {
  const { dir, certFile, keyFile } = certFiles(t);
  const missing = path.join(dir, 'nope.pem');
  t.is(error(missing, keyFile), `cannot read the TLS certificate ${missing}: no such file`);
  t.is(error(certFile, missing), `cannot read the TLS key ${missing}: no such file`);
  t.is(error(dir, keyFile), `cannot read the TLS certificate ${dir}: it is a directory`);
});

test('a file that is not a PEM certificate, or not a PEM key, is named', (t) => {
  const { dir, certFile, keyFile } = certFiles(t);
  const garbage = path.join(dir, 'garbage.pem');
  fs.writeFileSync(garbage, 'hello\n');
  t.is(error(garbage, keyFile), `the TLS certificate ${garbage} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  t.is(error(keyFile, keyFile), `the TLS certificate ${keyFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, 'the key given as the certificate');
  t.is(error(certFile, garbage), `cannot use the TLS key ${garbage}: it holds no PEM private key`);
  t.is(error(certFile, certFile), `cannot use the TLS key ${certFile}: it holds no PEM private key`, 'the certificate given as the key');
  const broken = path.join(dir, 'broken.pem');
  fs.writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  t.is(error(broken, keyFile), `the TLS certificate ${broken} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
});

test('an encrypted key is refused, saying so', (t) => {
  const { dir, certFile, minted } = certFiles(t);
  const encrypted = path.join(dir, 'encrypted.pem');
  fs.writeFileSync(encrypted, minted.keyObject.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }));
  t.regex(error(certFile, encrypted), /^cannot use the TLS key .*encrypted\.pem: it is encrypted/);
});

test('a certificate and a key that do not belong together are refused', (t) => {
  const { certFile, dir } = certFiles(t);
  const other = writeCert(dir, mint(), 'other-');
  t.is(error(certFile, other.keyFile), `the TLS certificate ${certFile} and the key ${other.keyFile} do not belong together`);
});

test('a pair OpenSSL refuses at its security level is refused at load, not at the first handshake', (t) => {
  // A 512-bit RSA key: the pair belongs together, and createSecureContext says "ee key too small".
  const { certFile, keyFile } = certFiles(t, { rsaBits: 512 });
  t.regex(error(certFile, keyFile), /^cannot use the TLS certificate .*cert\.pem with the key .*key\.pem: .*too small/);
});

test('describe: names, expiry (or that it expired) and fingerprint on one line', (t) => {
  const info = { subject: 'CN=localhost', altNames: 'DNS:localhost', validTo: new Date('2030-01-02T03:04:05Z'), fingerprint256: 'AB:CD' };
  t.is(describeCertificate(info, new Date('2029-01-01T00:00:00Z')), 'CN=localhost (DNS:localhost), valid until 2030-01-02T03:04:05.000Z, sha256 AB:CD');
  t.is(
    describeCertificate({ ...info, altNames: undefined }, new Date('2031-01-01T00:00:00Z')),
    'CN=localhost, EXPIRED on 2030-01-02T03:04:05.000Z, sha256 AB:CD',
  );
});

test('an expired certificate still loads (the operator is told), and its expiry is read from it', (t) => {
  const notAfter = new Date(Date.now() - 3600_000);
  const { certFile, keyFile } = certFiles(t, { notBefore: new Date(Date.now() - 48 * 3600_000), notAfter });
  const loaded = TlsCertificate.load(certFile, keyFile);
  if (!loaded.ok) return t.fail(loaded.error);
  t.is(Math.floor(loaded.value.info.validTo.getTime() / 1000), Math.floor(notAfter.getTime() / 1000));
  t.regex(describeCertificate(loaded.value.info), /EXPIRED on/);
});

test('reload: a new pair replaces the old; broken files leave the old one in use', (t) => {
  const { dir, certFile, keyFile, minted } = certFiles(t);
  const loaded = TlsCertificate.load(certFile, keyFile);
  if (!loaded.ok) return t.fail(loaded.error);
  const certificate = loaded.value;

  fs.writeFileSync(certFile, mint().cert); // a new certificate, the old key
  const refused = certificate.reload();
  t.false(refused.ok);
  t.is(certificate.info.fingerprint256, minted.fingerprint256);
  t.is(certificate.serverOptions().cert.toString(), minted.cert);

  const renewed = mint();
  writeCert(dir, renewed);
  const reloaded = certificate.reload();
  t.true(reloaded.ok);
  t.is(reloaded.ok && reloaded.value.fingerprint256, renewed.fingerprint256);
  t.is(certificate.info.fingerprint256, renewed.fingerprint256);
  t.is(certificate.serverOptions().cert.toString(), renewed.cert);

  fs.rmSync(keyFile);
  t.is(certificate.reload().ok, false);
  t.is(certificate.info.fingerprint256, renewed.fingerprint256);
});

test('the minted certificates are what they claim: self-signed, or signed by their CA, for the names asked', (t) => {
  const ca = mint({ cn: 'rx-im test CA', ca: true, dns: [], ips: [] });
  const leaf = mint({ issuer: ca, dns: ['chat.test'], ips: ['127.0.0.2'] });
  const caCert = new crypto.X509Certificate(ca.cert);
  const leafCert = new crypto.X509Certificate(leaf.cert);
  t.true(caCert.ca);
  t.false(leafCert.ca);
  t.true(leafCert.verify(caCert.publicKey));
  t.true(leafCert.checkIssued(caCert));
  t.false(leafCert.verify(new crypto.X509Certificate(mint().cert).publicKey));
  t.is(leafCert.checkHost('chat.test'), 'chat.test');
  t.is(leafCert.checkIP('127.0.0.2'), '127.0.0.2');
  t.is(leafCert.checkIP('127.0.0.1'), undefined);
  const self = new crypto.X509Certificate(mint().cert);
  t.true(self.verify(self.publicKey));
});
