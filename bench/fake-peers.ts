/** Sessions without sockets, for the in-process benchmarks: fake peers on a ChatServer, each with its input. */
import { Subject } from 'rxjs';
import type { Outgoing } from '../lib/outbox';
import type { Peer } from '../lib/peer';
import type { ChatServer } from '../lib/server';

/** Accepts `count` fake peers on `server`; `write` sees what each is handed. Returns their inputs. */
export function fakePeers(server: ChatServer, count: number, write: (data: Outgoing) => void): Subject<string>[] {
  const inputs: Subject<string>[] = [];
  for (let i = 0; i < count; i++) {
    const lines$ = new Subject<string>();
    inputs.push(lines$);
    const ip = `10.0.${i >> 8}.${i & 255}`;
    const peer: Peer = { addr: `${ip}:${1000 + i}`, ip, lines$, write, queued: () => 0, end: () => {}, destroy: () => {}, onClose: () => {} };
    server.accept(peer);
  }
  return inputs;
}
