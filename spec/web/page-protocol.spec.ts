/** The page's line reader (web/protocol.js) against lines rendered by the server's own code. */
import test from 'ava';
import { Line } from '../../lib/outbox';
import { Event, MAX_NAME_CHARS, renderEvent, userLine } from '../../lib/protocol';
import { HISTORY } from '../../lib/session';
import { Texts, en, zh } from '../../lib/texts';
import { pageConfig } from '../../lib/web/site';

interface Reading {
  kind: string;
  addr?: string;
  name?: string;
  from?: string;
  text?: string;
  code?: string;
  id?: string;
  time?: string;
  marker?: string;
  ack?: boolean;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the page's plain script (UMD, no types), loaded as node loads it
const page = require('../../web/protocol.js') as {
  readLine(line: string, texts: unknown, names: Map<string, string> | undefined, awaitingWho: boolean): Reading;
  untag(line: string): { id: string; time: string; line: string } | null;
  utf8Length(s: string): number;
};

for (const t of [zh, en] as Texts[]) {
  const texts = pageConfig(t, 4096).texts;
  const read = (line: string, names?: Map<string, string>, awaitingWho = false) => page.readLine(line, texts, names, awaitingWho);
  const a = '127.0.0.1:5000';
  const v6 = '[::1]:6000';

  test(`${t.lang}: joins, leaves and who lines, IPv4 and IPv6`, (t2) => {
    t2.deepEqual(read(renderEvent({ kind: 'online', addr: a, name: a }, t)), { kind: 'join', addr: a, name: a, text: t.online });
    t2.deepEqual(read(renderEvent({ kind: 'online', addr: v6, name: v6 }, t)), { kind: 'join', addr: v6, name: v6, text: t.online });
    t2.deepEqual(read(renderEvent({ kind: 'offline', addr: v6, name: 'bob' }, t)), { kind: 'leave', addr: v6, name: 'bob', text: t.offline });
    t2.deepEqual(read(userLine(a, 'a:b', t.listed), undefined, true), { kind: 'who', addr: a, name: 'a:b', text: t.listed });
    // Not expecting a who reply: the same line is someone saying it.
    t2.is(read(userLine(a, a, t.listed)).kind, 'say');
  });

  test(`${t.lang}: public messages keep their colons, and names are read by address`, (t2) => {
    t2.deepEqual(read(renderEvent({ kind: 'say', addr: a, name: a, text: 'a:b: c' }, t)), { kind: 'say', addr: a, name: a, text: 'a:b: c' });
    t2.deepEqual(read(renderEvent({ kind: 'say', addr: v6, name: 'bob', text: '你好 🌏' }, t)), { kind: 'say', addr: v6, name: 'bob', text: '你好 🌏' });
    // A name with a colon is only read right once known (from `who` or a rename).
    const names = new Map([[a, 'x:y']]);
    t2.deepEqual(read(renderEvent({ kind: 'say', addr: a, name: 'x:y', text: 'hi' }, t), names), { kind: 'say', addr: a, name: 'x:y', text: 'hi' });
    // A known address speaking under a new name: that is how a rename shows.
    t2.deepEqual(read(renderEvent({ kind: 'say', addr: a, name: 'carol', text: 'hi' }, t), names), { kind: 'say', addr: a, name: 'carol', text: 'hi' });
    const xss = '<img src=x onerror=alert(1)>';
    t2.is(read(renderEvent({ kind: 'say', addr: a, name: a, text: xss }, t)).text, xss);
  });

  test(`${t.lang}: private messages, with " : " and "|" in the text`, (t2) => {
    t2.deepEqual(read(renderEvent({ kind: 'private', from: 'alice', text: 'x : y|z' }, t)), { kind: 'private', from: 'alice', text: 'x : y|z' });
    t2.deepEqual(read(renderEvent({ kind: 'private', from: a, text: '用户不存在' }, t)), { kind: 'private', from: a, text: '用户不存在' });
  });

  test(`${t.lang}: notices the page acts on are recognised`, (t2) => {
    t2.deepEqual(read(t.renamed('小明')), { kind: 'renamed', name: '小明' });
    for (const [code, line] of [
      ['kicked', t.kicked],
      ['floodKick', t.floodKick],
      ['shutdown', t.shutdown],
      ['serverFull', t.serverFull],
      ['nameTaken', t.nameTaken],
      ['lineTooLong', t.lineTooLong(4096)],
      ['noSuchUser', t.noSuchUser('nobody')],
      ['nameLost', t.nameLost('bob', a)],
      ['clusterDegraded', t.clusterDegraded],
      ['historyLost', t.historyLost],
      ['other', t.nameInvalid('space', 32)],
      ['other', t.historyUsage(200)],
    ]) {
      t2.deepEqual(read(line), { kind: 'notice', code, text: line }, line);
    }
  });

  // A conversation line as a `cap|tags` client gets it, made by the server's own Line.
  const tagged = (event: Event, id = '1764427200123-7', time = Date.UTC(2026, 10, 29, 14, 0, 0, 123)) =>
    new Line(renderEvent(event, t), { id, time }).tagged.text;

  test(`${t.lang}: tagged lines read as the line under the tag, with its id and time`, (t2) => {
    const time = '2026-11-29T14:00:00.123Z';
    const id = '1764427200123-7';
    t2.deepEqual(read(tagged({ kind: 'online', addr: a, name: a })), { kind: 'join', addr: a, name: a, text: t.online, id, time });
    t2.deepEqual(read(tagged({ kind: 'offline', addr: v6, name: 'bob' })), { kind: 'leave', addr: v6, name: 'bob', text: t.offline, id, time });
    t2.deepEqual(read(tagged({ kind: 'say', addr: a, name: 'bob', text: 'a:b @id=x;time=y ' })), {
      kind: 'say',
      addr: a,
      name: 'bob',
      text: 'a:b @id=x;time=y ',
      id,
      time,
    });
    t2.deepEqual(read(tagged({ kind: 'private', from: 'alice', text: 'x : y' })), { kind: 'private', from: 'alice', text: 'x : y', id, time });
    // A message that reads like a listed user is a message when tagged, even while a who reply is awaited.
    t2.is(read(tagged({ kind: 'say', addr: a, name: a, text: t.listed }), undefined, true).kind, 'say');
    t2.deepEqual(page.untag(tagged({ kind: 'say', addr: a, name: a, text: 'hi' })), { id, time, line: userLine(a, a, 'hi') });
    // Replies and notices are never tagged, so they read as before.
    t2.is(page.untag(t.kicked), null);
    t2.is(page.untag(userLine(a, a, t.listed)), null);
  });

  test(`${t.lang}: no name can forge a tag (a name is at most 32 characters)`, (t2) => {
    // The shortest tag the server makes is longer than any name: a private message from a
    // name that starts like one, or a rename reply, stays what it is.
    const shortest = new Line('x', { id: '0-0', time: 0 }).tagged.text.indexOf(' ');
    t2.true(shortest > MAX_NAME_CHARS, String(shortest));
    const name = '@id=1;time=2026-11-29T14:00:00';
    t2.is(read(renderEvent({ kind: 'private', from: name, text: 'hi' }, t)).kind, 'private');
    t2.is(read(t.noSuchUser(name)).code, 'noSuchUser');
  });

  test(`${t.lang}: the history markers and the capability replies`, (t2) => {
    t2.deepEqual(read(HISTORY.end), { kind: 'history', marker: 'end' });
    t2.deepEqual(read(HISTORY.truncated), { kind: 'history', marker: 'truncated' });
    t2.deepEqual(read(HISTORY.unknown), { kind: 'history', marker: 'unknown' });
    t2.deepEqual(read(HISTORY.ack('tags')), { kind: 'cap', ack: true, name: 'tags' });
    t2.deepEqual(read(HISTORY.nak('x|y')), { kind: 'cap', ack: false, name: 'x|y' });
    // Someone saying the marker is a message.
    t2.is(read(userLine(a, a, HISTORY.end)).kind, 'say');
  });
}

test('line length is counted in UTF-8 bytes, as the server counts it', (t) => {
  t.is(page.utf8Length('abc'), 3);
  t.is(page.utf8Length('你好'), 6);
  t.is(page.utf8Length('🌏'), 4);
});

test('the config tells the page the idle timeout its keep-alive must beat, when the server gives it', (t) => {
  t.is(pageConfig(zh, 4096, 1500).idleTimeoutMs, 1500);
  t.false('idleTimeoutMs' in pageConfig(zh, 4096));
});
