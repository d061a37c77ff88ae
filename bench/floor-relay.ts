#!/usr/bin/env node
/**
 * The floor for the `private` scenario: the protocol's private-message path and nothing else
 * (no RxJS, no limits, no sanitising, no idle kick, no send-queue bound, names never checked),
 * its writes batched per event-loop turn as rx-im's are (without rx-im's pacing). Not a server
 * to run: a yardstick for what Node itself costs per message on this machine, so that rx-im's
 * figures can be read against it.
 *
 *     node -r ts-node/register/transpile-only bench/floor-relay.ts PORT
 *     npm run bench -- private -c 1000 -m 100000 --duration 8 --port PORT --pid PID
 */
import * as net from 'node:net';

interface Conn {
  readonly socket: net.Socket;
  name: string;
  pending: Buffer[];
}

export function floorRelay(): net.Server {
  const byName = new Map<string, Conn>();
  const everyone = new Set<Conn>();
  let dirty: Conn[] = [];
  const flush = () => {
    const now = dirty;
    dirty = [];
    for (const c of now) {
      const batch = c.pending;
      c.pending = [];
      if (!c.socket.destroyed) c.socket.write(batch.length === 1 ? batch[0] : Buffer.concat(batch));
    }
  };
  const send = (c: Conn, line: string) => {
    if (c.pending.push(Buffer.from(line + '\n')) === 1 && dirty.push(c) === 1) setImmediate(flush);
  };
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    const addr = `${socket.remoteAddress}:${socket.remotePort}`;
    const me: Conn = { socket, name: addr, pending: [] };
    byName.set(addr, me);
    everyone.add(me);
    for (const c of everyone) send(c, `[${addr}]${addr}:已上线`);
    let rest = '';
    socket.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('rename|')) {
          byName.delete(me.name);
          me.name = line.slice('rename|'.length);
          byName.set(me.name, me);
          send(me, `您已经更新用户名:${me.name}`);
        } else if (line.startsWith('to|')) {
          const bar = line.indexOf('|', 3);
          const to = byName.get(line.slice(3, bar));
          if (to) send(to, `${me.name} : ${line.slice(bar + 1)}`);
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      everyone.delete(me);
      if (byName.get(me.name) === me) byName.delete(me.name);
    });
  });
}

if (require.main === module) {
  const port = Number(process.argv[2] ?? 0);
  const server = floorRelay().listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
    process.stdout.write(`floor relay on 127.0.0.1:${(server.address() as net.AddressInfo).port} (pid ${process.pid})\n`);
  });
  process.on('SIGINT', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
