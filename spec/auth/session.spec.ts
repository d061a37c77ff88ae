/**
 * What accounts change in a session, as marble diagrams (no socket): with an in-memory store
 * the checks answer at once, so `rename|` to someone's account, `to|` an offline account,
 * `logout`, the plaintext refusal and a malformed command keep the session synchronous and in
 * order. The password checks themselves are asynchronous (scrypt): spec/e2e/accounts.spec.ts.
 */
import test from 'ava';
import { Observable, map } from 'rxjs';
import { MemoryAccounts } from '../../lib/auth/accounts';
import { Auth } from '../../lib/auth/auth';
import { MemoryLimiter } from '../../lib/auth/limiter';
import { Passwords } from '../../lib/auth/passwords';
import { MemoryHub } from '../../lib/hub';
import { Framed } from '../../lib/lines';
import { Line } from '../../lib/outbox';
import { nameKey } from '../../lib/protocol';
import { Output, session } from '../../lib/session';
import { en, zh } from '../../lib/texts';
import { marbles } from '../helpers/marbles';

const A = '10.0.0.1:1001';
const plain = (out: Output): Output => (out instanceof Line ? out.text : out);

function world(options: { passwordsAllowed?: boolean; accounts?: boolean; texts?: typeof zh } = {}) {
  const hub = new MemoryHub();
  const store = new MemoryAccounts();
  store.create({ key: nameKey('alice'), name: 'alice', hash: '$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g' });
  const auth = new Auth({ store, limiter: new MemoryLimiter(), passwords: new Passwords({ logN: 10, r: 8, p: 1 }) });
  const texts = options.texts ?? en;
  const user$ = (lines$: Observable<Framed>, scheduler: Parameters<typeof session>[1]['scheduler']): Observable<Output> =>
    session(lines$, {
      hub,
      texts,
      addr: A,
      id: A,
      idleMs: 60_000,
      maxLineBytes: 64,
      scheduler,
      accounts:
        options.accounts === false
          ? undefined
          : { auth, ip: '10.0.0.1', passwordsAllowed: options.passwordsAllowed ?? true, tlsPort: () => 8889, stamp: () => ({ id: '5-0', time: 5 }) },
    }).pipe(map(plain));
  return { user$, store };
}

test('rename| to an account is refused at once with its own notice; to| it while offline is kept, in order', (t) => {
  const scheduler = marbles(t);
  const { user$, store } = world();
  scheduler.run(({ hot, expectObservable }) => {
    const lines$ = hot('-a-b-c-d-e', { a: 'rename|ALICE', b: 'to|alice|hi', c: 'rename|bob', d: 'to|nobody|x', e: 'to|alice|again' });
    expectObservable(user$(lines$, scheduler), '^ 12ms !').toBe('ja-b-c-d-e', {
      j: `[${A}]${A}:is online`,
      a: en.nameRegistered('ALICE'),
      b: en.offlineKept('alice'),
      c: en.renamed('bob'),
      d: en.noSuchUser('nobody'),
      e: en.offlineKept('alice'),
    });
  });
  // Each kept under the name its sender had when it was sent.
  t.deepEqual(store.take(nameKey('alice')), [
    { id: '5-0', time: 5, from: A, text: 'hi' },
    { id: '5-0', time: 5, from: 'bob', text: 'again' },
  ]);
});

test('not logged in: logout and passwd| say so; malformed commands get their usage; register| needs a name first', (t) => {
  const scheduler = marbles(t);
  const { user$ } = world({ texts: zh });
  scheduler.run(({ hot, expectObservable }) => {
    const lines$ = hot('-a-b-c-d-e', { a: 'logout', b: 'passwd|old-pass-1|new-pass-2', c: 'login|bob', d: 'passwd|x', e: 'register|long-enough' });
    expectObservable(user$(lines$, scheduler), '^ 12ms !').toBe('ja-b-c-d-e', {
      j: `[${A}]${A}:已上线`,
      a: zh.notLoggedIn,
      b: zh.notLoggedIn,
      c: zh.accountUsage('login'),
      d: zh.accountUsage('passwd'),
      e: zh.registerNeedsName,
    });
  });
});

test('a connection that may not carry passwords is refused before any check, naming the TLS port', (t) => {
  const scheduler = marbles(t);
  const { user$ } = world({ passwordsAllowed: false });
  scheduler.run(({ hot, expectObservable }) => {
    const lines$ = hot('-a-b-c-d', { a: 'register|long-enough', b: 'login|alice|long-enough', c: 'passwd|long-enough|long-enough2', d: 'logout' });
    const refused = en.authNeedsTls(8889);
    expectObservable(user$(lines$, scheduler), '^ 10ms !').toBe('ja-b-c-d', {
      j: `[${A}]${A}:is online`,
      a: refused,
      b: refused,
      c: refused,
      d: en.notLoggedIn,
    });
  });
});

test('a server without accounts: the account commands get accountsOff; rename| and to| are as before', (t) => {
  const scheduler = marbles(t);
  const { user$ } = world({ accounts: false });
  scheduler.run(({ hot, expectObservable }) => {
    const lines$ = hot('-a-b-c-d', { a: 'login|alice|long-enough', b: 'logout', c: 'rename|alice', d: 'to|alice|hi' });
    expectObservable(user$(lines$, scheduler), '^ 10ms !').toBe('ja-b-c-d', {
      j: `[${A}]${A}:is online`,
      a: en.accountsOff,
      b: en.accountsOff,
      c: en.renamed('alice'),
      d: 'alice : hi',
    });
  });
});
