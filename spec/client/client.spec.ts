/**
 * Marble tests of how a session ends, in virtual time: quitting (0, /quit, end of input)
 * half-closes and waits for the server's close or the linger time; a kick or shutdown
 * notice then a close exits 0; a silent close or a network error exits 1.
 */
import test from 'ava';
import { NEVER } from 'rxjs';
import { runClient } from '../../lib/client/client';
import { Framed, TOO_LONG } from '../../lib/lines';
import { en, zh } from '../../lib/client/texts';
import { frames, marbles } from './marbles';

const MENU = [...zh.menu, '?? '];

test('end of input hangs up; the server closing after its last reply ends the client with 0', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, hot, expectObservable }) => {
    const input$ = cold('-a|', { a: 'x' });
    const server$ = hot('----r-|', { r: 'reply' });
    expectObservable(runClient({ input$, server$ }, { texts: zh }).pipe(frames(scheduler))).toBe('mah-r-(X|)', {
      m: MENU,
      a: ['[notice] >>>>>>请输入合法的flag!<<<<<<', ...MENU],
      h: ['hangup'],
      r: ['[notice] reply'],
      X: ['exit 0'],
    });
  });
});

test('after quitting, a server that never closes (the reference) is left after lingerMs; later input is ignored', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const input$ = cold('-a-b-c', { a: '0', b: '1', c: 'hello' });
    expectObservable(runClient({ input$, server$: NEVER }, { texts: zh, lingerMs: 50 }).pipe(frames(scheduler))).toBe('mh 49ms (X|)', {
      m: MENU,
      h: ['hangup'],
      X: ['exit 0'],
    });
  });
});

test('kicked: the notice, then the close: says so and exits 0, even without a final newline (the reference)', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const server$ = hot('--k|', { k: '你被踢了' });
    expectObservable(runClient({ input$: NEVER, server$ }, { texts: zh }).pipe(frames(scheduler))).toBe('m-k(X|)', {
      m: MENU,
      k: ['[notice] 你被踢了'],
      X: ['[notice] 服务器已断开连接', 'exit 0'],
    });
  });
});

test('server shutdown (en), then a reset instead of a clean close: still the server goodbye, exit 0', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const server$ = hot('--s#', { s: 'The server is shutting down' }, Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expectObservable(runClient({ input$: NEVER, server$ }, { texts: en, mode: 'chat' }).pipe(frames(scheduler))).toBe('m-s(X|)', {
      m: ['[notice] Chat mode: a line goes to everyone; /help lists the commands', '?? > '],
      s: ['[notice] The server is shutting down'],
      X: ['[notice] The server closed the connection', 'exit 0'],
    });
  });
});

test('a close without a notice is unexpected: exit 1', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const server$ = hot('--a-|', { a: '[1.2.3.4:5]x:hi' });
    expectObservable(runClient({ input$: NEVER, server$ }, { texts: zh }).pipe(frames(scheduler))).toBe('m-a-(X|)', {
      m: MENU,
      a: ['[public] [1.2.3.4:5]x:hi'],
      X: ['[error] 服务器意外断开了连接', 'exit 1'],
    });
  });
});

test('a network error: the reason, exit 1, even while quitting', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, hot, expectObservable }) => {
    const input$ = cold('-q', { q: '0' });
    const server$ = hot('---#', undefined, Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expectObservable(runClient({ input$, server$ }, { texts: zh }).pipe(frames(scheduler))).toBe('mq-(X|)', {
      m: MENU,
      q: ['hangup'],
      X: ['[error] 与服务器的连接中断:连接被重置 (ECONNRESET)', 'exit 1'],
    });
  });
});

test('an unknown error shows its message; an over-long server line becomes a notice', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const server$ = hot<Framed>('-l-#', { l: TOO_LONG }, new Error('something odd'));
    expectObservable(runClient({ input$: NEVER, server$ }, { texts: en }).pipe(frames(scheduler))).toBe('ml-(X|)', {
      m: [...en.menu, '?? '],
      l: ['[notice] (a line from the server was too long and was dropped)'],
      X: ['[error] Connection to the server lost: something odd', 'exit 1'],
    });
  });
});
