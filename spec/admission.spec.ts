/**
 * Admission (lib/admission.ts) without a socket: the places of every port against the total,
 * per-IP and web limits, proxies naming their clients, release once; the open-files fit of
 * --max-connections; and the --max-web-connections flag.
 */
import test from 'ava';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Admission, connectionsWithin, fitConnections, openFilesLimit } from '../lib/admission';
import { parseServerFlags } from '../lib/flags';

const limits = (maxConnections: number, maxConnectionsPerIp = 0, maxWebConnections = maxConnections) => ({
  maxConnections,
  maxConnectionsPerIp,
  maxWebConnections,
});

test('every door counts against the total; refusals hold no place', (t) => {
  const a = new Admission(limits(3));
  const tickets = [a.admit('chat', '10.0.0.1'), a.admit('web', '10.0.0.2'), a.admit('web', '10.0.0.3')];
  t.deepEqual(
    tickets.map((x) => x.refused),
    [undefined, undefined, undefined],
  );
  t.is(a.admit('chat', '10.0.0.4').refused, 'full');
  t.is(a.admit('web', '10.0.0.4').refused, 'full');
  t.is(a.connections, 3);
  a.release(tickets[1]);
  t.is(a.connections, 2);
  t.is(a.webConnections, 1);
  t.is(a.admit('chat', '10.0.0.4').refused, undefined);
});

test('the web holds at most its share: the rest stays for the chat', (t) => {
  const a = new Admission(limits(10, 0, 4));
  for (let i = 0; i < 4; i++) t.is(a.admit('web', `10.0.0.${i}`).refused, undefined);
  t.is(a.admit('web', '10.0.0.9').refused, 'web_full');
  for (let i = 0; i < 6; i++) t.is(a.admit('chat', `10.0.1.${i}`).refused, undefined);
  t.is(a.admit('chat', '10.0.2.1').refused, 'full');
  t.deepEqual([a.connections, a.webConnections], [10, 4]);
});

test('per IP, every door together; 0 means no limit', (t) => {
  const a = new Admission(limits(100, 2));
  const first = a.admit('web', '10.0.0.1');
  a.admit('chat', '10.0.0.1');
  t.is(a.admit('chat', '10.0.0.1').refused, 'per_ip');
  t.is(a.admit('web', '10.0.0.1').refused, 'per_ip');
  t.is(a.admit('chat', '10.0.0.2').refused, undefined);
  a.release(first);
  t.is(a.from('10.0.0.1'), 1);
  t.is(a.admit('chat', '10.0.0.1').refused, undefined);
  const open = new Admission(limits(100, 0));
  for (let i = 0; i < 50; i++) t.is(open.admit('chat', '10.0.0.1').refused, undefined);
});

test("a proxy's connection counts in the totals, and under its client's IP once named", (t) => {
  const a = new Admission(limits(100, 1));
  const relayed = a.admit('chat', undefined);
  t.is(relayed.refused, undefined);
  t.is(a.connections, 1);
  t.is(a.name(relayed, '203.0.113.7'), undefined);
  t.is(a.from('203.0.113.7'), 1);
  t.is(a.name(relayed, '198.51.100.1'), undefined, 'named once: the first name stands');
  t.is(a.from('198.51.100.1'), 0);
  const second = a.admit('web', undefined);
  t.is(a.name(second, '203.0.113.7'), 'per_ip');
  t.is(a.from('203.0.113.7'), 1);
  a.release(second);
  a.release(relayed);
  t.deepEqual([a.connections, a.from('203.0.113.7')], [0, 0]);
});

test('release is once; a refused ticket releases nothing', (t) => {
  const a = new Admission(limits(1));
  const held = a.admit('chat', '10.0.0.1');
  const refused = a.admit('chat', '10.0.0.2');
  a.release(refused);
  t.is(a.connections, 1);
  a.release(held);
  a.release(held);
  t.is(a.connections, 0);
  t.is(a.from('10.0.0.1'), 0);
});

test('closing refuses everyone with shutdown', (t) => {
  const a = new Admission(limits(10));
  a.close();
  t.is(a.admit('chat', '10.0.0.1').refused, 'shutdown');
  t.is(a.admit('web', '10.0.0.1').refused, 'shutdown');
});

test('admitSocket: a place freed at the close, once; a socket already reset is counted and destroyed', (t) => {
  const a = new Admission(limits(10));
  const live = Object.assign(new EventEmitter(), { remoteAddress: '10.0.0.1', destroyed: false, destroy: () => undefined }) as unknown as Socket;
  const ticket = a.admitSocket(live, 'web');
  t.is(ticket?.refused, undefined);
  t.deepEqual([a.connections, a.webConnections, a.from('10.0.0.1')], [1, 1, 1]);
  live.emit('close');
  live.emit('close');
  t.deepEqual([a.connections, a.webConnections, a.from('10.0.0.1')], [0, 0, 0]);
  let destroyed = 0;
  const reset = Object.assign(new EventEmitter(), { remoteAddress: undefined, destroyed: false, destroy: () => destroyed++ }) as unknown as Socket;
  t.is(a.admitSocket(reset, 'chat'), undefined);
  t.is(destroyed, 1);
  t.is(a.resetBeforeAccept, 1);
  t.is(a.connections, 0);
  // From a trusted proxy: counted, not under the proxy's address.
  const proxied = Object.assign(new EventEmitter(), { remoteAddress: '10.9.9.9', destroyed: false, destroy: () => undefined }) as unknown as Socket;
  const relayed = a.admitSocket(proxied, 'chat', false);
  t.is(relayed?.ip, undefined);
  t.is(a.from('10.9.9.9'), 0);
  t.is(a.connections, 1);
});

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            4096                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test('--max-connections within the open-files limit: 4,096 files leave room for 4,032 connections', (t) => {
  t.is(openFilesLimit(LIMITS), 4096);
  t.is(openFilesLimit(LIMITS.replace('4096   ', 'unlimited')), undefined);
  t.is(openFilesLimit('garbage'), undefined);
  t.is(connectionsWithin(4096), 4032);
  t.deepEqual(fitConnections(10_000, LIMITS), { max: 4032, lowered: true, openFiles: 4096 });
  t.deepEqual(fitConnections(1000, LIMITS), { max: 1000, lowered: false, openFiles: 4096 });
  t.deepEqual(fitConnections(10_000, undefined), { max: 10_000, lowered: false });
  t.is(connectionsWithin(10), 1, 'never below one');
});

test('--max-web-connections: a whole number from 1, on the server options', (t) => {
  const parsed = parseServerFlags(['--max-web-connections', '50']);
  t.true(parsed.ok === true && parsed.value.server.maxWebConnections === 50);
  for (const bad of ['0', '-1', 'x', '1.5']) {
    const p = parseServerFlags(['--max-web-connections', bad]);
    t.true(p.ok === false && /--max-web-connections/.test(p.error), bad);
  }
});
