/**
 * Admission at accept time, for every port: each socket the server accepts (a TCP or TLS chat
 * client, an HTTP request's connection, and so a WebSocket, whose upgrade keeps its socket) is
 * counted the moment it is accepted against `--max-connections` and `--max-connections-per-ip`,
 * and the web's against their own share, `--max-web-connections`, so that a flood on the web
 * port leaves descriptors for the chat. One `Admission` per `ChatServer`, used by every
 * transport; a socket's place is freed when it closes, once, however it closes.
 *
 * Before this, HTTP and upgrade connections counted toward no limit: 4,200 requests sending
 * their headers a byte a second from one address held 4,073 of the process's 4,096 files.
 */
import type { Socket } from 'node:net';

/** Which port a connection came in by: the line protocol (TCP, TLS) or the web (HTTP, WebSocket). */
export type Door = 'chat' | 'web';

/** Why a connection is refused: the server is closing, full, full for the web, or its address has its share. */
export type Refusal = 'shutdown' | 'full' | 'web_full' | 'per_ip';

export interface AdmissionLimits {
  /** Sockets at once, all ports together. */
  readonly maxConnections: number;
  /** Sockets at once from one IP, all ports together; 0: no limit. */
  readonly maxConnectionsPerIp: number;
  /** Sockets at once on the web port (page requests and WebSockets). */
  readonly maxWebConnections: number;
}

/** One accepted socket's place, or the reason it has none. */
export interface Ticket {
  readonly door: Door;
  /** Why it was refused; undefined: it holds a place until released. */
  readonly refused: Refusal | undefined;
  /**
   * The IP it is counted under; undefined while a trusted proxy has not named its client yet
   * (it then counts in the totals only, see `Admission.name`).
   */
  readonly ip: string | undefined;
}

interface Place extends Ticket {
  ip: string | undefined;
  released: boolean;
}

export class Admission {
  private total = 0;
  private web = 0;
  private readonly perIp = new Map<string, number>();
  private resets = 0;
  private closing = false;

  constructor(readonly limits: AdmissionLimits) {}

  /** Sockets holding a place now, all ports. */
  get connections(): number {
    return this.total;
  }

  /** Sockets holding a place on the web port now. */
  get webConnections(): number {
    return this.web;
  }

  /** Places held under `ip` now. */
  from(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** Connections that were reset before the server accepted them (no address left to name). */
  get resetBeforeAccept(): number {
    return this.resets;
  }

  /** From now on every connection is refused with 'shutdown'. */
  close(): void {
    this.closing = true;
  }

  /**
   * Takes a place for a connection from `ip` at `door`, or says why there is none. `ip`
   * undefined: it comes from a trusted proxy that will name its client (PROXY protocol,
   * X-Forwarded-For); it counts in the totals now and under the client's IP once named.
   */
  admit(door: Door, ip: string | undefined): Ticket {
    const { maxConnections, maxConnectionsPerIp, maxWebConnections } = this.limits;
    const refused: Refusal | undefined = this.closing
      ? 'shutdown'
      : this.total >= maxConnections
        ? 'full'
        : door === 'web' && this.web >= maxWebConnections
          ? 'web_full'
          : ip !== undefined && maxConnectionsPerIp > 0 && this.from(ip) >= maxConnectionsPerIp
            ? 'per_ip'
            : undefined;
    const place: Place = { door, refused, ip, released: refused !== undefined };
    if (refused) return place;
    this.total++;
    if (door === 'web') this.web++;
    if (ip !== undefined) this.perIp.set(ip, this.from(ip) + 1);
    return place;
  }

  /**
   * A proxy named the client of a connection it relays: from now on the place counts under
   * that IP too, unless the IP has its share already ('per_ip'; the place stays held until the
   * connection closes). A ticket already named keeps its IP.
   */
  name(ticket: Ticket, ip: string): Refusal | undefined {
    const place = ticket as Place;
    if (place.released || place.ip !== undefined) return undefined;
    const { maxConnectionsPerIp } = this.limits;
    if (maxConnectionsPerIp > 0 && this.from(ip) >= maxConnectionsPerIp) return 'per_ip';
    place.ip = ip;
    this.perIp.set(ip, this.from(ip) + 1);
    return undefined;
  }

  /** Frees a ticket's place; a second call, or one for a refused ticket, does nothing. */
  release(ticket: Ticket): void {
    const place = ticket as Place;
    if (place.released) return;
    place.released = true;
    this.total--;
    if (place.door === 'web') this.web--;
    if (place.ip === undefined) return;
    const left = this.from(place.ip) - 1;
    if (left > 0) this.perIp.set(place.ip, left);
    else this.perIp.delete(place.ip);
  }

  /**
   * The edge's part, at a transport's 'connection': a place for `socket`, freed when it closes;
   * undefined when it was reset before we got to it (counted, destroyed). `named` false: it
   * comes from a trusted proxy that will name its client.
   */
  admitSocket(socket: Socket, door: Door, named = true): Ticket | undefined {
    const ip = socket.remoteAddress;
    if (ip === undefined || socket.destroyed) {
      this.resets++;
      socket.destroy();
      return undefined;
    }
    const ticket = this.admit(door, named ? ip : undefined);
    if (ticket.refused === undefined) socket.once('close', () => this.release(ticket));
    return ticket;
  }
}

/**
 * `--max-connections` as the process can honour it: lowered to what its open-files limit
 * (from the text of `/proc/self/limits`, when there is one) leaves room for.
 */
export function fitConnections(
  maxConnections: number,
  procLimits: string | undefined,
): { readonly max: number; readonly lowered: boolean; readonly openFiles?: number } {
  const openFiles = procLimits === undefined ? undefined : openFilesLimit(procLimits);
  if (openFiles === undefined) return { max: maxConnections, lowered: false };
  const max = Math.min(maxConnections, connectionsWithin(openFiles));
  return { max, lowered: max < maxConnections, openFiles };
}

/**
 * The most connections the process can hold with `openFiles` descriptors (`ulimit -n`),
 * keeping `reserve` for everything else it opens (listening sockets, the message log's files,
 * Redis, stdio, Node's own): `--max-connections` is lowered to it, so that a flood meets the
 * server's refusal rather than EMFILE, which would refuse the chat's clients too.
 */
export function connectionsWithin(openFiles: number, reserve = 64): number {
  return Math.max(1, openFiles - reserve);
}

/** The soft limit on open files from the text of `/proc/self/limits`, or undefined. */
export function openFilesLimit(procLimits: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(procLimits);
  if (!m || m[1] === 'unlimited') return undefined;
  return Number(m[1]);
}
