/**
 * Where a connection's bytes go: a ChatServer as `npm start` runs it (the message log on, in a
 * temporary directory), N real TCP clients in a child process, and the server's heap compared
 * before and after they joined, object by object (V8 heap snapshots, grouped by constructor).
 * Prints the heap, off-heap and RSS growth per connection and the 25 largest groups.
 *
 *     node -r ts-node/register/transpile-only --expose-gc bench/memory.ts [--clients N] [--top K]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { Session } from 'node:inspector';
import { ChatServer } from '../lib/server';
import { openSqliteLog } from '../lib/store/sqlite';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);

/** The child: opens N connections, reads until each saw its own join line, then waits. */
if (process.env.RXIM_MEMORY_CHILD) {
  const [port, count] = [Number(process.env.RXIM_PORT), Number(process.env.RXIM_COUNT)];
  let joined = 0;
  const sockets: net.Socket[] = [];
  let i = 0;
  const open = () => {
    if (i >= count) return;
    i++;
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      const me = `[127.0.0.1:${socket.localPort}]`;
      let seen = '';
      const onData = (chunk: Buffer) => {
        // The tail of what came before: a line split across two chunks is still found.
        const text = seen + chunk.toString('latin1');
        seen = text.slice(-100);
        if (text.includes(me)) {
          socket.off('data', onData);
          socket.on('data', () => {});
          if (++joined === count) process.send?.('joined');
        }
      };
      socket.on('data', onData);
      open();
    });
    socket.on('error', () => {});
    sockets.push(socket);
  };
  for (let k = 0; k < 50; k++) open();
  process.on('message', () => process.exit(0));
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}

interface Group {
  count: number;
  bytes: number;
}

/** Every script's URL by its id (the heap snapshot names a closure's script by id only). */
function scriptUrls(): Map<number, string> {
  const session = new Session();
  session.connect();
  const urls = new Map<number, string>();
  session.on('Debugger.scriptParsed', (message) => urls.set(Number(message.params.scriptId), message.params.url));
  session.post('Debugger.enable');
  session.post('Debugger.disable');
  session.disconnect();
  return urls;
}

interface Census {
  /** The heap's objects grouped by type and constructor name. */
  readonly byType: Map<string, Group>;
  /** The closures grouped by where their function is written (file:line:column). */
  readonly closures: Map<string, Group>;
  /** Arrays and plain objects grouped by what holds them (`Holder.field`). */
  readonly holders: Map<string, Group>;
}

/** The heap's objects, counted and sized (self size) by type and by the source of their closures. */
function census(): Census {
  const file = v8.writeHeapSnapshot(path.join(os.tmpdir(), `rx-im-memory-${process.pid}-${Date.now()}.heapsnapshot`));
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; location_fields: string[]; edge_fields: string[]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    locations: number[];
    strings: string[];
  };
  rmSync(file);
  const { meta } = snapshot.snapshot;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const [typeAt, nameAt, sizeAt, width] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size'), fields.length];
  const add = (groups: Map<string, Group>, key: string, bytes: number) => {
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += bytes;
    groups.set(key, group);
  };
  const byType = new Map<string, Group>();
  for (let n = 0; n < snapshot.nodes.length; n += width) {
    const type = types[snapshot.nodes[n + typeAt]];
    const name = type === 'object' || type === 'closure' || type === 'native' ? snapshot.strings[snapshot.nodes[n + nameAt]] : '';
    add(byType, `${type}${name ? ' ' + name : ''}`, snapshot.nodes[n + sizeAt]);
  }
  // Arrays and plain objects by what holds them (the first reference to each, as `Holder.field`).
  const holders = new Map<string, Group>();
  const ef = meta.edge_fields;
  const edgeTypes = meta.edge_types[0];
  const [edgeTypeAt, edgeNameAt, toAt, edgeWidth] = [ef.indexOf('type'), ef.indexOf('name_or_index'), ef.indexOf('to_node'), ef.length];
  const edgeCountAt = fields.indexOf('edge_count');
  const held = new Set<number>();
  // An array's backing store is held by its Array: named after what holds that Array.
  const arrayHolder = new Map<number, string>();
  for (let n = 0, e = 0; n < snapshot.nodes.length; n += width) {
    const holder = types[snapshot.nodes[n + typeAt]] === 'object' ? snapshot.strings[snapshot.nodes[n + nameAt]] : types[snapshot.nodes[n + typeAt]];
    for (let i = 0; i < snapshot.nodes[n + edgeCountAt]; i++, e += edgeWidth) {
      const to = snapshot.edges[e + toAt];
      if (arrayHolder.has(to) || edgeTypes[snapshot.edges[e + edgeTypeAt]] !== 'property') continue;
      if (types[snapshot.nodes[to + typeAt]] === 'object' && snapshot.strings[snapshot.nodes[to + nameAt]] === 'Array') {
        arrayHolder.set(to, `${holder}.${snapshot.strings[snapshot.edges[e + edgeNameAt]]}`);
      }
    }
  }
  for (let n = 0, e = 0; n < snapshot.nodes.length; n += width) {
    const holder = types[snapshot.nodes[n + typeAt]] === 'object' ? snapshot.strings[snapshot.nodes[n + nameAt]] : types[snapshot.nodes[n + typeAt]];
    for (let i = 0; i < snapshot.nodes[n + edgeCountAt]; i++, e += edgeWidth) {
      const to = snapshot.edges[e + toAt];
      const edgeType = edgeTypes[snapshot.edges[e + edgeTypeAt]];
      if (held.has(to) || edgeType === 'weak') continue;
      const type = types[snapshot.nodes[to + typeAt]];
      const name = snapshot.strings[snapshot.nodes[to + nameAt]];
      if (type !== 'array' && !(type === 'object' && (name === 'Object' || name === 'Array'))) continue;
      held.add(to);
      const field = edgeType === 'element' || edgeType === 'hidden' ? `[${edgeType}]` : snapshot.strings[snapshot.edges[e + edgeNameAt]];
      const where = holder === 'Array' && field === 'elements' ? `an Array in ${arrayHolder.get(n) ?? '?'}` : `${holder}.${field}`;
      add(holders, `${type === 'array' ? 'array' : name} in ${where}`, snapshot.nodes[to + sizeAt]);
    }
  }
  const urls = scriptUrls();
  const root = `file://${path.resolve(__dirname, '..')}/`;
  const closures = new Map<string, Group>();
  const lf = meta.location_fields;
  const [objectAt, scriptAt, lineAt, columnAt, step] = [
    lf.indexOf('object_index'),
    lf.indexOf('script_id'),
    lf.indexOf('line'),
    lf.indexOf('column'),
    lf.length,
  ];
  for (let l = 0; l < snapshot.locations.length; l += step) {
    const n = snapshot.locations[l + objectAt];
    if (types[snapshot.nodes[n + typeAt]] !== 'closure') continue;
    const url = (urls.get(snapshot.locations[l + scriptAt]) ?? '?').replace(root, '').replace(/^.*node_modules\//, '');
    add(closures, `${url}:${snapshot.locations[l + lineAt] + 1}:${snapshot.locations[l + columnAt] + 1}`, snapshot.nodes[n + sizeAt]);
  }
  return { byType, closures, holders };
}

/** What grew between two counts, per connection, largest first. */
function grown(before: Map<string, Group>, after: Map<string, Group>, clients: number) {
  return [...after]
    .map(([key, g]) => {
      const b = before.get(key) ?? { count: 0, bytes: 0 };
      return { key, count: (g.count - b.count) / clients, bytes: (g.bytes - b.bytes) / clients };
    })
    .sort((a, b) => b.bytes - a.bytes);
}

function settle(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 4; i++) gc();
}

function usage() {
  settle();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

async function main(): Promise<void> {
  const clients = option('--clients', 2000);
  const top = option('--top', 25);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-im-memory-'));
  const history = openSqliteLog({ dir, maxLines: 100_000, onTrouble: (why) => process.stderr.write(`history: ${why}\n`) });
  const server = new ChatServer({ port: 0, history, idleTimeoutMs: 3_600_000, maxConnections: 100_000 });
  const { port } = await server.listen();
  const before = usage();
  const groupsBefore = census();
  const child = fork(__filename, [], {
    env: { ...process.env, RXIM_MEMORY_CHILD: '1', RXIM_PORT: `${port}`, RXIM_COUNT: `${clients}` },
    execArgv: process.execArgv.filter((a) => a !== '--expose-gc'),
  });
  const started = Date.now();
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  const seconds = (Date.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = usage();
  const groupsAfter = census();
  const per = (a: number, b: number) => ((b - a) / clients / 1024).toFixed(2);
  const out: string[] = [];
  out.push(`${clients} connections joined in ${seconds.toFixed(1)} s (server ${server.connections})`);
  out.push(
    `per connection: heap ${per(before.heap, after.heap)} KiB, off-heap ${per(before.external, after.external)} KiB, RSS ${per(before.rss, after.rss)} KiB`,
  );
  const diff = grown(groupsBefore.byType, groupsAfter.byType, clients);
  out.push('', '| objects (type constructor) | per connection | bytes per connection |', '|---|---|---|');
  for (const d of diff.slice(0, top)) out.push(`| ${d.key.replace(/\|/g, '\\|')} | ${d.count.toFixed(2)} | ${d.bytes.toFixed(0)} |`);
  const total = diff.reduce((s, d) => s + d.bytes, 0);
  out.push(`| all | | ${total.toFixed(0)} |`);
  // Where the closures come from: each is a function made per connection (contexts come with them).
  const sites = grown(groupsBefore.closures, groupsAfter.closures, clients).filter((d) => d.count >= 0.5);
  out.push('', '| closures made per connection, by source | per connection | bytes per connection |', '|---|---|---|');
  for (const d of sites.slice(0, top)) out.push(`| ${d.key} | ${d.count.toFixed(2)} | ${d.bytes.toFixed(0)} |`);
  const holders = grown(groupsBefore.holders, groupsAfter.holders, clients).filter((d) => d.count >= 0.5);
  out.push('', '| arrays and plain objects per connection, by holder | per connection | bytes per connection |', '|---|---|---|');
  for (const d of holders.slice(0, top)) out.push(`| ${d.key.replace(/\|/g, '\\|')} | ${d.count.toFixed(2)} | ${d.bytes.toFixed(0)} |`);
  process.stdout.write(out.join('\n') + '\n');
  child.send('stop');
  await server.close(100);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
