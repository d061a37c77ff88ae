/**
 * A server line as the screen shows it: made harmless (control characters and escape
 * sequences become visible symbols, never reach the terminal raw, whatever server sent them)
 * and given a tone: public lines `[addr]name:...`, private messages `name : ...`, notices.
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
const FAREWELLS: ReadonlySet<string> = new Set(
  Object.values(serverTexts).flatMap((t) => [t.kicked, t.floodKick, t.shutdown]),
);

export function isFarewell(line: Framed): boolean {
  return line !== TOO_LONG && FAREWELLS.has(line.trim());
}

export function incoming(line: Framed, t: ClientTexts): Effect {
  if (line === TOO_LONG) return show(t.serverLineTooLong, 'notice');
  const text = sanitize(line);
  if (PUBLIC.test(text)) return show(text, 'public');
  if (PRIVATE.test(text)) return show(text, 'private');
  return show(text, 'notice');
}
