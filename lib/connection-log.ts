/**
 * What the operator learns about connections, in one place: each one's start, refusal, error
 * and end with its reason, failed TLS handshakes and PROXY headers, as one log line and the
 * metrics' counts. One per `ChatServer`; the lines read and dropped are counted here too (per
 * line read, never per recipient).
 */
import type { Refusal } from './admission';
import { Framed, TOO_LONG } from './lines';
import type { Logger } from './logger';
import type { ServerMetrics, Transport } from './metrics';
import type { CloseReason } from './session';

/** Why a session ended: the server's reason, its user's leaving, or its transport failing. */
export type EndReason = CloseReason | 'left' | 'error';

export class ConnectionLog {
  constructor(
    private readonly metrics: ServerMetrics,
    readonly logger: Logger,
    /** Quoted when a reader is cut off for its send queue. */
    private readonly maxQueueBytes: number,
  ) {}

  /** A chat connection turned away at accept, with the notice it was sent. */
  refused(addr: string, transport: Transport, reason: Refusal, notice: string): void {
    this.metrics.disconnects.refused++;
    this.logger.log('info', `refused ${addr}: ${notice}`, { event: 'refused', addr, transport, reason });
  }

  /** A socket of the web port refused at accept (lib/web/limits.ts): logged at debug only, since a flood is thousands. */
  refusedWeb(addr: string, why: Refusal): void {
    this.metrics.disconnects.refused++;
    this.logger.log('debug', `refused ${addr}: ${why}`, { event: 'refused', addr, transport: 'ws', reason: why });
  }

  /** A TLS connection refused at accept and dropped before its handshake ended: at debug, as the web's, since a flood is thousands. */
  readonly refusedInHandshake = (addr: string, why: Refusal): void => {
    this.metrics.disconnects.refused++;
    this.logger.log('debug', `refused ${addr}: ${why} (dropped during its TLS handshake)`, { event: 'refused', addr, transport: 'tls', reason: why });
  };

  /**
   * A connection of the PROXY-protocol port dropped before its header named a client. A health
   * check that connects and closes (`quiet`) is no refusal worth counting or seeing at info.
   */
  readonly refusedProxy = (addr: string, why: string, quiet: boolean): void => {
    if (!quiet) this.metrics.disconnects.refused++;
    this.logger.log(quiet ? 'debug' : 'warn', `refused ${addr}: ${why}`, { event: 'refused', addr, transport: 'tcp', reason: 'proxy_protocol', error: why });
  };

  /** A connection of the TLS port that never became a peer: no TLS spoken, our certificate refused, too slow. */
  readonly handshakeFailed = (addr: string, why: string): void => {
    this.logger.log('info', `tls handshake failed ${addr}: ${why}`, { event: 'tls_handshake_failed', addr, transport: 'tls', error: why });
  };

  /** A listening socket's own trouble, after it is bound. */
  readonly serverError = (line: string): void => {
    this.logger.log('error', line);
  };

  /** A session started. */
  connected(addr: string, transport: Transport): void {
    this.metrics.open[transport]++;
    this.metrics.opened[transport]++;
    this.logger.log('info', `connected ${addr}`, { event: 'connected', addr, transport });
  }

  /** A session's transport failed (it is dropped; its end is logged by `ended`). */
  failed(addr: string, transport: Transport, error: string): void {
    this.logger.log('warn', `error ${addr}: ${error}`, { event: 'error', addr, transport, error });
  }

  /** A session ended: once per session, however it ended. */
  ended(addr: string, transport: Transport, why: EndReason): void {
    this.metrics.open[transport]--;
    this.metrics.disconnects[why]++;
    const line = why === 'left' ? `disconnected ${addr}` : `disconnected ${addr} (${this.describe(why)})`;
    this.logger.log('info', line, { event: 'disconnected', addr, transport, reason: why });
  }

  /** The server shut down: how many sessions it ended, and how many of those it had to destroy. */
  shutdown(sessions: number, destroyed: number, resets: number): void {
    const line = `shutdown: ${sessions} sessions ended (${sessions - destroyed} closed in time); ${resets} connections were reset before they were accepted`;
    this.logger.log('info', line, { event: 'shutdown', sessions, destroyed, reset_before_accept: resets });
  }

  /** A line read from a client, whatever becomes of it. */
  readonly read = (line: Framed): void => {
    this.metrics.received++;
    if (line === TOO_LONG) this.metrics.dropped.too_long++;
  };

  /** A line the rate limit dropped. */
  readonly rateDropped = (): void => {
    this.metrics.dropped.rate++;
  };

  private describe(reason: Exclude<EndReason, 'left'>): string {
    switch (reason) {
      case 'idle':
        return 'kicked: idle';
      case 'flood':
        return 'kicked: flooding';
      case 'sendq':
        return `cut off: send queue over ${this.maxQueueBytes} bytes`;
      case 'shutdown':
        return 'server shutdown';
      case 'error':
        return 'transport error';
    }
  }
}
