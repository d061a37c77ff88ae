/**
 * The message log on the wire, end to end over real TCP sockets: `cap|tags`, `history|N`,
 * `since|ID`, in zh and en; what a client that never asks sees is covered, byte for byte, by
 * server.spec.ts. The SQLite log's durability across a kill -9 is in history-cli.spec.ts.
 */
import test from 'ava';
import { startServer, userLine } from '../helpers/server';
import { TcpClient, connect } from '../helpers/tcp';
import { Lang, texts } from '../../lib/texts';

const TAG = /^@id=(\d+-\d+);time=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/;

/** A tagged line's id, time and the seed's line under it; fails on an untagged line. */
function untag(line: string): { id: string; time: string; line: string } {
  const m = TAG.exec(line);
  if (!m) throw new Error(`not a tagged line: ${JSON.stringify(line)}`);
  return { id: m[1], time: m[2], line: m[3] };
}

async function client(t: import('ava').ExecutionContext, port: number): Promise<TcpClient> {
  const c = await connect(port);
  t.teardown(() => c.destroy());
  return c;
}

/** Reads lines up to and including `history|end`. */
async function replay(c: TcpClient): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const line = await c.nextLine();
    lines.push(line);
    if (line === 'history|end') return lines;
  }
}

for (const lang of ['zh', 'en'] as Lang[]) {
  const t$ = texts[lang];

  test(`${lang}: cap|tags is acknowledged; from then on conversation lines carry id and time, replies do not`, async (t) => {
    const { port } = await startServer(t, { lang });
    const a = await client(t, port);
    await a.expectLine(userLine(a.addr, a.addr, t$.online));
    await a.send('cap|bogus');
    await a.expectLine('cap|nak|bogus');
    await a.send('cap|tags');
    await a.expectLine('cap|ack|tags');
    const b = await client(t, port);
    await b.expectLine(userLine(b.addr, b.addr, t$.online));
    const join = untag(await a.nextLine());
    t.is(join.line, userLine(b.addr, b.addr, t$.online));
    t.true(Math.abs(Date.parse(join.time) - Date.now()) < 60_000);
    await b.send('hello 世界');
    const said = untag(await a.nextLine());
    t.is(said.line, userLine(b.addr, b.addr, 'hello 世界'));
    t.true(BigInt(said.id.split('-')[0]) >= BigInt(join.id.split('-')[0]));
    t.not(said.id, join.id);
    // The plain client got the same line, untagged.
    t.is(await b.nextLine(), userLine(b.addr, b.addr, 'hello 世界'));
    // Private messages are tagged too (with an id of their own), replies are not.
    await b.send(`to|${a.addr}|psst`);
    const whisper = untag(await a.nextLine());
    t.is(whisper.line, `${b.addr} : psst`);
    await a.send('who');
    t.deepEqual(await a.nextLines(2), [userLine(a.addr, a.addr, t$.listed), userLine(b.addr, b.addr, t$.listed)]);
    await a.send('to|nobody|x');
    await a.expectLine(t$.noSuchUser('nobody'));
  });

  test(`${lang}: history|N gives the last N logged events, oldest first, as they were broadcast; bad N gets the usage`, async (t) => {
    const { port } = await startServer(t, { lang, historyPage: 3 });
    const a = await client(t, port);
    await a.expectLine(userLine(a.addr, a.addr, t$.online));
    for (const text of ['one', 'two', 'three']) {
      await a.send(text);
      await a.expectLine(userLine(a.addr, a.addr, text));
    }
    await a.send(`to|${a.addr}|not in history`);
    await a.expectLine(`${a.addr} : not in history`);
    const b = await client(t, port);
    await b.expectLine(userLine(b.addr, b.addr, t$.online));
    await a.expectLine(userLine(b.addr, b.addr, t$.online));
    await b.send('history|2');
    t.deepEqual(await replay(b), [userLine(a.addr, a.addr, 'three'), userLine(b.addr, b.addr, t$.online), 'history|end']);
    // Capped at --history-page (3 here).
    await b.send('history|100');
    t.deepEqual(await replay(b), [userLine(a.addr, a.addr, 'two'), userLine(a.addr, a.addr, 'three'), userLine(b.addr, b.addr, t$.online), 'history|end']);
    for (const bad of ['history|0', 'history|-1', 'history|x', 'history|']) {
      await b.send(bad);
      await b.expectLine(t$.historyUsage(3));
    }
    // With tags, the replay is tagged too, with the ids the live lines had.
    await a.send('cap|tags');
    await a.expectLine('cap|ack|tags');
    await a.send('history|1');
    const [last, end] = await a.nextLines(2);
    t.is(untag(last).line, userLine(b.addr, b.addr, t$.online));
    t.is(end, 'history|end');
  });

  test(`${lang}: since|ID gives what came after ID; unknown ids and long gaps say so`, async (t) => {
    const { port } = await startServer(t, { lang, historyPage: 2 });
    const a = await client(t, port);
    await a.expectLine(userLine(a.addr, a.addr, t$.online));
    await a.send('cap|tags');
    await a.expectLine('cap|ack|tags');
    await a.send('first');
    const first = untag(await a.nextLine());
    await a.send('second');
    await a.nextLine();
    await a.send(`since|${first.id}`);
    t.deepEqual(
      (await replay(a)).map((l) => (l.startsWith('@') ? untag(l).line : l)),
      [userLine(a.addr, a.addr, 'second'), 'history|end'],
    );
    await a.send('third');
    await a.nextLine();
    await a.send('fourth');
    await a.nextLine();
    // Three events follow `first` and a page holds two: the newest two, said to be truncated.
    await a.send(`since|${first.id}`);
    t.deepEqual(
      (await replay(a)).map((l) => (l.startsWith('@') ? untag(l).line : l)),
      ['history|truncated', userLine(a.addr, a.addr, 'third'), userLine(a.addr, a.addr, 'fourth'), 'history|end'],
    );
    for (const bad of ['since|nonsense', 'since|', 'since|99999999999999-0']) {
      await a.send(bad);
      t.deepEqual(
        (await replay(a)).map((l) => (l.startsWith('@') ? untag(l).line : l)),
        ['history|unknown', userLine(a.addr, a.addr, 'third'), userLine(a.addr, a.addr, 'fourth'), 'history|end'],
        bad,
      );
    }
  });
}

test('lines said while since| is answered: none missing, none repeated after history|end', async (t) => {
  const { port } = await startServer(t, {});
  const a = await client(t, port);
  await a.nextLine();
  const b = await client(t, port);
  await b.nextLine();
  await a.nextLine();
  await a.send('cap|tags');
  await a.expectLine('cap|ack|tags');
  await a.send('mark');
  const mark = untag(await a.nextLine());
  await b.nextLine();
  // b talks while a asks: they land in the same turns of the server's loop.
  await Promise.all([a.send(`since|${mark.id}`), b.write('x1\nx2\nx3\n')]);
  const upToEnd: { id: string; line: string }[] = [];
  const afterEnd: { id: string; line: string }[] = [];
  let ended = false;
  while (!afterEnd.some((l) => l.line.endsWith(':x3')) && !(ended && upToEnd.some((l) => l.line.endsWith(':x3')))) {
    const line = await a.nextLine();
    if (line === 'history|end') ended = true;
    else if (line.startsWith('@')) (ended ? afterEnd : upToEnd).push(untag(line));
  }
  const seenBefore = new Set(upToEnd.map((l) => l.id));
  t.false(
    afterEnd.some((l) => seenBefore.has(l.id)),
    'nothing after history|end repeats a line sent before it',
  );
  // Every x line reached a, in order, live or replayed.
  const xs = [...upToEnd, ...afterEnd].filter((l) => /:x\d$/.test(l.line));
  t.deepEqual([...new Map(xs.map((l) => [l.id, l.line.slice(-2)])).values()], ['x1', 'x2', 'x3']);
});

test('a server without a log answers history| with an empty reply and tags nothing', async (t) => {
  const { port } = await startServer(t, { history: false });
  const a = await client(t, port);
  await a.expectLine(userLine(a.addr, a.addr, 'is online'));
  await a.send('history|5');
  await a.expectLine('history|end');
  await a.send('since|1-0');
  t.deepEqual(await a.nextLines(2), ['history|unknown', 'history|end']);
});

test('a disk that fills up: one log line, one notice to everyone, and the chat goes on without history', async (t) => {
  const { openSqliteLog } = await import('../../lib/store/sqlite');
  const { tempDataDir } = await import('../helpers/data-dir');
  // SQLite's max_page_count stands in for a full disk: it reports SQLITE_FULL as a full disk does.
  const history = openSqliteLog({ dir: tempDataDir(t), maxLines: 1_000_000, maxPages: 12 });
  t.teardown(() => history.close());
  const { port, logs } = await startServer(t, { history, rateLimit: 0 });
  const a = await client(t, port);
  await a.expectLine(userLine(a.addr, a.addr, 'is online'));
  const filler = 'x'.repeat(1000);
  let noticed = 0;
  let after = '';
  for (let i = 0; i < 200 && after === ''; i++) {
    await a.send(`${filler}${i}`);
    for (;;) {
      const line = await a.nextLine();
      if (line === texts.en.historyLost) noticed++;
      else if (noticed > 0 && line.endsWith(`${filler}${i}`)) after = line;
      if (line.endsWith(`${filler}${i}`)) break;
    }
  }
  t.is(noticed, 1, 'one notice');
  t.not(after, '', 'lines still reach everyone after the log is lost');
  t.is(logs.filter((l) => /history: .*could not be written/.test(l)).length, 1, logs.join('\n'));
  await a.send('history|5');
  await a.expectLine('history|end');
});
