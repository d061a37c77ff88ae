// The in-memory hub's bookkeeping, through sessions.
import test from 'ava';
import { Subject } from 'rxjs';
import { MemoryHub, session, textOf, zh } from '../lib';

test("two connections with one address: the second renaming away does not free the first one's name", (t) => {
  const hub = new MemoryHub();
  const options = { hub, texts: zh, idleMs: 60_000, maxLineBytes: 4096 };
  const first = new Subject<string>();
  const second = new Subject<string>();
  const heard: string[] = [];
  const a = session(first, { ...options, addr: '10.0.0.1:1', id: 'tcp' }).subscribe((out) => heard.push(textOf(out) ?? `(closed: ${JSON.stringify(out)})`));
  const b = session(second, { ...options, addr: '10.0.0.1:1', id: 'web' }).subscribe();
  second.next('rename|bob');
  second.next('to|10.0.0.1:1|still yours');
  t.is(heard[heard.length - 1], 'bob : still yours');
  a.unsubscribe();
  b.unsubscribe();
});
