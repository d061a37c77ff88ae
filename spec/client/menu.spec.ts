/**
 * Marble tests of menu mode through the client's core: the reference's flows and texts,
 * whole lines sent, and its defects (first-word messages, empty line = exit) not copied.
 */
import test from 'ava';
import { NEVER } from 'rxjs';
import { runClient } from '../../lib/client/client';
import { zh, en } from '../../lib/client/texts';
import { frames, marbles } from './marbles';

const MENU = [
  '*****************************',
  '**********1.公聊模式**********',
  '**********2.私聊模式**********',
  '**********3.更新用户名********',
  '**********0.退出**************',
  '******************************',
  '?? ',
];
const PUBLIC_PROMPT = '? >>>>>请输入聊天内容:';
const TARGET_PROMPT = '? >>>>>>请输入聊天对象(用户名),输入exit退出:';

test('public chat: a whole line is sent, exit returns to the menu, 0 quits and waits for the close', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, hot, expectObservable }) => {
    const input$ = cold('  --a--b--c--d--', { a: '1', b: 'hello world', c: 'exit', d: '0' });
    const server$ = hot('  -j------------s--|', { j: '[1.2.3.4:5]1.2.3.4:5:已上线', s: '[1.2.3.4:5]1.2.3.4:5:hello world' });
    expectObservable(runClient({ input$, server$ }, { texts: zh }).pipe(frames(scheduler))).toBe('mjA--B--C--D--s--(X|)', {
      m: MENU,
      j: ['[public] [1.2.3.4:5]1.2.3.4:5:已上线'],
      A: ['>>>>>>公聊模式,输入exit退出', PUBLIC_PROMPT],
      B: ['> hello world\\n', PUBLIC_PROMPT],
      C: MENU,
      D: ['hangup'],
      s: ['[public] [1.2.3.4:5]1.2.3.4:5:hello world'],
      X: ['exit 0'],
    });
  });
});

test('public chat: empty and blank lines are not sent; spaces inside a message are kept', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const input$ = cold('-a-b-c-d', { a: '1', b: '', c: '   ', d: '  two  words ' });
    expectObservable(runClient({ input$, server$: NEVER }, { texts: zh }).pipe(frames(scheduler))).toBe('mA-B-C-D', {
      m: MENU,
      A: ['>>>>>>公聊模式,输入exit退出', PUBLIC_PROMPT],
      B: [PUBLIC_PROMPT],
      C: [PUBLIC_PROMPT],
      D: ['>   two  words \\n', PUBLIC_PROMPT],
    });
  });
});

test('an invalid choice gets the reference notice and the menu again; an empty line does not exit', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const input$ = cold('-a-b-c-d', { a: '9', b: '', c: '1 2', d: 'x' });
    const again = ['[notice] >>>>>>请输入合法的flag!<<<<<<', ...MENU];
    expectObservable(runClient({ input$, server$: NEVER }, { texts: zh }).pipe(frames(scheduler))).toBe('ma-b-c-d', {
      m: MENU,
      a: again,
      b: again,
      c: again,
      d: again,
    });
  });
});

test('private chat: who, target, whole messages as to|NAME|TEXT plus the reference empty line, exit twice', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const input$ = cold('-a-b-c-d-e-f-g-h', { a: '2', b: '', c: ' bob ', d: 'hi there bob', e: '', f: 'exit', g: 'exit', h: '0' });
    expectObservable(runClient({ input$, server$: NEVER }, { texts: zh }).pipe(frames(scheduler))).toBe('ma-b-c-d-e-f-g-h 999ms (X|)', {
      m: MENU,
      a: ['>>>>>>私聊模式,输入exit退出', '> who\\n', TARGET_PROMPT],
      b: [TARGET_PROMPT],
      c: ['? >>>>>>请输入消息内容,输入exit退出:'],
      d: ['> to|bob|hi there bob\\n\\n', '? >>>>>请输入消息内容,输入exit退出:'],
      e: ['? >>>>>请输入消息内容,输入exit退出:'],
      f: ['> who\\n', TARGET_PROMPT],
      g: MENU,
      h: ['hangup'],
      X: ['exit 0'],
    });
  });
});

test('rename: the trimmed name is sent as rename|NAME; an empty name sends nothing; both return to the menu', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const input$ = cold('-a-b-c-d', { a: '3', b: ' alice ', c: '3', d: '' });
    expectObservable(runClient({ input$, server$: NEVER }, { texts: zh }).pipe(frames(scheduler))).toBe('ma-b-c-d', {
      m: MENU,
      a: ['? >>>>请输入用户名:'],
      b: ['> rename|alice\\n', ...MENU],
      c: ['? >>>>请输入用户名:'],
      d: MENU,
    });
  });
});

test('--lang en: the English catalogue', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const input$ = cold('-a-b', { a: '7', b: '1' });
    const menu = [...en.menu, '?? '];
    expectObservable(runClient({ input$, server$: NEVER }, { texts: en }).pipe(frames(scheduler))).toBe('ma-b', {
      m: menu,
      a: ['[notice] >>>>>>Please enter a valid choice!<<<<<<', ...menu],
      b: ['>>>>>>Public chat, type exit to leave', '? >>>>>Message:'],
    });
  });
});
