/**
 * The page's copy of the chat commands (web/commands.js) against the terminal client's module
 * (lib/client/commands.ts): the same generated lines must read the same way in both.
 */
import test from 'ava';
import fc from 'fast-check';
import { ChatCommand, parseChatLine } from '../../lib/client/commands';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the page's plain script (UMD, no types), loaded as node loads it
const copy = require('../../web/commands.js') as { parseChatLine(line: string): ChatCommand };

// Lines built from the pieces that matter: slashes, command names in any case, blanks of
// every kind JavaScript's \s and trim() know, words, the protocol's bar.
// prettier-ignore
const piece = fc.constantFrom(
  '/', '//', ' ', '  ', '\t', '\u00a0', '\u3000', '\r', '\n',
  'who', 'WHO', 'nick', 'Nick', 'name', 'msg', 'MSG', 'help', 'quit', 'exit', 'EXIT', 'frob',
  'history', 'History', '5', '0', '05', '1234567890', '-1', '３',
  'bob', '名字', 'a', 'b c', '|', 'to|bob|hi', '你好',
);
const line = fc.oneof(
  fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('')),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
);

test('the page copy reads every generated line as the module does', (t) => {
  fc.assert(
    fc.property(line, (l) => {
      t.deepEqual(copy.parseChatLine(l), parseChatLine(l));
    }),
    { numRuns: 5000 },
  );
});

// The cases the page used to get wrong, and the aliases, checked in both.
const cases: [string, ChatCommand][] = [
  ['/nick a b', { kind: 'usage', command: 'nick' }],
  ['/nick', { kind: 'usage', command: 'nick' }],
  ['/name carol', { kind: 'rename', name: 'carol' }],
  ['  /who', { kind: 'who' }],
  ['/Exit', { kind: 'quit' }],
  ['/quit', { kind: 'quit' }],
  ['/msg bob  hi there ', { kind: 'msg', to: 'bob', text: 'hi there' }],
  ['/msg bob', { kind: 'usage', command: 'msg' }],
  ['//help me', { kind: 'say', text: '/help me' }],
  ['  hello ', { kind: 'say', text: '  hello ' }],
  ['/Frob x', { kind: 'unknown', command: '/Frob' }],
  [' \t ', { kind: 'nothing' }],
  ['/HELP', { kind: 'help' }],
  ['/history 20', { kind: 'history', count: 20 }],
  [' /History  5 ', { kind: 'history', count: 5 }],
  ['/history', { kind: 'usage', command: 'history' }],
  ['/history 0', { kind: 'usage', command: 'history' }],
  ['/history 05', { kind: 'usage', command: 'history' }],
  ['/history 5 more', { kind: 'usage', command: 'history' }],
  ['/history ten', { kind: 'usage', command: 'history' }],
  ['/history 1234567890', { kind: 'usage', command: 'history' }],
];
for (const [typed, expected] of cases) {
  test(`${JSON.stringify(typed)} reads the same in the module and the page`, (t) => {
    t.deepEqual(parseChatLine(typed), expected);
    t.deepEqual(copy.parseChatLine(typed), expected);
  });
}
