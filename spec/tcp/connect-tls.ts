/**
 * TLS test clients for the end-to-end specs: the line protocol over TLS as a `TcpClient`
 * (spec/helpers/tcp.ts reads a TLS socket as it reads a plain one), a WSS chat client, and a
 * bare handshake that reports which certificate the server presented.
 */
import * as https from 'node:https';
import * as tls from 'node:tls';
import WebSocket from 'ws';
import { TcpClient } from '../helpers/tcp';
import { WsClient } from '../web/ws-client';

export interface TlsClientOptions {
  /** Trusted certificates (PEM); without them, and without `insecure`, only the system's CAs. */
  readonly ca?: string | readonly string[];
  /** Do not check the server's certificate (`--insecure`). */
  readonly insecure?: boolean;
  readonly host?: string;
}

function tlsOptions(port: number, options: TlsClientOptions): tls.ConnectionOptions {
  const ca = typeof options.ca === 'string' ? [options.ca] : options.ca ? [...options.ca] : undefined;
  return { host: options.host ?? '127.0.0.1', port, ca, rejectUnauthorized: !options.insecure };
}

/** A raw TLS socket once its handshake is done; rejects with the handshake's error (its `code` kept). */
export function handshake(port: number, options: TlsClientOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(tlsOptions(port, options));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** The line protocol over TLS, read like a plain connection. */
export async function connectTls(port: number, options: TlsClientOptions = {}): Promise<TcpClient> {
  const socket = await handshake(port, options);
  socket.setNoDelay(true);
  return new TcpClient(socket);
}

/** The SHA-256 fingerprint of the certificate the server presents to a new handshake. */
export async function presented(port: number): Promise<string> {
  const socket = await handshake(port, { insecure: true });
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

/** `GET path` over HTTPS: the status, the body, and the fingerprint of the certificate presented. */
export function httpsGet(port: number, path: string, ca: string): Promise<{ status: number; body: string; fingerprint256: string }> {
  return new Promise((resolve, reject) => {
    // agent: false, so that every request makes its own handshake (and sees the current certificate).
    const req = https.get({ host: '127.0.0.1', port, path, ca, agent: false }, (res) => {
      const fingerprint256 = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint256 }));
    });
    req.on('error', reject);
  });
}

/** A WSS chat connection to the web edge's `/chat`, with the page's https Origin unless told otherwise. */
export function connectWss(port: number, ca: string, origin: string | null = `https://127.0.0.1:${port}`): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/chat`, { ca, ...(origin === null ? {} : { origin }) });
    // Listening from the start: the server's first line may come with the handshake.
    const client = new WsClient(ws);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    ws.once('open', () => resolve(client));
  });
}
