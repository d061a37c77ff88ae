/**
 * The name rules against the attacks they exist for: invisible characters, fake addresses,
 * and twins by case, width or look. Exhaustive where the space is small (every code point,
 * every entry of the confusables table), property-based where it is not (whole names).
 */
import test from 'ava';
import fc from 'fast-check';
import { fullNameKey, MAX_NAME_CHARS, nameKey, nameProblem } from '../lib/names';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a JSON data file
const TABLE = require('unhomoglyph/data.json') as Record<string, string>;

/** What no accepted name may contain, spelt independently of the implementation's regex. */
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{White_Space}\p{Default_Ignorable_Code_Point}]/u;

const codePoints = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => String.fromCodePoint(from + i));
const everyCodePoint = (): string[] => [...codePoints(0, 0xd7ff), ...codePoints(0xe000, 0x10ffff)];
const INVISIBLES = everyCodePoint().filter((c) => /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u.test(c));

// The prepared form the key starts from: width (NFKC) and case, as the tests see it.
const plain = (s: string) => s.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().replace(/ς/g, 'σ').normalize('NFD');
const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

/**
 * The table's entries that nothing contradicts: the source is one code point once in NFKC and
 * folded, every entry for that code point (its case and width forms) agrees on the look, and
 * it is not a basic Latin letter reached from elsewhere (which keeps its own look).
 */
const UNAMBIGUOUS: [string, string][] = (() => {
  const looks = new Map<string, Set<string>>();
  for (const [source, prototype] of Object.entries(TABLE)) {
    const p = plain(source);
    looks.set(p, (looks.get(p) ?? new Set()).add(plain(prototype)));
  }
  return Object.entries(TABLE).filter(([source]) => {
    const p = plain(source);
    return [...p].length === 1 && looks.get(p)!.size === 1 && (isAscii(source) || !isAscii(p));
  });
})();

test('the issue’s invisible characters are refused, alone, inside and after a name', (t) => {
  for (const c of [
    '\u2060',
    '\u00ad',
    '\u3164',
    '\u115f',
    '\u1160',
    '\uffa0',
    '\u180e',
    '\u034f',
    '\u2062',
    '\u{e0041}',
    '\ufe0f',
    '\u{e0100}',
    '\u200d',
    '\u2800',
  ]) {
    const hex = c.codePointAt(0)!.toString(16);
    t.is(nameProblem(c), 'control', hex);
    t.is(nameProblem(`ali${c}ce`), 'control', hex);
    t.is(nameProblem(`alice${c}`), 'control', hex);
    t.is(nameProblem(`${c}127.0.0.1:5000`), 'control', hex);
  }
  t.is(nameProblem('\u0301alice'), 'control', 'a combining mark first would draw on the `:` before the name');
  t.is(nameProblem('e\u0301'), undefined, 'a combining mark after a letter is part of it');
  t.is(nameProblem('a\u{f0000}'), 'control', 'private use');
  t.is(nameProblem('a\u{50000}'), 'control', 'unassigned');
  t.is(nameProblem('a\ud800b'), 'control', 'a lone surrogate');
  t.is(nameProblem('a\u2028b'), 'space');
  t.is(nameProblem('a\u2029b'), 'space');
});

test('every code point a one-character name may be is visible: none is a control, format, ignorable or space', (t) => {
  let accepted = 0;
  for (const c of everyCodePoint()) {
    if (nameProblem(c) !== undefined) continue;
    accepted++;
    if (FORBIDDEN.test(c) || /^\p{M}/u.test(c)) t.fail(`U+${c.codePointAt(0)!.toString(16)} accepted`);
  }
  t.log(`${accepted} code points accepted as one-character names`);
  t.true(accepted > 100_000);
});

test('an address drawn with other characters is still an address', (t) => {
  for (const name of [
    '127.0.0.1\u22365000', // RATIO
    '127.0.0.1\ua7895000', // MODIFIER LETTER COLON
    '127.0.0.1\uff1a5000', // FULLWIDTH COLON
    '127.0.0.1\u05c35000', // HEBREW PUNCTUATION SOF PASUQ
    '127.0.0.1\u02d05000', // MODIFIER LETTER TRIANGULAR COLON
    '\uff11\uff12\uff17.\uff10.\uff10.\uff11:5000',
    '127\u20240\u20240\u20241:5000', // ONE DOT LEADER
    'l27.O.O.l:5OOO',
    'I27.o.o.I:5ooo',
    '[::1]\u22365000',
    '[::ffff:7f00:1]:5000',
    '::ffff:1.2.3.4:5000',
    '\ud835\udfcf.\ud835\udfd0.\ud835\udfd1.\ud835\udfd2:80', // mathematical bold digits
  ]) {
    t.is(nameProblem(name), 'address', JSON.stringify(name));
  }
  for (const name of ['bob:42', 'bob', 'dude.bro:1', 'route:66', 'a:b']) t.is(nameProblem(name), undefined, name);
});

test('case twins are one name: final sigma, sharp s, dotless i, Cherokee', (t) => {
  t.is(nameKey('ΑΣ'), nameKey('ασ'));
  t.is(nameKey('ΑΣ'), nameKey('ας'));
  t.is(nameKey('ΟΔΥΣΣΕΥΣ'), nameKey('Οδυσσευς'));
  t.is(nameKey('Straße'), nameKey('STRASSE'));
  t.is(nameKey('ẞ'), nameKey('ss'));
  t.is(nameKey('ı'), nameKey('I'));
  t.is(nameKey('\u13a0\u13a1'), nameKey('\uab70\uab71'), 'Cherokee capitals and small letters');
  t.is(nameKey('ǅ'), nameKey('ǆ'));
  t.is(nameKey('ǅ'), nameKey('DŽ'));
});

test('look-alikes are one name: Cyrillic, Greek, digits for letters, fullwidth', (t) => {
  const alice = nameKey('alice');
  for (const twin of ['Alice', 'ALICE', 'ＡＬＩＣＥ', '\u0430lice', 'a1ice', 'aIice', 'al\u0456ce', '\u{1d41a}lice', 'ａｌｉｃｅ'])
    t.is(nameKey(twin), alice, twin);
  t.is(nameKey('BOB'), nameKey('\u0412\u041e\u0412'), 'Cyrillic capitals');
  t.is(nameKey('BOB'), nameKey('\u0392\u039f\u0392'), 'Greek capitals');
  t.is(nameKey('bob'), nameKey('b\u03c3b'), 'Greek small sigma looks like o');
  t.is(nameKey('paypal'), nameKey('\u0440\u0430ypal'));
  t.is(nameKey('modern'), nameKey('rnodern'));
  t.is(nameKey('b0b'), nameKey('bob'));
});

test('the key is not coarser than the table: basic Latin letters and digits stay apart except i/l/1 and o/0', (t) => {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const classes = new Map<string, string>();
  for (const c of chars) classes.set(nameKey(c), (classes.get(nameKey(c)) ?? '') + c);
  const merged = [...classes.values()].filter((group) => group.length > 1).map((group) => [...group].sort().join(''));
  t.deepEqual(merged.sort(), ['0o', '1il']);
  t.not(nameKey('ted'), nameKey('red'));
  t.not(nameKey('sun'), nameKey('fun'));
  t.not(nameKey('cool'), nameKey('oooo'));
  t.not(nameKey('alice'), nameKey('alicia'));
});

test('every entry of the confusables table holds, unless the same letter was given another look', (t) => {
  // Entries whose source, once folded and in NFKC, is one code point: the key gives that code
  // point one look. Two entries can disagree (Greek Ν looks like N, its small form ν like v):
  // then at least one of them must hold; and a basic Latin letter keeps its own look.
  const bySource = new Map<string, string[]>();
  for (const [source, prototype] of Object.entries(TABLE)) {
    const p = plain(source);
    bySource.set(p, [...(bySource.get(p) ?? []), prototype]);
  }
  let held = 0;
  const conflicts: string[] = [];
  for (const [source, prototype] of Object.entries(TABLE)) {
    if (nameKey(source) === nameKey(prototype)) {
      held++;
      continue;
    }
    const p = plain(source);
    const siblings = bySource.get(p)!;
    const protectedLatin = /^[\x00-\x7f]$/.test(p) && !/^[\x00-\x7f]$/.test(source);
    const another = siblings.some((other) => nameKey(other) === nameKey(source));
    const decomposed = [...p].length > 1;
    if (protectedLatin || another || decomposed) {
      conflicts.push(source);
      continue;
    }
    t.fail(`U+${source.codePointAt(0)!.toString(16)} ${source} -> ${prototype}: ${JSON.stringify(nameKey(source))} vs ${JSON.stringify(nameKey(prototype))}`);
  }
  t.log(`${held} of ${Object.keys(TABLE).length} entries hold; ${conflicts.length} did not (a decomposed letter, or another look of the same letter won)`);
  t.true(held > 6000);
});

test('the ASCII shortcut gives the same key as the general path', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)), maxLength: 40 }), (s) => nameKey(s) === fullNameKey(s)),
  );
  t.pass();
});

// Names built from characters an attacker would reach for, and ordinary ones.
const sources = Object.keys(TABLE);
const char = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:') },
  { weight: 2, arbitrary: fc.constantFrom(...'αβγδεζηθικλμνξοπρσςτυφχψωΑΒΓΔΣΩабвгдежзийклмнопрстуфхцчшщыэюяАВЕКМНОРСТХßẞıİéüñ张三李四😀') },
  { weight: 2, arbitrary: fc.constantFrom(...sources) },
  { weight: 1, arbitrary: fc.constantFrom(...INVISIBLES) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x10ffff }).map((c) => (c >= 0xd800 && c <= 0xdfff ? 'x' : String.fromCodePoint(c))) },
);
const name = fc.array(char, { minLength: 1, maxLength: MAX_NAME_CHARS }).map((cs) => cs.join(''));
const accepted = name.filter((n) => nameProblem(n) === undefined);
const sameOrRefused = (a: string, b: string) => nameProblem(b) !== undefined || nameKey(b) === nameKey(a);

test('property: an accepted name has no control, format, ignorable or space character, and no leading mark', (t) => {
  fc.assert(
    fc.property(name, (n) => nameProblem(n) !== undefined || (!FORBIDDEN.test(n) && !/^\p{M}/u.test(n))),
    { numRuns: 3000 },
  );
  t.pass();
});

test('property: inserting an invisible character makes a name refused', (t) => {
  fc.assert(
    fc.property(accepted, fc.constantFrom(...INVISIBLES), fc.nat(), (n, c, at) => {
      const chars = [...n];
      const i = at % (chars.length + 1);
      return nameProblem([...chars.slice(0, i), c, ...chars.slice(i)].join('')) !== undefined;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('property: case twins (final sigma included) have the same key or are refused', (t) => {
  const sigmas = (s: string) => s.replace(/[σς]/g, (c) => (c === 'σ' ? 'ς' : 'σ'));
  fc.assert(
    fc.property(accepted, (n) =>
      [n.toUpperCase(), n.toLowerCase(), sigmas(n), n.toLowerCase().toUpperCase(), sigmas(n.toUpperCase().toLowerCase())].every((twin) =>
        sameOrRefused(n, twin),
      ),
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

test('property: width twins (NFKC, fullwidth ASCII) have the same key or are refused', (t) => {
  const wide = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
  fc.assert(
    fc.property(accepted, (n) => [n.normalize('NFKC'), wide(n), n.normalize('NFKD'), n.normalize('NFC')].every((twin) => sameOrRefused(n, twin))),
    { numRuns: 2000 },
  );
  t.pass();
});

test('property: substituting a look-alike from the table gives the same key or a refusal', (t) => {
  const byPrototype = new Map<string, string[]>();
  for (const [source, prototype] of UNAMBIGUOUS) byPrototype.set(prototype, [...(byPrototype.get(prototype) ?? []), source]);
  const prototypes = [...byPrototype.keys()].filter((p) => [...p].length === 1);
  fc.assert(
    fc.property(accepted, fc.constantFrom(...prototypes), fc.nat(), fc.nat(), (n, prototype, at, pick) => {
      const chars = [...n];
      const i = at % (chars.length + 1);
      const original = [...chars.slice(0, i), prototype, ...chars.slice(i)].join('');
      const candidates = byPrototype.get(prototype)!;
      const twin = [...chars.slice(0, i), candidates[pick % candidates.length], ...chars.slice(i)].join('');
      return nameProblem(original) !== undefined || sameOrRefused(original, twin);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('property: an address, whatever look-alikes draw it, is refused', (t) => {
  // Look-alikes per character: the table's sources for it (and for its capital), fullwidth,
  // mathematical and superscript digits.
  const alike = new Map<string, string[]>();
  const add = (c: string, twin: string) => alike.set(c, [...(alike.get(c) ?? [c]), twin]);
  for (const [source, prototype] of UNAMBIGUOUS) {
    for (const c of '0123456789abcdef.:[]') if (prototype === c || prototype === c.toUpperCase()) add(c, source);
  }
  for (const c of '0123456789abcdef.:[]') add(c, String.fromCharCode(c.charCodeAt(0) + 0xfee0));
  for (let d = 0; d < 10; d++) add(String(d), String.fromCodePoint(0x1d7ce + d));
  const disguise = (address: string, picks: number[]) =>
    [...address]
      .map((c, i) => {
        const twins = alike.get(c) ?? [c];
        return twins[picks[i % picks.length] % twins.length];
      })
      .join('');
  const port = fc.integer({ min: 0, max: 65535 });
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
  const ipv6 = fc.ipV6();
  const address = fc.oneof(
    fc.tuple(ipv4, port).map(([ip, p]) => `${ip}:${p}`),
    fc.tuple(ipv6, port).map(([ip, p]) => `[${ip}]:${p}`),
    fc.tuple(ipv4, port).map(([ip, p]) => `::ffff:${ip}:${p}`),
  );
  fc.assert(
    fc.property(address, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (a, picks) => {
      const fake = disguise(a, picks);
      return [...fake].length > MAX_NAME_CHARS || nameProblem(fake) !== undefined;
    }),
    { numRuns: 3000 },
  );
  t.pass();
});
