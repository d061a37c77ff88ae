/** lib/logger.ts: the text format is today's lines byte for byte; the JSON format is one parseable object a line; levels filter both. */
import test from 'ava';
import { createLogger, lineLogger, LogFormat, Threshold } from '../lib/logger';

const AT = new Date('2026-01-02T03:04:05.678Z');

function capture(format: LogFormat, level: Threshold = 'info') {
  const chunks: string[] = [];
  const logger = createLogger({ format, level, write: (chunk) => chunks.push(chunk), now: () => AT });
  return { logger, chunks };
}

test('text: the time and the message, nothing else (the lines the server always wrote)', (t) => {
  const { logger, chunks } = capture('text');
  logger.log('info', 'connected 127.0.0.1:5000', { event: 'connected', addr: '127.0.0.1:5000', transport: 'tcp' });
  logger.log('warn', 'error 127.0.0.1:5000: read ECONNRESET');
  t.deepEqual(chunks, ['2026-01-02T03:04:05.678Z connected 127.0.0.1:5000\n', '2026-01-02T03:04:05.678Z error 127.0.0.1:5000: read ECONNRESET\n']);
});

test('json: one object a line with time, level, msg and the fields', (t) => {
  const { logger, chunks } = capture('json');
  logger.log('info', 'disconnected 127.0.0.1:5000 (kicked: idle)', { event: 'disconnected', addr: '127.0.0.1:5000', reason: 'idle' });
  logger.log('error', 'history: disk full');
  t.is(chunks.length, 2);
  const [first, second] = chunks.map((chunk) => {
    t.true(chunk.endsWith('\n') && !chunk.slice(0, -1).includes('\n'), chunk);
    return JSON.parse(chunk) as Record<string, unknown>;
  });
  t.like(first, { level: 'info', msg: 'disconnected 127.0.0.1:5000 (kicked: idle)', event: 'disconnected', addr: '127.0.0.1:5000', reason: 'idle' });
  t.regex(String(first.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.deepEqual(Object.keys(second).sort(), ['level', 'msg', 'time']);
  t.is(second.level, 'error');
});

test('json escapes what would break a line: a message with a newline stays one line', (t) => {
  const { logger, chunks } = capture('json');
  logger.log('warn', 'error 1.2.3.4:5: bad\nthing', { error: 'bad\nthing' });
  t.is(chunks.length, 1);
  t.is(chunks[0].split('\n').length, 2); // the line and its end
  t.is((JSON.parse(chunks[0]) as { msg: string }).msg, 'error 1.2.3.4:5: bad\nthing');
});

for (const format of ['text', 'json'] as const) {
  test(`${format}: the level filters, and setLevel changes it at once`, (t) => {
    const { logger, chunks } = capture(format, 'warn');
    logger.log('debug', 'a');
    logger.log('info', 'b');
    logger.log('warn', 'c');
    logger.log('error', 'd');
    t.is(chunks.length, 2);
    logger.setLevel('debug');
    t.is(logger.level, 'debug');
    logger.log('debug', 'e');
    logger.setLevel('silent');
    logger.log('error', 'f');
    t.is(chunks.length, 3);
    t.true(chunks[2].includes('e'));
  });
}

test('lineLogger: every level, the message alone (the `log` option tests and embedders use)', (t) => {
  const lines: string[] = [];
  const logger = lineLogger((line) => lines.push(line));
  logger.log('debug', 'x', { addr: '1' });
  logger.log('error', 'y');
  t.deepEqual(lines, ['x', 'y']);
});
