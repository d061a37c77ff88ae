/** Server lines on screen: harmless whatever the server sends, toned by kind; the farewell notices. */
import test from 'ava';
import { HISTORY_MARKERS, isFarewell, incoming } from '../../lib/client/incoming';
import { en, zh } from '../../lib/client/texts';
import { TOO_LONG } from '../../lib/lines';
import { HISTORY } from '../../lib/session';
import { en as serverEn, zh as serverZh } from '../../lib/texts';

test('tones: public [addr]name:..., private name : ..., everything else a notice', (t) => {
  t.deepEqual(incoming('[127.0.0.1:5]127.0.0.1:5:已上线', zh), { kind: 'show', text: '[127.0.0.1:5]127.0.0.1:5:已上线', tone: 'public' });
  t.deepEqual(incoming('[[::1]:5]bob:a : b', zh), { kind: 'show', text: '[[::1]:5]bob:a : b', tone: 'public' });
  t.deepEqual(incoming('bob : hi : there', zh), { kind: 'show', text: 'bob : hi : there', tone: 'private' });
  t.deepEqual(incoming('您已更改用户名为:bob', zh), { kind: 'show', text: '您已更改用户名为:bob', tone: 'notice' });
  t.deepEqual(incoming(TOO_LONG, en), { kind: 'show', text: en.serverLineTooLong, tone: 'notice' });
});

test('control characters, escape sequences and bidi overrides never reach the terminal raw', (t) => {
  const nasty = '\x1b[31mred\x1b[0m \x07\x00\x7f\x9b2J \u202e';
  const shown = incoming(`[1.2.3.4:5]x:${nasty}`, zh);
  t.is(shown?.kind, 'show');
  if (shown?.kind !== 'show') return;
  t.false(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(shown.text), JSON.stringify(shown.text));
  t.is(shown.text, '[1.2.3.4:5]x:␛[31mred␛[0m ␇␀␡\ufffd2J \ufffd');
});

test('farewells: kick, flood kick and shutdown notices in both server languages, nothing else', (t) => {
  for (const s of [serverZh, serverEn]) {
    t.true(isFarewell(s.kicked));
    t.true(isFarewell(s.floodKick));
    t.true(isFarewell(s.shutdown));
    t.false(isFarewell(s.serverFull));
  }
  t.false(isFarewell('[1.2.3.4:5]x:你被踢了'));
  t.false(isFarewell(TOO_LONG));
});

test("a history reply: its end shows nothing, a gap is said in the client's words, its lines are lines", (t) => {
  t.deepEqual(HISTORY_MARKERS, { end: HISTORY.end, truncated: HISTORY.truncated, unknown: HISTORY.unknown });
  t.is(incoming(HISTORY.end, zh), undefined);
  t.deepEqual(incoming(HISTORY.truncated, en), { kind: 'show', text: en.historyTruncated, tone: 'notice' });
  t.deepEqual(incoming(HISTORY.unknown, zh), { kind: 'show', text: zh.historyUnknown, tone: 'notice' });
  // Someone saying the marker is a public line like any other.
  t.deepEqual(incoming('[1.2.3.4:5]x:history|end', zh), { kind: 'show', text: '[1.2.3.4:5]x:history|end', tone: 'public' });
});
