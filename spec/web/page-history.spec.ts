/**
 * Where the page puts the lines of a history reply (web/history.js): each line once, in log
 * order, next to what the page already shows, whatever live lines came around the reply.
 * The page's log is simulated as a list of entries; ids are random tokens, never compared.
 */
import test from 'ava';
import fc from 'fast-check';

interface Item {
  readonly id: string;
}
type Kind = 'first' | 'since' | 'history';
interface Insert {
  readonly item: Item;
  readonly at: 'top' | 'end' | 'before' | 'after';
  readonly ref?: string;
  readonly earlier: boolean;
}
interface PageHistory {
  plan(items: readonly Item[], isShown: (id: string) => boolean, kind: Kind, isOwnJoin?: (item: Item) => boolean): { ordered: Item[]; inserts: Insert[] };
  unmatched<T extends { line: string }>(plain: readonly T[], replayed: readonly string[]): T[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the page's plain script (UMD, no types), loaded as node loads it
const history = require('../../web/history.js') as PageHistory;

/** An entry of the page's log: a logged line (its id) or a notice (no id). */
type Entry = { readonly id: string } | { readonly notice: string };

/** Applies a plan to a page as web/app.js does (place()); returns the new page and the earlier ids. */
function apply(page: readonly Entry[], items: readonly Item[], kind: Kind): { page: Entry[]; earlier: string[] } {
  const out = [...page];
  const shownIds = new Set(page.flatMap((e) => ('id' in e ? [e.id] : [])));
  const { inserts } = history.plan(items, (id) => shownIds.has(id), kind);
  const placedNow = new Set<string>();
  const indexOf = (id: string | undefined) => out.findIndex((e) => 'id' in e && e.id === id);
  for (const insert of inserts) {
    const entry = { id: insert.item.id };
    if (insert.at === 'top') out.unshift(entry);
    else if (insert.at === 'end') out.push(entry);
    else if (insert.at === 'before') out.splice(indexOf(insert.ref), 0, entry);
    else {
      let at = indexOf(insert.ref) + 1;
      if (!placedNow.has(insert.ref ?? '')) while (at < out.length && !('id' in out[at])) at++;
      out.splice(at, 0, entry);
    }
    placedNow.add(insert.item.id);
  }
  return { page: out, earlier: inserts.filter((i) => i.earlier).map((i) => i.item.id) };
}

const ids = (page: readonly Entry[]) => page.flatMap((e) => ('id' in e ? [e.id] : []));
const item = (id: string): Item => ({ id });

test('first connection: the reply goes on top, marked earlier; the live lines that came before it are in it', (t) => {
  const page: Entry[] = [{ notice: 'connected' }];
  // b and c came live after the request, then the reply a b c.
  const { page: after, earlier } = apply(page, ['b', 'c', 'a', 'b', 'c'].map(item), 'first');
  t.deepEqual(after, [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { notice: 'connected' }]);
  t.deepEqual(earlier, ['a', 'b', 'c']);
});

test('first connection: from the page’s own join on, lines are not earlier (the page was there)', (t) => {
  const { inserts } = history.plan(
    ['a', 'b', 'me', 'c'].map(item),
    () => false,
    'first',
    (i) => i.id === 'me',
  );
  t.deepEqual(
    inserts.map((i) => [i.item.id, i.earlier]),
    [
      ['a', true],
      ['b', true],
      ['me', false],
      ['c', false],
    ],
  );
});

test('reconnect: what was missed goes at the end, after the notices, never marked earlier', (t) => {
  const page: Entry[] = [{ id: 'a' }, { id: 'b' }, { notice: 'connection lost' }];
  const { page: after, earlier } = apply(page, ['c', 'd'].map(item), 'since');
  t.deepEqual(after, [{ id: 'a' }, { id: 'b' }, { notice: 'connection lost' }, { id: 'c' }, { id: 'd' }]);
  t.deepEqual(earlier, []);
});

test('reconnect with an unknown id: the newest page overlaps what is shown; only the new lines are added, after it', (t) => {
  const page: Entry[] = [{ id: 'a' }, { id: 'b' }, { notice: 'connection lost' }];
  const { page: after } = apply(page, ['b', 'c', 'd'].map(item), 'since');
  t.deepEqual(after, [{ id: 'a' }, { id: 'b' }, { notice: 'connection lost' }, { id: 'c' }, { id: 'd' }]);
});

test('/history: older lines go before the oldest shown, marked earlier; nothing shown twice', (t) => {
  const page: Entry[] = [{ id: 'c' }, { id: 'd' }];
  const { page: after, earlier } = apply(page, ['a', 'b', 'c', 'd'].map(item), 'history');
  t.deepEqual(ids(after), ['a', 'b', 'c', 'd']);
  t.deepEqual(earlier, ['a', 'b']);
  // Everything already shown: nothing to add.
  t.deepEqual(history.plan(['c', 'd'].map(item), () => true, 'history').inserts, []);
});

test('/history N smaller than what was said since the request: the lines are new, at the end, not earlier', (t) => {
  const page: Entry[] = [{ id: 'a' }];
  // x, y, z came live before the reply started; `history|2` gave y, z.
  const { page: after, earlier } = apply(page, ['x', 'y', 'z', 'y', 'z'].map(item), 'history');
  t.deepEqual(ids(after), ['a', 'x', 'y', 'z']);
  t.deepEqual(earlier, []);
});

test('unmatched: the lines held before tags were on are in the reply when the server keeps a log', (t) => {
  const held = [{ line: '[1.2.3.4:5]1.2.3.4:5:已上线' }, { line: '[6.7.8.9:1]bob:hi' }];
  t.deepEqual(history.unmatched(held, ['[6.7.8.9:1]bob:old', '[1.2.3.4:5]1.2.3.4:5:已上线', '[6.7.8.9:1]bob:hi']), []);
  // Without a log the reply is empty: all are shown.
  t.deepEqual(history.unmatched(held, []), held);
  // A line said twice is accounted for once per line of the reply.
  const twice = [{ line: 'x' }, { line: 'x' }];
  t.deepEqual(history.unmatched(twice, ['x']), [{ line: 'x' }]);
});

/** Distinct random tokens for a log of n lines (the page must not rely on how ids sort). */
const logOf = (n: number) =>
  fc.uniqueArray(fc.string({ unit: fc.constantFrom(...'abcdefghij0123456789-'.split('')), minLength: 1, maxLength: 6 }), { minLength: n, maxLength: n });

/** A page showing log[from..to) with notices here and there. */
function pageOf(log: readonly string[], from: number, to: number, notices: readonly number[]): Entry[] {
  const page: Entry[] = [];
  for (let i = from; i < to; i++) {
    page.push({ id: log[i] });
    if (notices.includes(i)) page.push({ notice: `after ${i}` });
  }
  return page;
}

test('any reply, any live lines around it: the page ends with each line once, in log order', (t) => {
  const scenario = fc
    .record({
      n: fc.integer({ min: 1, max: 30 }),
      kind: fc.constantFrom<Kind>('first', 'since', 'history'),
      a: fc.nat(),
      b: fc.nat(),
      c: fc.nat(),
      d: fc.nat(),
      notices: fc.array(fc.nat({ max: 30 }), { maxLength: 4 }),
    })
    .chain((s) => logOf(s.n).map((log) => ({ ...s, log })));
  fc.assert(
    fc.property(scenario, ({ log, kind, a, b, c, d, notices }) => {
      const n = log.length;
      // The page showed log[from..seen); log[seen..live) was said since (missed, or not yet
      // seen); log[live..n) came live after the request, before the reply; the reply is a
      // contiguous run that ends with the newest line.
      const seen = kind === 'first' ? 0 : 1 + (a % n);
      const from = kind === 'history' ? b % seen : 0;
      const live = seen + (c % (n - seen + 1));
      const replyFrom =
        kind === 'since'
          ? // known id: everything after it; truncated or unknown: the newest page (may overlap)
            d % 2 === 0
            ? seen
            : d % (n + 1)
          : d % (n + 1);
      const reply = log.slice(Math.min(replyFrom, n), n);
      const page = pageOf(log, from, seen, notices);
      const arrivals = [...log.slice(live, n), ...reply].map(item);
      const { page: after, earlier } = apply(page, arrivals, kind);
      const expected = log.filter((id, i) => (i >= from && i < seen) || i >= live || reply.includes(id));
      t.deepEqual(ids(after), expected);
      if (kind === 'since') t.deepEqual(earlier, []);
      if (kind === 'first') t.deepEqual(earlier, expected);
      // Notices keep their order and stay after the line they followed.
      t.deepEqual(
        after.filter((e) => 'notice' in e),
        page.filter((e) => 'notice' in e),
      );
    }),
    { numRuns: 2000 },
  );
});
