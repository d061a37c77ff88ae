import test from 'ava';
import { LineSplitter, countLines, messageText, scanTokens, wellFormed } from '../../bench/records';

test('a message text has the requested size and carries sender, seq and time', (t) => {
  const text = messageText(3, 42, 1234567, 64);
  t.is(text.length, 64);
  const [token, ...more] = scanTokens(text);
  t.is(more.length, 0);
  t.like(token, { sender: 3, seq: 42, sentMicros: 1234567, start: 0, end: 64 });
});

test('a size too small for the token gives the token and its end mark', (t) => {
  const text = messageText(1, 2, 3, 4);
  t.is(text, '@1.2.3:!');
  t.is(scanTokens(text)[0].end, text.length);
});

test('a broadcast line with one whole message is well formed', (t) => {
  const text = messageText(0, 7, 99, 40);
  const line = `[127.0.0.3:5000]127.0.0.3:5000:${text}`;
  t.true(wellFormed(line, scanTokens(line), 40));
});

test('a line glued from two messages is malformed, and both still count as received', (t) => {
  const line = `[127.0.0.3:5000]127.0.0.3:5000:${messageText(0, 1, 9, 32)}${messageText(0, 2, 9, 32)}`;
  const tokens = scanTokens(line);
  t.deepEqual(
    tokens.map((x) => x.seq),
    [1, 2],
  );
  t.false(wellFormed(line, tokens, 32));
});

test('a line without its prefix, or cut short, is malformed', (t) => {
  const text = messageText(0, 1, 9, 32);
  t.false(wellFormed(text, scanTokens(text), 32));
  const cut = `[a:1]a:1:${text.slice(0, -1)}`;
  const tokens = scanTokens(cut);
  t.is(tokens.length, 1);
  t.is(tokens[0].end, -1);
  t.false(wellFormed(cut, tokens, 32));
});

test('a private line must carry exactly the expected prefix', (t) => {
  const text = messageText(5, 1, 9, 32);
  t.true(wellFormed(`u5 : ${text}`, scanTokens(`u5 : ${text}`), 32, 'u5 : '));
  t.false(wellFormed(`u6 : ${text}`, scanTokens(`u6 : ${text}`), 32, 'u5 : '));
});

test('broken headers are not tokens', (t) => {
  t.deepEqual(scanTokens('@ @1 @1. @1.2 @1.2.3 @a.2.3: email@example.com'), []);
});

test('the splitter keeps a partial line until its end arrives', (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push('ab'), []);
  t.deepEqual(s.push('c\nde\nf'), ['abc', 'de']);
  t.is(s.pending, 1);
  t.deepEqual(s.push('\n'), ['f']);
  t.is(s.pending, 0);
});

test("an unterminated message (the reference's private line) can be taken from the tail", (t) => {
  const s = new LineSplitter();
  const text = messageText(1, 0, 5, 20);
  t.deepEqual(s.push(`u1 : ${text}`), []);
  t.is(s.takeUnterminated(), `u1 : ${text}`);
  t.is(s.pending, 0);
  s.push('u1 : @1.1.5:xx');
  t.is(s.takeUnterminated(), undefined, 'a message still arriving stays');
});

test('countLines counts newlines', (t) => {
  t.is(countLines(''), 0);
  t.is(countLines('a\nb\n\nc'), 3);
});
