import test from 'ava';
import fc from 'fast-check';
import { TOO_LONG } from '../lib/lines';
import { formatCommand, nameKey, nameProblem, parseCommand, parseCommands, renderEvent, sanitize } from '../lib/protocol';
import { en, zh } from '../lib/texts';
import { marbles } from './helpers/marbles';

test('parses each command of the reference protocol', (t) => {
  t.deepEqual(parseCommand('who'), { kind: 'who' });
  t.deepEqual(parseCommand('rename|bob'), { kind: 'rename', name: 'bob' });
  t.deepEqual(parseCommand('to|bob|hi'), { kind: 'to', name: 'bob', text: 'hi' });
  t.deepEqual(parseCommand('hello world'), { kind: 'say', text: 'hello world' });
  t.deepEqual(parseCommand('who '), { kind: 'say', text: 'who ' });
});

test('a private message keeps every further | in its text', (t) => {
  t.deepEqual(parseCommand('to|bob|a|b||c'), { kind: 'to', name: 'bob', text: 'a|b||c' });
});

test('a private message without a name, a second | or a text is a format error', (t) => {
  for (const line of ['to|', 'to|bob', 'to||hi', 'to|bob|']) {
    t.deepEqual(parseCommand(line), { kind: 'invalid', reason: 'privateFormat' }, line);
  }
});

test('an over-long line is an invalid command', (t) => {
  t.deepEqual(parseCommand(TOO_LONG), { kind: 'invalid', reason: 'tooLong' });
});

test('rename keeps the whole rest of the line, for the name rules to judge', (t) => {
  t.deepEqual(parseCommand('rename|a|b'), { kind: 'rename', name: 'a|b' });
  t.deepEqual(parseCommand('rename|'), { kind: 'rename', name: '' });
});

test('parseCommands maps lines to commands in order', (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const lines = cold('-a-b-c|', { a: 'who', b: 'hi', c: 'to|x' });
    expectObservable(lines.pipe(parseCommands())).toBe('-a-b-c|', {
      a: { kind: 'who' },
      b: { kind: 'say', text: 'hi' },
      c: { kind: 'invalid', reason: 'privateFormat' },
    });
  });
});

test('formatCommand is the inverse of parseCommand for valid commands', (t) => {
  for (const line of ['who', 'rename|bob', 'to|bob|a|b', 'hello']) {
    const command = parseCommand(line);
    if (command.kind === 'invalid') return t.fail(line);
    t.is(formatCommand(command), line);
  }
});

test('sanitize makes control characters visible and leaves text alone', (t) => {
  t.is(sanitize('plain 世界 😀'), 'plain 世界 😀');
  t.is(sanitize('\x1b[31mred'), '\u241b[31mred');
  t.is(sanitize('a\x07b\x08c\x00d\re'), 'a\u2407b\u2408c\u2400d\u240de');
  t.is(sanitize('tab\there'), 'tab here');
  t.is(sanitize('c1\u009bx del\x7f'), 'c1\ufffdx del\u2421');
  t.is(sanitize('bidi\u202eevil'), 'bidi\ufffdevil');
});

test('messages are sanitised when parsed', (t) => {
  t.deepEqual(parseCommand('\x1b]0;pwned\x07'), { kind: 'say', text: '\u241b]0;pwned\u2407' });
  t.deepEqual(parseCommand('to|bob|\x1b[2J'), { kind: 'to', name: 'bob', text: '\u241b[2J' });
});

test('name rules: length, |, whitespace, control characters, address look-alikes', (t) => {
  t.is(nameProblem('bob'), undefined);
  t.is(nameProblem('张三'), undefined);
  t.is(nameProblem('a'.repeat(32)), undefined);
  t.is(nameProblem('😀'.repeat(32)), undefined, 'counted in characters, not UTF-16 units');
  t.is(nameProblem(''), 'length');
  t.is(nameProblem('a'.repeat(33)), 'length');
  t.is(nameProblem('a|b'), 'bar');
  t.is(nameProblem('a b'), 'space');
  t.is(nameProblem('a\u3000b'), 'space');
  t.is(nameProblem('a\x1bb'), 'control');
  t.is(nameProblem('a\u202eb'), 'control');
  t.is(nameProblem('a\u200bb'), 'control');
  t.is(nameProblem('127.0.0.1:5000'), 'address');
  t.is(nameProblem('[::1]:5000'), 'address');
  t.is(nameProblem('1.2.3.4:80'), 'address');
  t.is(nameProblem('bob:42'), undefined);
  t.is(nameProblem('alice\u2060'), 'control');
  t.is(nameProblem('127.0.0.1\u22365000'), 'address');
});

test('nameKey folds case, Unicode width and look-alikes (spec/names.spec.ts has the rest)', (t) => {
  t.is(nameKey('Alice'), nameKey('alice'));
  t.is(nameKey('ＡＬＩＣＥ'), nameKey('alice'));
  t.is(nameKey('\u0430lice'), nameKey('alice'), 'Cyrillic а');
  t.is(nameKey('ΑΣ'), nameKey('ασ'));
  t.not(nameKey('alice'), nameKey('alicia'));
});

test('events render as the reference writes them, in each language', (t) => {
  t.is(renderEvent({ kind: 'online', addr: '1.2.3.4:5', name: 'bob' }, zh), '[1.2.3.4:5]bob:已上线');
  t.is(renderEvent({ kind: 'offline', addr: '1.2.3.4:5', name: 'bob' }, zh), '[1.2.3.4:5]bob:已下线');
  t.is(renderEvent({ kind: 'online', addr: '1.2.3.4:5', name: 'bob' }, en), '[1.2.3.4:5]bob:is online');
  t.is(renderEvent({ kind: 'say', addr: '1.2.3.4:5', name: 'bob', text: 'hi' }, en), '[1.2.3.4:5]bob:hi');
  t.is(renderEvent({ kind: 'private', from: 'bob', text: 'hi' }, zh), 'bob : hi');
});

test('property: the parser never throws and never lets a control character through', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (line) => {
      const command = parseCommand(line);
      const texts = command.kind === 'say' || command.kind === 'to' ? [command.text] : [];
      for (const text of texts) t.false(/[\u0000-\u001f\u007f-\u009f]/.test(text), JSON.stringify(text));
    }),
    { numRuns: 1000 },
  );
});
