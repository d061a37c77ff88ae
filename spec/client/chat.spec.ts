/** Marble tests of chat mode (`--chat`) through the client's core. */
import test from 'ava';
import { NEVER } from 'rxjs';
import { runClient } from '../../lib/client/client';
import { zh, en } from '../../lib/client/texts';
import { frames, marbles } from './marbles';

const READY = '?? > ';

test('chat mode: plain lines are broadcast whole; slash commands map to the protocol', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const input$ = cold('-a-b-c-d-e-f-g', {
      a: 'hello  world ',
      b: '/who',
      c: '/nick bob',
      d: '/msg alice hi | there  you',
      e: '//help is a word',
      f: '   ',
      g: '/quit',
    });
    expectObservable(runClient({ input$, server$: NEVER }, { texts: en, mode: 'chat' }).pipe(frames(scheduler))).toBe('sa-b-c-d-e-f-g 999ms (X|)', {
      s: ['[notice] Chat mode: a line goes to everyone; /help lists the commands', READY],
      a: ['> hello  world \\n', READY],
      b: ['> who\\n', READY],
      c: ['> rename|bob\\n', READY],
      d: ['> to|alice|hi | there  you\\n\\n', READY],
      e: ['> /help is a word\\n', READY],
      f: [READY],
      g: ['hangup'],
      X: ['exit 0'],
    });
  });
});

test('chat mode: usage notices, unknown commands and /help (zh)', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const input$ = cold('-a-b-c-d-e', { a: '/nick', b: '/nick two words', c: '/msg bob', d: '/frob x', e: '/help' });
    expectObservable(runClient({ input$, server$: NEVER }, { texts: zh, mode: 'chat' }).pipe(frames(scheduler))).toBe('sa-b-c-d-e', {
      s: ['[notice] 聊天模式:输入消息即发给所有人,输入/help查看命令', READY],
      a: ['[notice] 用法:/nick 名字', READY],
      b: ['[notice] 用法:/nick 名字', READY],
      c: ['[notice] 用法:/msg 名字 内容', READY],
      d: ['[notice] 未知命令:/frob,输入/help查看命令', READY],
      e: [...zh.chatHelp, READY],
    });
  });
});

test('chat mode: /history N asks for the last N lines; a bad N gets the usage', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const input$ = cold('-a-b-c-d-e', { a: '/history 20', b: '/HISTORY 3', c: '/history', d: '/history 0', e: '/history 5 x' });
    expectObservable(runClient({ input$, server$: NEVER }, { texts: zh, mode: 'chat' }).pipe(frames(scheduler))).toBe('sa-b-c-d-e', {
      s: ['[notice] 聊天模式:输入消息即发给所有人,输入/help查看命令', READY],
      a: ['> history|20\\n', READY],
      b: ['> history|3\\n', READY],
      c: ['[notice] 用法:/history 条数(1或更多)', READY],
      d: ['[notice] 用法:/history 条数(1或更多)', READY],
      e: ['[notice] 用法:/history 条数(1或更多)', READY],
    });
  });
});

test('chat mode: a history reply shows its lines; its end shows nothing; a gap is a notice', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, hot, expectObservable }) => {
    const input$ = cold('-a', { a: '/history 2' });
    const server$ = hot('---b-c-d-e-f-g', {
      b: '[127.0.0.1:5]bob:one',
      c: '[127.0.0.1:6]127.0.0.1:6:is online',
      d: 'history|end',
      e: 'history|unknown',
      f: '[127.0.0.1:5]bob:two',
      g: 'history|end',
    });
    expectObservable(runClient({ input$, server$ }, { texts: en, mode: 'chat' }).pipe(frames(scheduler))).toBe('sa-b-c---e-f', {
      s: ['[notice] Chat mode: a line goes to everyone; /help lists the commands', READY],
      a: ['> history|2\\n', READY],
      b: ['[public] [127.0.0.1:5]bob:one'],
      c: ['[public] [127.0.0.1:6]127.0.0.1:6:is online'],
      e: ['[notice] ' + en.historyUnknown],
      f: ['[public] [127.0.0.1:5]bob:two'],
    });
  });
});

test('chat mode: incoming lines by tone, escapes made visible, whatever the server sends', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const server$ = hot('-a-b-c-d', {
      a: '[127.0.0.1:5]bob:hi',
      b: 'bob : psst',
      c: '\x1b[2J\x1b]0;pwned\x07bell',
      d: 'x\u202eevil',
    });
    expectObservable(runClient({ input$: NEVER, server$ }, { texts: en, mode: 'chat' }).pipe(frames(scheduler))).toBe('sa-b-c-d', {
      s: ['[notice] Chat mode: a line goes to everyone; /help lists the commands', READY],
      a: ['[public] [127.0.0.1:5]bob:hi'],
      b: ['[private] bob : psst'],
      c: ['[notice] ␛[2J␛]0;pwned␇bell'],
      d: ['[notice] x\ufffdevil'],
    });
  });
});
