/**
 * The wire protocol: a line becomes a typed Command, and the hub's events become lines.
 * Wire-compatible with the Go reference (`who`, `rename|NAME`, `to|NAME|TEXT`, plain text).
 */
import { OperatorFunction, map } from 'rxjs';
import { Framed, TOO_LONG } from './lines';
import { Texts } from './texts';

// The name rules live in their own file; the protocol's users find them here as before.
export { MAX_NAME_CHARS, nameKey, nameProblem } from './names';

export type Command =
  | { readonly kind: 'say'; readonly text: string }
  | { readonly kind: 'who' }
  | { readonly kind: 'rename'; readonly name: string }
  | { readonly kind: 'to'; readonly name: string; readonly text: string }
  /** `cap|NAME`: asks for a protocol extension (`tags`: ids and times on conversation lines). */
  | { readonly kind: 'cap'; readonly name: string }
  /** `history|N`: the last N logged events; `count` is undefined when N is not a whole number >= 1. */
  | { readonly kind: 'history'; readonly count: number | undefined }
  /** `since|ID`: every logged event after ID. */
  | { readonly kind: 'since'; readonly id: string }
  /** `register|PASSWORD`: the user's current name becomes an account (lib/auth/). */
  | { readonly kind: 'register'; readonly password: string }
  /** `login|NAME|PASSWORD`: NAME has no `|`, so PASSWORD is the whole rest of the line. */
  | { readonly kind: 'login'; readonly name: string; readonly password: string }
  /** `passwd|OLD|NEW`: split at the first `|` (a password never contains one, see lib/auth/passwords.ts). */
  | { readonly kind: 'passwd'; readonly old: string; readonly password: string }
  | { readonly kind: 'logout' }
  | { readonly kind: 'invalid'; readonly reason: 'privateFormat' | 'tooLong' }
  /** A malformed account command: which one, for its usage notice. */
  | { readonly kind: 'invalid'; readonly reason: 'accountFormat'; readonly command: 'register' | 'login' | 'passwd' };

// C0 controls, DEL and C1 controls: never relayed raw (ESC starts terminal escape sequences).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// Bidirectional overrides and isolates: they reorder how the rest of a line is displayed.
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Makes text safe to show on another user's terminal: each control character becomes its
 * visible Unicode "control picture" (ESC -> ␛, BEL -> ␇), tab a space, C1 controls and bidi
 * overrides U+FFFD. Invalid UTF-8 was already replaced by U+FFFD when the line was decoded.
 */
export function sanitize(text: string): string {
  if (!UNSAFE.test(text)) return text;
  return text
    .replace(CONTROL, (c) => {
      const code = c.charCodeAt(0);
      if (code === 0x09) return ' ';
      if (code < 0x20) return String.fromCharCode(0x2400 + code);
      if (code === 0x7f) return '\u2421';
      return '\ufffd';
    })
    .replace(BIDI, '\ufffd');
}

/** `A|B...` -> [A, B...] at the first `|`; empty strings for a missing part. */
function splitAtBar(rest: string): [string, string] {
  const bar = rest.indexOf('|');
  return bar < 0 ? [rest, ''] : [rest.slice(0, bar), rest.slice(bar + 1)];
}

/** Parses one line; never throws. */
export function parseCommand(line: Framed): Command {
  if (line === TOO_LONG) return { kind: 'invalid', reason: 'tooLong' };
  if (line === 'who') return { kind: 'who' };
  if (line.startsWith('rename|')) return { kind: 'rename', name: line.slice('rename|'.length) };
  if (line.startsWith('to|')) {
    const rest = line.slice('to|'.length);
    const bar = rest.indexOf('|');
    // `to|NAME|TEXT`: TEXT keeps any further `|`. No name, no `|`, or no text: a format error.
    if (bar <= 0 || bar === rest.length - 1) return { kind: 'invalid', reason: 'privateFormat' };
    return { kind: 'to', name: rest.slice(0, bar), text: sanitize(rest.slice(bar + 1)) };
  }
  if (line.startsWith('cap|')) return { kind: 'cap', name: line.slice('cap|'.length) };
  if (line.startsWith('history|')) {
    const n = line.slice('history|'.length);
    return { kind: 'history', count: /^[1-9]\d{0,8}$/.test(n) ? Number(n) : undefined };
  }
  if (line.startsWith('since|')) return { kind: 'since', id: line.slice('since|'.length) };
  if (line.startsWith('register|')) {
    const password = line.slice('register|'.length);
    return password === '' ? { kind: 'invalid', reason: 'accountFormat', command: 'register' } : { kind: 'register', password };
  }
  // Passwords are kept as sent (not sanitised): they are compared, never shown.
  if (line.startsWith('login|')) {
    const [name, password] = splitAtBar(line.slice('login|'.length));
    return name && password ? { kind: 'login', name, password } : { kind: 'invalid', reason: 'accountFormat', command: 'login' };
  }
  if (line.startsWith('passwd|')) {
    const [old, password] = splitAtBar(line.slice('passwd|'.length));
    return old && password ? { kind: 'passwd', old, password } : { kind: 'invalid', reason: 'accountFormat', command: 'passwd' };
  }
  if (line === 'logout') return { kind: 'logout' };
  return { kind: 'say', text: sanitize(line) };
}

/**
 * Lines -> commands.
 *
 * ```
 * lines:    --"who"--"hi"--"to|bob"--|
 * commands: --who----say---invalid---|
 * ```
 */
export function parseCommands(): OperatorFunction<Framed, Command> {
  return map(parseCommand);
}

/** The command as the client writes it on the wire (without the newline). */
export function formatCommand(command: Exclude<Command, { kind: 'invalid' }>): string {
  switch (command.kind) {
    case 'say':
      return command.text;
    case 'who':
      return 'who';
    case 'rename':
      return `rename|${command.name}`;
    case 'to':
      return `to|${command.name}|${command.text}`;
    case 'cap':
      return `cap|${command.name}`;
    case 'history':
      return `history|${command.count ?? ''}`;
    case 'since':
      return `since|${command.id}`;
    case 'register':
      return `register|${command.password}`;
    case 'login':
      return `login|${command.name}|${command.password}`;
    case 'passwd':
      return `passwd|${command.old}|${command.password}`;
    case 'logout':
      return 'logout';
  }
}

/**
 * Where a shared hub's event stands in the cluster's log (the Redis stream's id, and the time
 * it was said: for a line said during an outage and added late, its original time). Absent
 * from a hub in memory: the server's log stamps those.
 */
export interface EventStamp {
  readonly id: string;
  readonly time: number;
}

/** What the hub carries to sessions. */
export type Event =
  | { readonly kind: 'online'; readonly addr: string; readonly name: string; readonly stamp?: EventStamp }
  | { readonly kind: 'offline'; readonly addr: string; readonly name: string; readonly stamp?: EventStamp }
  | { readonly kind: 'say'; readonly addr: string; readonly name: string; readonly text: string; readonly stamp?: EventStamp }
  | { readonly kind: 'private'; readonly from: string; readonly text: string }
  /** Only from a hub shared by several nodes: the link to the others went down or came back. */
  | { readonly kind: 'cluster'; readonly state: 'degraded' | 'restored' }
  /** Only from a shared hub, to one member: a name taken during an outage was also taken elsewhere. */
  | { readonly kind: 'nameLost'; readonly name: string; readonly addr: string }
  /** To one member: its name's account logged in elsewhere and took it; its name is its address again. */
  | { readonly kind: 'reclaimed'; readonly name: string; readonly addr: string };

/** The reference's user line: `[addr]name:suffix`. */
export function userLine(addr: string, name: string, suffix: string): string {
  return `[${addr}]${name}:${suffix}`;
}

/** An event as the line a user receives (without the newline). */
export function renderEvent(event: Event, t: Texts): string {
  switch (event.kind) {
    case 'online':
      return userLine(event.addr, event.name, t.online);
    case 'offline':
      return userLine(event.addr, event.name, t.offline);
    case 'say':
      return userLine(event.addr, event.name, event.text);
    case 'private':
      return `${event.from} : ${event.text}`;
    case 'cluster':
      return event.state === 'degraded' ? t.clusterDegraded : t.clusterRestored;
    case 'nameLost':
      return t.nameLost(event.name, event.addr);
    case 'reclaimed':
      return t.nameReclaimed(event.name, event.addr);
  }
}
