/**
 * Chat mode's account commands (lib/client/chat.ts, commands.ts, and the page's copy
 * web/commands.js): `/register`, `/login NAME`, `/passwd` ask for passwords with secret prompts
 * (never echoed, never in history: the terminal edge honours the flag, see
 * spec/e2e/accounts-client.spec.ts), a new password twice; an empty line cancels; a line at a
 * password prompt is a password, never a command; no screen line ever shows one.
 */
import test from 'ava';
import { chatMode, ChatState } from '../../lib/client/chat';
import { ChatCommand, parseChatLine } from '../../lib/client/commands';
import { Effect, prompt, secretPrompt, send, show } from '../../lib/client/effects';
import { clientTexts } from '../../lib/client/texts';
import { Lang } from '../../lib/texts';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the page's plain script (UMD, no types), loaded as node loads it
const page = require('../../web/commands.js') as { parseChatLine(line: string): ChatCommand };

/** Feeds typed lines to chat mode; returns every step's effects. */
function typed(lang: Lang, lines: readonly string[]): { effects: Effect[][]; state: ChatState } {
  const mode = chatMode(clientTexts[lang]);
  let state = mode.start.state;
  const effects: Effect[][] = [];
  for (const line of lines) {
    const step = mode.line(state, line);
    state = step.state;
    effects.push([...step.effects]);
  }
  return { effects, state };
}

const cases: [string, ChatCommand][] = [
  ['/register', { kind: 'register' }],
  ['  /REGISTER  ', { kind: 'register' }],
  ['/register hunter22', { kind: 'usage', command: 'register' }],
  ['/login bob', { kind: 'login', name: 'bob' }],
  ['/Login 名字', { kind: 'login', name: '名字' }],
  ['/login', { kind: 'usage', command: 'login' }],
  ['/login bob hunter22', { kind: 'usage', command: 'login' }],
  ['/passwd', { kind: 'passwd' }],
  ['/passwd old new', { kind: 'usage', command: 'passwd' }],
  ['/logout', { kind: 'logout' }],
  ['//login bob', { kind: 'say', text: '/login bob' }],
];
for (const [line, expected] of cases) {
  test(`${JSON.stringify(line)} reads the same in the client and the page`, (t) => {
    t.deepEqual(parseChatLine(line), expected);
    t.deepEqual(page.parseChatLine(line), expected);
  });
}

for (const lang of ['zh', 'en'] as Lang[]) {
  const t$ = clientTexts[lang];
  const ready = prompt(t$.chatPrompt, false);

  test(`${lang}: /register asks twice without echo and sends register|PASSWORD; a mismatch or an empty line cancels`, (t) => {
    const ok = typed(lang, ['/register', 'hunter22|x', 'hunter22|x']);
    t.deepEqual(ok.effects, [[secretPrompt(t$.passwordPrompt)], [secretPrompt(t$.passwordAgainPrompt)], [send('register|hunter22|x'), ready]]);
    t.is(ok.state, null);
    const differ = typed(lang, ['/register', 'hunter22', 'hunter23']);
    t.deepEqual(differ.effects[2], [show(t$.passwordsDiffer, 'notice'), ready]);
    const cancel = typed(lang, ['/register', '']);
    t.deepEqual(cancel.effects[1], [show(t$.passwordCancelled, 'notice'), ready]);
    t.is(cancel.state, null);
  });

  test(`${lang}: /login NAME asks once; /passwd asks the old password, then the new one twice`, (t) => {
    t.deepEqual(typed(lang, ['/login bob', 'pw with spaces ']).effects, [[secretPrompt(t$.passwordPrompt)], [send('login|bob|pw with spaces '), ready]]);
    t.deepEqual(typed(lang, ['/passwd', 'old-pass-1', 'new-pass-2', 'new-pass-2']).effects, [
      [secretPrompt(t$.oldPasswordPrompt)],
      [secretPrompt(t$.newPasswordPrompt)],
      [secretPrompt(t$.passwordAgainPrompt)],
      [send('passwd|old-pass-1|new-pass-2'), ready],
    ]);
    t.deepEqual(typed(lang, ['/passwd', 'old-pass-1', 'new-pass-2', 'new-pass-3']).effects[3], [show(t$.passwordsDiffer, 'notice'), ready]);
    t.deepEqual(typed(lang, ['/logout']).effects, [[send('logout'), ready]]);
  });

  test(`${lang}: a line typed at a password prompt is the password, not a command; usages for bad forms`, (t) => {
    t.deepEqual(typed(lang, ['/login bob', '/quit']).effects[1], [send('login|bob|/quit'), ready]);
    t.deepEqual(typed(lang, ['/register now']).effects, [[show(t$.registerUsage, 'notice'), ready]]);
    t.deepEqual(typed(lang, ['/login']).effects, [[show(t$.loginUsage, 'notice'), ready]]);
    t.deepEqual(typed(lang, ['/passwd a b']).effects, [[show(t$.passwdUsage, 'notice'), ready]]);
  });

  test(`${lang}: no screen line and no prompt ever shows a password; only secret prompts wait for one`, (t) => {
    const secrets = ['Secret-One-1', 'Secret-Two-2', 'Secret-Old-3'];
    const runs = [
      typed(lang, ['/register', secrets[0], secrets[0]]),
      typed(lang, ['/register', secrets[0], secrets[1]]),
      typed(lang, ['/login bob', secrets[1]]),
      typed(lang, ['/passwd', secrets[2], secrets[0], secrets[0]]),
    ];
    for (const run of runs) {
      const all = run.effects.flat();
      const visible = all.filter((e) => e.kind === 'show' || e.kind === 'prompt').map((e) => ('text' in e ? e.text : ''));
      for (const s of secrets)
        t.false(
          visible.some((text) => text.includes(s)),
          s,
        );
      // Every step that waits for a password is a secret prompt; every other prompt is not.
      for (const e of all) if (e.kind === 'prompt') t.is(e.secret === true, e.text !== t$.chatPrompt);
    }
    t.true(t$.chatHelp.some((line) => line.startsWith('/register')) && t$.chatHelp.some((line) => line.startsWith('/login')));
  });
}
