/** Decoding what arrives on the Redis channels: checked, sanitised, never thrown. */
import test from 'ava';
import { decodeEnvelope, decodeLetter, decodeList, encodeEnvelope } from '../../lib/redis/wire';
import { renderEvent } from '../../lib/protocol';
import { en, zh } from '../../lib/texts';

test('an envelope round-trips for each broadcast kind, and a rename is no user event', (t) => {
  for (const e of [
    { kind: 'online', addr: '1.2.3.4:5', name: 'bob' },
    { kind: 'offline', addr: '1.2.3.4:5', name: 'bob' },
    { kind: 'say', addr: '1.2.3.4:5', name: 'bob', text: 'hi|there 世界' },
  ] as const) {
    t.deepEqual(decodeEnvelope(encodeEnvelope('n1', e)), { o: 'n1', e });
  }
  t.deepEqual(decodeEnvelope(encodeEnvelope('n1', { kind: 'rename', addr: '1.2.3.4:5', name: 'bo' })), { o: 'n1', renamed: { addr: '1.2.3.4:5', name: 'bo' } });
});

test('malformed messages are dropped; private messages and notices are not relayed as broadcasts', (t) => {
  for (const bad of [
    '',
    'null',
    '[]',
    '{"o":1}',
    '{"o":"n","e":{"kind":"say","addr":"a","name":"b"}}',
    '{"o":"n","e":{"kind":"private","addr":"a","name":"b","text":"x"}}',
    '{"o":"n","e":{"kind":"cluster","addr":"a","name":"b"}}',
    '{not json',
  ]) {
    t.is(decodeEnvelope(bad), undefined, bad);
  }
  t.is(decodeLetter('{"to":"n/1","from":"bob"}'), undefined);
  t.deepEqual(decodeLetter('{"to":"n/1","from":"bob","text":"hi"}'), { to: 'n/1', from: 'bob', text: 'hi' });
});

test('control characters from the channel are made visible, as for local messages', (t) => {
  const decoded = decodeEnvelope(JSON.stringify({ o: 'n', e: { kind: 'say', addr: 'a', name: 'b', text: 'x\u001b[2Jy' } }));
  t.deepEqual(decoded, { o: 'n', e: { kind: 'say', addr: 'a', name: 'b', text: 'x\u241b[2Jy' } });
  t.deepEqual(decodeLetter(JSON.stringify({ to: 'n/1', from: 'b\u0007', text: '\u0000' })), { to: 'n/1', from: 'b\u2407', text: '\u2400' });
});

test('a LIST reply becomes presences in order; broken records are skipped', (t) => {
  const rec = (a: string, n: string) => JSON.stringify({ a, n, k: n, node: 'n' });
  t.deepEqual(decodeList(['n/1', rec('1.1.1.1:1', 'ann'), 'n/2', 'garbage', 'm/3', rec('2.2.2.2:2', 'bob'), 'dangling']), [
    { id: 'n/1', addr: '1.1.1.1:1', name: 'ann' },
    { id: 'm/3', addr: '2.2.2.2:2', name: 'bob' },
  ]);
});

test('the cluster notices render in both languages', (t) => {
  t.is(renderEvent({ kind: 'cluster', state: 'degraded' }, zh), '集群连接中断:暂时只能与本节点的用户聊天');
  t.is(renderEvent({ kind: 'cluster', state: 'restored' }, en), 'Cluster link restored');
  t.is(
    renderEvent({ kind: 'nameLost', name: 'zed', addr: '1.2.3.4:5' }, en),
    'zed was also taken elsewhere while the cluster was degraded: your name is 1.2.3.4:5 again',
  );
});
