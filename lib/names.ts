/**
 * The name rules: which names can be taken, and the key under which a name is unique. A name
 * must not hide characters, must not pose as a connection's address, and must not be a twin
 * of another name by case, width or look (Unicode's confusables, UTS #39).
 */
import type { NameProblem } from './texts';

export const MAX_NAME_CHARS = 32;

/**
 * Characters a name must not contain, by Unicode property rather than by list: every "other"
 * (controls, formats such as bidi controls and U+2060, surrogates, private use, unassigned)
 * and every Default_Ignorable_Code_Point (variation selectors, U+034F, the Hangul fillers
 * U+115F U+1160 U+3164 U+FFA0, tags). U+2800 BRAILLE PATTERN BLANK is the one blank glyph
 * that no property marks (it is a symbol, So).
 */
const INVISIBLE = /[\p{C}\p{Default_Ignorable_Code_Point}\u2800]/u;
const SPACE = /\p{White_Space}/u;
// A leading combining mark would draw on the `:` or `]` before the name in `[addr]name:`.
const LEADING_MARK = /^\p{M}/u;

/**
 * Case folding as a string operation. JS has no full case folding; lower(upper(lower(x)))
 * with final sigma made plain gives ß/ẞ -> ss, ΑΣ/ασ/ας -> ασ, ſ -> s, and it merges a little
 * more than CaseFolding.txt (dotless ı with i, Cherokee small letters with capitals): checked
 * over every code point, two code points the official folding makes equal are equal here too.
 */
function fold(s: string): string {
  return s.toLowerCase().toUpperCase().toLowerCase().replace(/ς/g, 'σ');
}

/** Width and compatibility forms (NFKC), case, then canonical decomposition (as UTS #39 does). */
function prepare(s: string): string {
  return fold(s.normalize('NFKC')).normalize('NFD');
}

/** Replaces each code point found in `looks` until nothing changes (bounded: the map has no cycles). */
function resolve(s: string, looks: ReadonlyMap<string, string>): string {
  let current = s;
  for (let round = 0; round < 16; round++) {
    let next = '';
    for (const c of current) next += looks.get(c) ?? c;
    next = next.normalize('NFD');
    if (next === current) return next;
    current = next;
  }
  throw new Error(`confusable mapping does not settle for ${JSON.stringify(s)}`);
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * The confusables table (source code point -> the prototype it looks like) turned into one map
 * over prepared (NFKC, case-folded, NFD) text. Case folding and the table disagree where a
 * letter's capital and small forms look like two different things (Greek Ν looks like N, ν
 * like v): making both hold would make N and v one letter, and through a few such bridges
 * c, o and 0, or r, t, u, y, z one letter too. So each prepared code point gets one look, the
 * first in this order: the table's entries for basic Latin sources (I, 1 and | look like l,
 * 0 like O, m like rn), then looks that are one basic Latin character, then other ASCII ones,
 * then the rest; within those, the character itself before a compatibility variant, and the
 * small form before the capital. A basic Latin letter is never given a look by a non-ASCII
 * source (ſ looks like f, but s must stay s).
 */
function buildLooks(table: Readonly<Record<string, string>>): ReadonlyMap<string, string> {
  const looks = new Map<string, string>();
  const entries = [];
  for (const [source, prototype] of Object.entries(table)) {
    const prepared = prepare(source);
    // Decomposes (a precomposed letter): its parts have looks of their own.
    if (prepared.length > 2 || [...prepared].length !== 1) continue;
    const asciiSource = ASCII.test(source);
    if (!asciiSource && ASCII.test(prepared)) continue; // a basic Latin letter keeps its own look
    const target = prepare(prototype);
    const folded = fold(source);
    const rank =
      (asciiSource ? 0 : target.length === 1 && ASCII.test(target) ? 1 : ASCII.test(target) ? 2 : 3) * 4 +
      (folded === prepared ? 0 : 2) +
      (folded === source ? 0 : 1);
    entries.push({ prepared, target, rank });
  }
  // Stable: equal ranks keep the table's order.
  entries.sort((a, b) => a.rank - b.rank);
  for (const { prepared, target } of entries) {
    if (looks.has(prepared)) continue; // a look of higher rank won
    const look = resolve(target, looks);
    if (look === prepared || look.includes(prepared)) continue;
    looks.set(prepared, look);
  }
  // Resolved once here, so that a key is one pass of lookups.
  const resolved = new Map<string, string>();
  for (const c of looks.keys()) resolved.set(c, resolve(c, looks));
  return resolved;
}

// The UTS #39 confusables table (Unicode 13.0, confusables.txt) as the `unhomoglyph` package
// ships it: a JSON object of 6,311 entries.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a JSON data file, no module to import
const LOOKS = buildLooks(require('unhomoglyph/data.json') as Record<string, string>);

/** The key of every ASCII character, so that an ASCII name (most of them) costs one lookup a character. */
const ASCII_KEYS: readonly string[] = Array.from({ length: 128 }, (_, code) => resolve(prepare(String.fromCharCode(code)), LOOKS));

/** The key without the ASCII shortcut (exported for the spec that checks the shortcut). */
export function fullNameKey(name: string): string {
  let key = '';
  for (const c of prepare(name)) key += LOOKS.get(c) ?? c;
  return key.normalize('NFD');
}

/**
 * The key under which a name is unique: two names with one key are one name. It is the UTS #39
 * skeleton of the name's NFKC, case-folded form: `Alice`, `alice`, `ＡＬＩＣＥ`, `аlice` (Cyrillic а),
 * `aIice` and `a1ice` are one name; so are `ΑΣ`, `ασ` and `ας`. Not for display.
 */
export function nameKey(name: string): string {
  let key = '';
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 128) return fullNameKey(name);
    key += ASCII_KEYS[code];
  }
  return key;
}

function lookClass(chars: string): string {
  const keys = new Set([...chars].map((c) => nameKey(c)));
  return [...keys].map((k) => k.replace(/[\]\\^-]/g, '\\$&')).join('');
}
function lookOf(char: string): string {
  return nameKey(char).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What default names look like (`127.0.0.1:5000`, `[::1]:5000`, `::ffff:1.2.3.4:5000`), written
 * in keys: a name whose key matches looks like an address, whatever characters draw it
 * (`127.0.0.1∶5000` with U+2236, fullwidth digits, `l27.O.O.l:5OOO`).
 */
const ADDRESS_KEY = (() => {
  const digit = lookClass('0123456789');
  const hex = digit + lookClass('abcdefABCDEF');
  const separator = lookClass('.:');
  return new RegExp(
    `^(?:${lookOf('[')}[${hex}${separator}]*${lookOf(']')}|[${hex}${separator}]*[${separator}][${hex}${separator}]*)${lookOf(':')}[${digit}]+$`,
    'u',
  );
})();

/** Why a name cannot be taken, or undefined when it can. */
export function nameProblem(name: string): NameProblem | undefined {
  const chars = [...name].length;
  if (chars < 1 || chars > MAX_NAME_CHARS) return 'length';
  if (name.includes('|')) return 'bar';
  if (INVISIBLE.test(name) || LEADING_MARK.test(name)) return 'control';
  if (SPACE.test(name)) return 'space';
  if (ADDRESS_KEY.test(nameKey(name))) return 'address';
  return undefined;
}
