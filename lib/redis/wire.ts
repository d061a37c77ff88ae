/**
 * What travels on the Redis channels between nodes, and its checked decoding: a message from
 * another process is data, so a malformed one is dropped, never trusted or thrown.
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
  const m = parse(json);
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
  return JSON.stringify({ a: p.addr, n: p.name, k: nameKey(p.name), node });
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
