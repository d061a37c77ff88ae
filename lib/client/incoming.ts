/**
 * A server line as the screen shows it: made harmless (control characters and escape
 * sequences become visible symbols, never reach the terminal raw, whatever server sent them)
 * and given a tone: public lines `[addr]name:...`, private messages `name : ...`, notices.
 * The markers of a history reply (`/history N`) are the protocol's, not text for people: its
 * end shows nothing, a gap is said in words.
 */
import { Framed, TOO_LONG } from '../lines';
import { sanitize } from '../protocol';
import { texts as serverTexts } from '../texts';
import { Effect, show } from './effects';
import { ClientTexts } from './texts';

// `[addr]name:` where neither has whitespace (names cannot contain any).
const PUBLIC = /^\[[^\]\s]*\]\S*?:/;
// `name : text`: the reference's private message.
const PRIVATE = /^\S+ : /;

/**
 * The lines after which the server closes the connection on purpose (idle kick, flood kick,
 * shutdown), in every language the server speaks: a close after one of them is no error.
 */
const FAREWELLS: ReadonlySet<string> = new Set(Object.values(serverTexts).flatMap((t) => [t.kicked, t.floodKick, t.shutdown]));

/** The markers of a history reply, as lib/session.ts's HISTORY words them (spec/client/incoming.spec.ts checks). */
export const HISTORY_MARKERS = { end: 'history|end', truncated: 'history|truncated', unknown: 'history|unknown' } as const;

export function isFarewell(line: Framed): boolean {
  return line !== TOO_LONG && FAREWELLS.has(line.trim());
}

/** The screen line for a server line; undefined for one that shows nothing (`history|end`). */
export function incoming(line: Framed, t: ClientTexts): Effect | undefined {
  if (line === TOO_LONG) return show(t.serverLineTooLong, 'notice');
  if (line === HISTORY_MARKERS.end) return undefined;
  if (line === HISTORY_MARKERS.truncated) return show(t.historyTruncated, 'notice');
  if (line === HISTORY_MARKERS.unknown) return show(t.historyUnknown, 'notice');
  const text = sanitize(line);
  if (PUBLIC.test(text)) return show(text, 'public');
  if (PRIVATE.test(text)) return show(text, 'private');
  return show(text, 'notice');
}
