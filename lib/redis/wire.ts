/**
 * What travels between nodes through Redis (the log stream's entries, the channels' messages)
 * and its checked decoding: a message from another process is data, so a malformed one is
 * dropped, never trusted or thrown.
 */
import { Presence } from '../hub';
import { Event, nameKey, sanitize } from '../protocol';

/**
 * On `p:events`: an event and the node it comes from (a node delivers its own events
 * locally). A rename travels here too, for the other nodes' view of who is where, but is no
 * event for users (the protocol does not announce renames).
 */
export type Envelope = { readonly o: string; readonly e: Event } | { readonly o: string; readonly renamed: { readonly addr: string; readonly name: string } };

/** On `p:inbox:NODE`: a private message for one member of NODE. */
export interface Letter {
  readonly to: string;
  readonly from: string;
  readonly text: string;
}

/**
 * On `p:inbox:NODE` too: member `to` of NODE took `name` while its holder's node was cut off and
 * reaped; the holder came back and keeps it, so `to` is back to its address (RESYNC says so).
 */
export interface NameTakenBack {
  readonly to: string;
  readonly lost: string;
  readonly addr: string;
}

/** The public events: what the log stream holds. */
export type StreamEvent = Extract<Event, { kind: 'online' | 'offline' | 'say' }>;

/**
 * One entry of the log stream `p:log` (one field, `e`, holding this as JSON).
 * - `o`: the node it comes from (for a node reaped, that node: the reaper writes for it).
 * - `q`: the origin's sequence number of a line (says only): Redis adds an entry only if its
 *   `q` is above the last one added for that node, so a line sent again after a failure that
 *   hid whether it was added is in the stream once; readers skip a `q` they have seen too.
 * - `t`: when it was said (ms), for a line added late (it waited in an outage buffer); the
 *   stream id's time otherwise.
 * - `s`: its origin's users saw it already (said during an outage): that node skips it.
 * - `r`: written by a reconciliation (a node reaped, or back after an outage): the origin's own
 *   users need not be told, the others do.
 */
export interface Entry {
  readonly o: string;
  readonly e: StreamEvent;
  readonly q?: number;
  readonly t?: number;
  readonly s?: boolean;
  readonly r?: boolean;
}

function parse(json: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** The broadcast kinds a node may relay; private messages and notices never go on p:events. */
export function decodeEnvelope(json: string): Envelope | undefined {
  return envelopeOf(parse(json));
}

function envelopeOf(m: Record<string, unknown> | undefined): Envelope | undefined {
  const e = m && typeof m.e === 'object' && m.e !== null ? (m.e as Record<string, unknown>) : undefined;
  if (!m || !e || !isString(m.o) || !isString(e.addr) || !isString(e.name)) return undefined;
  // Sanitised at the origin already; again here, because what reaches users' terminals must
  // not depend on every publisher on the channel being this code.
  const addr = sanitize(e.addr);
  const name = sanitize(e.name);
  switch (e.kind) {
    case 'online':
    case 'offline':
      return { o: m.o, e: { kind: e.kind, addr, name } };
    case 'say':
      return isString(e.text) ? { o: m.o, e: { kind: 'say', addr, name, text: sanitize(e.text) } } : undefined;
    case 'rename':
      return { o: m.o, renamed: { addr, name } };
    default:
      return undefined;
  }
}

/** A stream entry's JSON; undefined for anything malformed or that is not a public event. */
export function decodeEntry(json: string): Entry | undefined {
  const m = parse(json);
  if (!m || !isString(m.o)) return undefined;
  const envelope = envelopeOf(m);
  if (!envelope || !('e' in envelope)) return undefined;
  const e = envelope.e;
  if (e.kind !== 'online' && e.kind !== 'offline' && e.kind !== 'say') return undefined;
  const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
  const q = count(m.q);
  const t = count(m.t);
  return { o: m.o, e, ...(q !== undefined ? { q } : {}), ...(t !== undefined ? { t } : {}), ...(m.s ? { s: true } : {}), ...(m.r ? { r: true } : {}) };
}

/** An entry as the JSON the stream holds; the event's own stamp, if any, is not part of it. */
export function encodeEntry(entry: Entry): string {
  const e = entry.e;
  const event = e.kind === 'say' ? { kind: e.kind, addr: e.addr, name: e.name, text: e.text } : { kind: e.kind, addr: e.addr, name: e.name };
  return JSON.stringify({ o: entry.o, e: event, q: entry.q, t: entry.t, s: entry.s ? 1 : undefined, r: entry.r ? 1 : undefined });
}

/** A name a login on another node took from a member of this one (the CLAIM script). */
export interface NameReclaimed {
  readonly to: string;
  readonly reclaimed: string;
  readonly addr: string;
}

/** A `NameReclaimed` on an inbox channel; undefined for anything else. */
export function decodeReclaimed(json: string): NameReclaimed | undefined {
  const m = parse(json);
  if (!m || !isString(m.to) || !isString(m.reclaimed) || !isString(m.addr)) return undefined;
  return { to: m.to, reclaimed: sanitize(m.reclaimed), addr: sanitize(m.addr) };
}

/** A `NameTakenBack` on an inbox channel; undefined for a private message or anything else. */
export function decodeTakenBack(json: string): NameTakenBack | undefined {
  const m = parse(json);
  if (!m || !isString(m.to) || !isString(m.lost) || !isString(m.addr)) return undefined;
  return { to: m.to, lost: sanitize(m.lost), addr: sanitize(m.addr) };
}

export function decodeLetter(json: string): Letter | undefined {
  const m = parse(json);
  if (!m || !isString(m.to) || !isString(m.from) || !isString(m.text)) return undefined;
  return { to: m.to, from: sanitize(m.from), text: sanitize(m.text) };
}

export function encodeEnvelope(origin: string, event: Event | { readonly kind: 'rename'; readonly addr: string; readonly name: string }): string {
  return JSON.stringify({ o: origin, e: event });
}

/** A member's id across nodes, `NODE/ID`: its field in `p:members` and what LIST returns as its id. */
export function globalId(node: string, id: string): string {
  return `${node}/${id}`;
}

/** A member's record in `p:members`, as `decodeList` reads it back. */
export function encodeRecord(node: string, p: Presence): string {
  // `ak`, the address's name key: where RESYNC sends a member whose name goes back to its holder.
  return JSON.stringify({ a: p.addr, n: p.name, k: nameKey(p.name), ak: nameKey(p.addr), node });
}

/** The LIST script's reply (gid, record JSON, gid, record JSON, ...) as presences; bad records are skipped. */
export function decodeList(reply: readonly unknown[]): Presence[] {
  const out: Presence[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const id = reply[i];
    const rec = typeof reply[i + 1] === 'string' ? parse(reply[i + 1] as string) : undefined;
    if (isString(id) && rec && isString(rec.a) && isString(rec.n)) out.push({ id, addr: rec.a, name: rec.n });
  }
  return out;
}
