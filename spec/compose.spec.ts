// The README's example: the library composes into a chat without any socket.
import test from 'ava';
import { Subject } from 'rxjs';
import { MemoryHub, session, textOf, zh } from '../lib';

test('two sessions on one hub, driven by plain Subjects', (t) => {
  const hub = new MemoryHub();
  const alice = new Subject<string>();
  const bob = new Subject<string>();
  const heard: string[] = [];
  const options = { hub, texts: zh, idleMs: 60_000, maxLineBytes: 4096 };

  const a = session(alice, { ...options, addr: '10.0.0.1:1' }).subscribe();
  const b = session(bob, { ...options, addr: '10.0.0.2:2' }).subscribe((out) => heard.push(textOf(out) ?? `(closed: ${JSON.stringify(out)})`));

  alice.next('rename|alice');
  alice.next('hello bob');
  alice.next('to|10.0.0.2:2|psst');
  alice.complete(); // alice disconnects

  t.deepEqual(heard, ['[10.0.0.2:2]10.0.0.2:2:已上线', '[10.0.0.1:1]alice:hello bob', 'alice : psst', '[10.0.0.1:1]alice:已下线']);
  a.unsubscribe();
  b.unsubscribe();
});
