/**
 * The line protocol over TLS (`--tls-cert`, `--tls-key`, `--tls-port`): the server's
 * certificate and key, read and checked before anything listens and read again on reload, and
 * a TLS listener whose sockets become the same socket peers as the plain port's, marked
 * secure. The web edge serves HTTPS with the same `TlsCertificate`, so one reload reaches both.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import type { Refusal, Ticket } from '../admission';
import { formatAddress, type Peer } from '../peer';
import type { Listener, TcpOptions } from './listen';
import { socketPeer } from './peer';

/** What the operator is told about a certificate: enough to recognise it in a log. */
export interface CertificateInfo {
  /** `CN=localhost`, as the certificate names its subject. */
  readonly subject: string;
  /** `DNS:localhost, IP Address:127.0.0.1`, or undefined without subjectAltName. */
  readonly altNames: string | undefined;
  readonly validTo: Date;
  /** SHA-256 of the certificate, as `getPeerCertificate().fingerprint256` and browsers show it. */
  readonly fingerprint256: string;
}

/** The certificate and key as a server takes them. */
interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly info: CertificateInfo;
}

export type Loaded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

function readPem(what: string, file: string): Buffer | string {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    return `cannot read the TLS ${what} ${file}: ${why}`;
  }
}

/**
 * Reads a certificate (PEM; a chain: the server's own first) and its private key (PEM,
 * unencrypted), and checks that they belong together, so that a mistake is one clear line at
 * start or on reload rather than a handshake failing for every client later.
 */
export function readKeyPair(certFile: string, keyFile: string): Loaded<KeyPair> {
  const cert = readPem('certificate', certFile);
  if (typeof cert === 'string') return { ok: false, error: cert };
  const key = readPem('key', keyFile);
  if (typeof key === 'string') return { ok: false, error: key };
  let x509: crypto.X509Certificate;
  try {
    if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate');
    x509 = new crypto.X509Certificate(cert);
  } catch {
    return { ok: false, error: `the TLS certificate ${certFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(key.toString('latin1')) || /passphrase/i.test((err as Error).message);
    const why = encrypted ? 'it is encrypted (give the key without a passphrase, readable only by the server)' : 'it holds no PEM private key';
    return { ok: false, error: `cannot use the TLS key ${keyFile}: ${why}` };
  }
  if (!x509.checkPrivateKey(privateKey)) return { ok: false, error: `the TLS certificate ${certFile} and the key ${keyFile} do not belong together` };
  try {
    // What the handshake will use: it also refuses what OpenSSL's security level refuses (a key too small...).
    tls.createSecureContext({ cert, key });
  } catch (err) {
    return { ok: false, error: `cannot use the TLS certificate ${certFile} with the key ${keyFile}: ${(err as Error).message}` };
  }
  const info: CertificateInfo = {
    subject: x509.subject.replace(/\n/g, ', '),
    altNames: x509.subjectAltName,
    validTo: new Date(x509.validTo),
    fingerprint256: x509.fingerprint256,
  };
  return { ok: true, value: { cert, key, info } };
}

/** One line for the operator's log. */
export function describeCertificate(info: CertificateInfo, now: Date = new Date()): string {
  const names = info.altNames === undefined ? '' : ` (${info.altNames})`;
  const until = info.validTo.getTime() <= now.getTime() ? `EXPIRED on ${info.validTo.toISOString()}` : `valid until ${info.validTo.toISOString()}`;
  return `${info.subject}${names}, ${until}, sha256 ${info.fingerprint256}`;
}

/**
 * The server's certificate, from its two files: every TLS server of the process (the line
 * port, the web chat's HTTPS) takes it from here, so that `reload()` hands a new pair to all of
 * them at once. A reload changes what new handshakes present; connections already open keep
 * theirs.
 */
export class TlsCertificate {
  private readonly servers = new Set<tls.Server>();

  private constructor(
    readonly certFile: string,
    readonly keyFile: string,
    private pair: KeyPair,
  ) {}

  /** The pair as it is in the files now, or the one-line reason it cannot be used. */
  static load(certFile: string, keyFile: string): Loaded<TlsCertificate> {
    const pair = readKeyPair(certFile, keyFile);
    return pair.ok ? { ok: true, value: new TlsCertificate(certFile, keyFile, pair.value) } : pair;
  }

  get info(): CertificateInfo {
    return this.pair.info;
  }

  /** What `tls.createServer` and `https.createServer` are given. */
  serverOptions(): { cert: Buffer; key: Buffer } {
    return { cert: this.pair.cert, key: this.pair.key };
  }

  /** `server` gets every reloaded pair from now on; the function returned stops that. */
  use(server: tls.Server): () => void {
    this.servers.add(server);
    return () => this.servers.delete(server);
  }

  /**
   * Reads the files again. When they hold a usable pair, every server using this certificate
   * presents it to new handshakes; when not, nothing changes and the reason is returned.
   */
  reload(): Loaded<CertificateInfo> {
    const pair = readKeyPair(this.certFile, this.keyFile);
    if (!pair.ok) return pair;
    for (const server of this.servers) server.setSecureContext({ cert: pair.value.cert, key: pair.value.key });
    this.pair = pair.value;
    return { ok: true, value: pair.value.info };
  }
}

/** The client's side (`rx-im-client --tls`): what `tls.connect` is given, the `--ca` file read and checked. */
export function clientTlsOptions(options: { readonly ca?: string; readonly insecure: boolean }): Loaded<tls.ConnectionOptions> {
  if (options.insecure) return { ok: true, value: { rejectUnauthorized: false } };
  if (options.ca === undefined) return { ok: true, value: { rejectUnauthorized: true } };
  const ca = readPem('CA file', options.ca);
  if (typeof ca === 'string') return { ok: false, error: ca };
  try {
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate');
    new crypto.X509Certificate(ca); // parsed only to be checked: it throws on what is not one
  } catch {
    return { ok: false, error: `the CA file ${options.ca} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
  }
  return { ok: true, value: { ca, rejectUnauthorized: true } };
}

/**
 * A failed handshake's error as the client shows it: OpenSSL's words, which say what is wrong
 * ("self-signed certificate"), with its code, which is what people search for.
 */
export function tlsFailure(error: unknown): unknown {
  const e = error as { code?: unknown } | null;
  if (typeof e?.code !== 'string' || !/^[A-Z0-9_]+$/.test(e.code) || /^E[A-Z]+$/.test(e.code)) return error;
  return { message: `${sslReason(error as Error)} (${e.code})` };
}

/** OpenSSL's reason ("wrong version number") without the error queue's dump around it; Node's own messages whole. */
function sslReason(err: Error & { reason?: unknown; library?: unknown }): string {
  return err.library !== undefined && typeof err.reason === 'string' && err.reason !== '' ? err.reason : err.message.split('\n')[0];
}

/** The line protocol's TLS port unless told (`--tls-port`; the client's `--tls` too): the plain port's neighbour. */
export const DEFAULT_TLS_PORT = 8889;

/** A handshake that does not finish in this long is dropped (Node's own default is two minutes). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * A connection refused at accept (it holds no place) has this long to finish its handshake and
 * read why: as long as the plain port lingers for its refused ones (lib/tcp/peer.ts).
 */
export const REFUSED_HANDSHAKE_TIMEOUT_MS = 1000;

export interface TlsListenOptions extends Omit<TcpOptions, 'proxy'> {
  readonly certificate: TlsCertificate;
  readonly handshakeTimeoutMs?: number;
  /** A connection refused at accept is dropped when its handshake has not ended after this long. */
  readonly refusedHandshakeTimeoutMs?: number;
  /** A connection that never became a peer: no TLS spoken, our certificate refused, too slow. */
  readonly handshakeFailed?: (addr: string, why: string) => void;
  /** A connection refused at accept that was dropped before its handshake ended (it never heard why). */
  readonly refused?: (addr: string, why: Refusal) => void;
}

/** Why a refused connection was dropped during its handshake: the error its TLS socket reports. */
class DroppedRefused extends Error {
  constructor(
    readonly addr: string,
    readonly why: Refusal,
  ) {
    super(`refused (${why}) and dropped during its handshake`);
  }
}

/** A connection between its accept and the end of its handshake. */
interface Handshaking {
  readonly raw: net.Socket;
  /** Its place, taken at accept (`admit`). */
  readonly ticket: Ticket | undefined;
  /** For a refused one: when it is dropped. */
  readonly timer: NodeJS.Timeout | undefined;
}

/**
 * Listens with TLS; each connection whose handshake completes is a peer with `secure: true`.
 * With `admit`, each connection takes its place at the raw accept, before its handshake (which
 * holds a descriptor for as long as the handshake timeout), and its peer carries the ticket.
 * Resolves with the address actually bound, rejects with the listen error (EADDRINUSE...).
 */
export function listenTls(accept: (peer: Peer, ticket?: Ticket) => void, options: TlsListenOptions, log: (line: string) => void): Promise<Listener> {
  const { certificate } = options;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS;
  // Connections still in their handshake, by remote address: not peers yet, so nobody else
  // would close them at shutdown, and the server's close would wait for each to time out.
  const handshaking = new Map<string, Handshaking>();
  const remote = (socket: net.Socket) => formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
  const server = tls.createServer({ ...certificate.serverOptions(), handshakeTimeout: handshakeTimeoutMs }, (socket) => {
    const addr = remote(socket);
    const entry = handshaking.get(addr);
    handshaking.delete(addr);
    clearTimeout(entry?.timer);
    // Reset before we got to it: no address, nobody to announce.
    if (socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    accept(socketPeer(socket, { maxLineBytes: options.maxLineBytes, outbox: options.outbox, metrics: options.metrics, secure: true }), entry?.ticket);
  });
  server.on('connection', (raw: net.Socket) => {
    const ticket = options.admit?.(raw);
    if (options.admit && !ticket) return; // reset before we got to it: counted, destroyed
    if (raw.remoteAddress === undefined) return;
    const addr = remote(raw);
    const refused = ticket?.refused;
    // Dropped with an error of ours, which reaches 'tlsClientError' below: told once, as a refusal.
    const timer =
      refused === undefined
        ? undefined
        : setTimeout(() => raw.destroy(new DroppedRefused(addr, refused)), options.refusedHandshakeTimeoutMs ?? REFUSED_HANDSHAKE_TIMEOUT_MS);
    const entry: Handshaking = { raw, ticket, timer };
    handshaking.set(addr, entry);
    raw.once('close', () => {
      clearTimeout(timer);
      if (handshaking.get(addr) === entry) handshaking.delete(addr);
    });
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    const addr = remote(socket);
    // With a listener here, Node leaves the socket open (a timed-out handshake would stay forever).
    socket.destroy();
    if (err instanceof DroppedRefused) return options.refused?.(err.addr, err.why);
    const timedOut = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
    const code = err.code === undefined ? '' : ` (${err.code})`;
    options.handshakeFailed?.(addr, timedOut ? `no handshake within ${handshakeTimeoutMs} ms` : sslReason(err) + code);
  });
  const stopUsing = certificate.use(server);
  return new Promise((resolve, reject) => {
    server.once('error', (err: Error) => {
      stopUsing();
      reject(err);
    });
    server.listen({ port: options.port, host: options.host, backlog: 4096 }, () => {
      server.removeAllListeners('error');
      server.on('error', (err: Error) => log(`server error: ${err.message}`));
      const bound = server.address() as net.AddressInfo;
      resolve({
        host: bound.address,
        port: bound.port,
        close: () =>
          new Promise<void>((done) => {
            stopUsing();
            server.close(() => done());
            for (const { raw, timer } of handshaking.values()) {
              clearTimeout(timer);
              raw.destroy();
            }
            handshaking.clear();
          }),
      });
    });
  });
}
