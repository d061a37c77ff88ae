/**
 * The Lua scripts that make the Redis hub's multi-key steps atomic: a name is claimed, a node
 * is reaped, a node re-synchronised, each as one indivisible step that no other node can see
 * half done. Keys are derived from a prefix passed as ARGV[1] (one Redis, not Redis Cluster).
 *
 * The data, under prefix `p`:
 *   p:members        hash  gid -> JSON {a: addr, n: name, k: nameKey, node}
 *   p:order          zset  gid by join sequence (p:seq), for `who` in join order
 *   p:names          hash  nameKey -> gid: a name is unique because this hash is
 *   p:nodes          set   node ids believed alive
 *   p:node:ID        set   gids held by node ID
 *   p:alive:ID       string with a TTL: node ID's lease, renewed by its heartbeat
 *   p:reaped:ID      string: node ID was declared dead and its users announced offline
 *   p:tombs:ID       hash  nameKey -> gid: the names node ID's members held when it was reaped
 *                          (a member still connected there gets its name back when ID returns,
 *                          unless a login took it meanwhile)
 *   p:claimed        hash  nameKey -> gid: the last member a login gave the name (CLAIM)
 *   p:log            stream: the public events (joins, leaves, lines) in the one order every
 *                          node delivers them; field `e` = JSON Entry (wire.ts); MAXLEN ~ bound
 *   p:appended:ID    string: the last line sequence number (Entry.q) added for node ID
 *   p:log-loss       string: a stream id; Redis lost its data (restarted empty) before it, so
 *                          `since|` an id before it is unknown (RESYNC sets it)
 *   p:events         channel: renames, JSON {o: origin node, e: {kind: 'rename', addr, name}}
 *   p:inbox:ID       channel: JSON {to: gid, from, text}, private messages for node ID, or
 *                          {to: gid, lost: name, addr}: a name taken back (RESYNC), or
 *                          {to: gid, reclaimed: name, addr}: a name taken by a login (CLAIM)
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script run by its SHA, sent in full only when the server does not have it cached. */
export class Script {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Caches it on the server, so that `run` is one EVALSHA: a NOSCRIPT fallback would send the
   * EVAL after commands issued later, out of order.
   */
  load(redis: Redis): Promise<unknown> {
    return redis.script('LOAD', this.source);
  }

  async run(redis: Redis, argv: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...argv);
    } catch (err) {
      // A restarted Redis has an empty script cache.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, 0, ...argv);
    }
  }
}

/** Adds one entry to the log stream, trimmed (approximately: whole nodes) to ARGV's bound. */
const APPEND_ENTRY = `
local function append_entry(p, maxlen, entry)
  return redis.call('XADD', p..':log', 'MAXLEN', '~', maxlen, '*', 'e', entry)
end
`;

const REMOVE_MEMBER = `
local function remove_member(p, node, gid)
  local raw = redis.call('HGET', p..':members', gid)
  redis.call('HDEL', p..':members', gid)
  redis.call('ZREM', p..':order', gid)
  redis.call('SREM', p..':node:'..node, gid)
  if not raw then return nil end
  local rec = cjson.decode(raw)
  if redis.call('HGET', p..':names', rec.k) == gid then redis.call('HDEL', p..':names', rec.k) end
  return rec
end
`;

/**
 * ARGV: prefix, node, gid, record JSON, nameKey, entry JSON, maxlen. Registers a member and
 * announces it in the log; the default name (its address) is claimed only if free.
 */
export const JOIN = new Script(`${APPEND_ENTRY}
local p, node, gid = ARGV[1], ARGV[2], ARGV[3]
redis.call('HSET', p..':members', gid, ARGV[4])
redis.call('ZADD', p..':order', redis.call('INCR', p..':seq'), gid)
redis.call('SADD', p..':node:'..node, gid)
redis.call('HSETNX', p..':names', ARGV[5], gid)
append_entry(p, ARGV[7], ARGV[6])
return 1
`);

/** ARGV: prefix, node, gid, entry JSON, maxlen. Unregisters a member; announces it only if it was still registered. */
export const LEAVE = new Script(`${REMOVE_MEMBER}${APPEND_ENTRY}
local p, node, gid = ARGV[1], ARGV[2], ARGV[3]
if remove_member(p, node, gid) then append_entry(p, ARGV[5], ARGV[4]) return 1 end
return 0
`);

/**
 * ARGV: prefix, node, maxlen, then (q, entry JSON) pairs in q order. Adds a node's lines to the
 * log, each only if its q is above the last one added for the node: a batch sent again after a
 * failure that hid whether it got in is added once. Returns how many were added.
 */
export const APPEND = new Script(`${APPEND_ENTRY}
local p, node, maxlen = ARGV[1], ARGV[2], ARGV[3]
local key = p..':appended:'..node
local last = tonumber(redis.call('GET', key) or '0')
local added = 0
for i = 4, #ARGV - 1, 2 do
  local q = tonumber(ARGV[i])
  if q > last then
    append_entry(p, maxlen, ARGV[i + 1])
    last = q
    added = added + 1
  end
end
if added > 0 then redis.call('SET', key, last, 'EX', 86400) end
return added
`);

/**
 * ARGV: prefix, id, count. For `since|`: the newest `count` entries strictly after id (newest
 * first) with what says whether "after id" is whole: the horizon and the last id the stream
 * gave out. Trimming (MAXLEN) removes entries from the head without moving Redis'
 * max-deleted-entry-id, so when fewer entries are left than were ever added, the horizon is
 * "just before the first entry left", sent as "-FIRST" (an id before it may have lost its
 * successor: unknown); otherwise it is "0-0". A missing stream has neither.
 */
export const AFTER = new Script(`
local key = ARGV[1]..':log'
local loss = redis.call('GET', ARGV[1]..':log-loss') or '0-0'
if redis.call('EXISTS', key) == 0 then return {'0-0', '0-0', {}, loss} end
local info = redis.call('XINFO', 'STREAM', key)
local fields = {}
for i = 1, #info - 1, 2 do fields[info[i]] = info[i + 1] end
local horizon = '0-0'
local first = type(fields['first-entry']) == 'table' and fields['first-entry'][1] or nil
if first and (fields['entries-added'] == nil or tonumber(fields['entries-added']) > tonumber(fields['length'])) then horizon = '-'..first end
return {horizon, fields['last-generated-id'] or '0-0', redis.call('XREVRANGE', key, '+', '('..ARGV[2], 'COUNT', ARGV[3]), loss}
`);

/** Gives a member a free name (its old one released) and tells the other nodes. */
const SET_NAME = `
local function set_name(p, gid, key, name, told)
  redis.call('HSET', p..':names', key, gid)
  local raw = redis.call('HGET', p..':members', gid)
  if raw then
    local rec = cjson.decode(raw)
    if rec.k ~= key and redis.call('HGET', p..':names', rec.k) == gid then redis.call('HDEL', p..':names', rec.k) end
    rec.k = key
    rec.n = name
    redis.call('HSET', p..':members', gid, cjson.encode(rec))
  end
  redis.call('PUBLISH', p..':events', told)
  return 1
end
`;

/**
 * ARGV: prefix, gid, new nameKey, new name, rename envelope JSON. The atomic claim: 1 when
 * the name is now the member's (and the other nodes are told), 0 when someone else holds it.
 */
export const RENAME = new Script(`${SET_NAME}
local p, gid, key = ARGV[1], ARGV[2], ARGV[3]
local holder = redis.call('HGET', p..':names', key)
if holder and holder ~= gid then return 0 end
return set_name(p, gid, key, ARGV[4], ARGV[5])
`);

/**
 * ARGV: prefix, gid, nameKey, name, rename envelope JSON. RENAME whoever holds the name (a
 * login takes its account's name): a holder that is another member gets its address back as
 * its name (its address key, `ak`, claimed if free), its node is told on its inbox channel
 * (`{to, reclaimed: name, addr}`) and the others on the events channel, in the same step; a
 * member of a node declared dead that held it does not get it back when its node returns.
 * Returns 1.
 */
export const CLAIM = new Script(`${SET_NAME}
local p, gid, key = ARGV[1], ARGV[2], ARGV[3]
local holder = redis.call('HGET', p..':names', key)
if holder and holder ~= gid then
  redis.call('HDEL', p..':names', key)
  local raw = redis.call('HGET', p..':members', holder)
  if raw then
    local rec = cjson.decode(raw)
    local taken = rec.n
    rec.n = rec.a
    -- Its address's key (a record older than the ak field has none: it then holds no key).
    rec.k = rec.ak or ''
    if rec.ak then redis.call('HSETNX', p..':names', rec.ak, holder) end
    redis.call('HSET', p..':members', holder, cjson.encode(rec))
    redis.call('PUBLISH', p..':inbox:'..rec.node, cjson.encode({to = holder, reclaimed = taken, addr = rec.a}))
    redis.call('PUBLISH', p..':events', cjson.encode({o = rec.node, e = {kind = 'rename', addr = rec.a, name = rec.a}}))
  end
end
-- A holder on a node declared dead meanwhile does not get it back when its node returns (RESYNC).
redis.call('HSET', p..':claimed', key, gid)
return set_name(p, gid, key, ARGV[4], ARGV[5])
`);

const LIST_MEMBERS = `
local function list_members(p)
  local out = {}
  for _, gid in ipairs(redis.call('ZRANGE', p..':order', 0, -1)) do
    local raw = redis.call('HGET', p..':members', gid)
    if raw then
      out[#out + 1] = gid
      out[#out + 1] = raw
    end
  end
  return out
end
`;

/** ARGV: prefix. Every member as gid, record JSON, gid, record JSON..., in join order. */
export const LIST = new Script(`${LIST_MEMBERS}
return list_members(ARGV[1])
`);

/**
 * ARGV: prefix, nameKey, sender's name, text. Routes a private message to the node holding
 * the name: how many nodes received it (0: nobody has that name, or its node is gone).
 */
export const WHISPER = new Script(`
local p = ARGV[1]
local gid = redis.call('HGET', p..':names', ARGV[2])
if not gid then return 0 end
local raw = redis.call('HGET', p..':members', gid)
if not raw then return 0 end
local rec = cjson.decode(raw)
return redis.call('PUBLISH', p..':inbox:'..rec.node, cjson.encode({to = gid, from = ARGV[3], text = ARGV[4]}))
`);

/**
 * ARGV: prefix, node, lease ms. Renews this node's lease; 1 if the node is still registered,
 * 0 if the cluster forgot it (reaped, or Redis restarted empty): it must re-synchronise.
 */
export const HEARTBEAT = new Script(`
local p, node = ARGV[1], ARGV[2]
if redis.call('SISMEMBER', p..':nodes', node) == 0 then return 0 end
redis.call('SET', p..':alive:'..node, '1', 'PX', ARGV[3])
return 1
`);

/**
 * ARGV: prefix, maxlen. Reaps every registered node whose lease expired: frees its names and
 * announces its members offline in the log (with the dead node as origin and `r`: its own
 * users, if it was only cut off, were not told, and every other node delivers them). The names
 * they held are kept in p:tombs:NODE for a day: if the node was only cut off and comes back,
 * RESYNC gives them back to the members still holding them there. Atomic, and the node leaves
 * p:nodes in the same step, so however many nodes run it at once, each dead member is announced
 * exactly once. Returns the number of nodes reaped.
 */
export const REAP = new Script(`${REMOVE_MEMBER}${APPEND_ENTRY}
local p, maxlen = ARGV[1], ARGV[2]
local reaped = 0
for _, node in ipairs(redis.call('SMEMBERS', p..':nodes')) do
  if redis.call('EXISTS', p..':alive:'..node) == 0 then
    redis.call('SREM', p..':nodes', node)
    redis.call('SET', p..':reaped:'..node, '1', 'EX', 86400)
    local tombs = p..':tombs:'..node
    local gids = redis.call('ZRANGE', p..':order', 0, -1)
    for _, gid in ipairs(gids) do
      if redis.call('SISMEMBER', p..':node:'..node, gid) == 1 then
        local raw, held = redis.call('HGET', p..':members', gid), false
        if raw then
          local k = cjson.decode(raw).k
          held = k ~= nil and redis.call('HGET', p..':names', k) == gid
        end
        local rec = remove_member(p, node, gid)
        if rec then
          if held then redis.call('HSET', tombs, rec.k, gid) end
          append_entry(p, maxlen, cjson.encode({o = node, r = 1, e = {kind = 'offline', addr = rec.a, name = rec.n}}))
        end
      end
    end
    redis.call('EXPIRE', tombs, 86400)
    redis.call('DEL', p..':node:'..node)
    reaped = reaped + 1
  end
end
return reaped
`);

/**
 * ARGV: prefix, node, lease ms, members JSON [{g, a, n, k, ak, ann}], departed JSON
 * [{g, a, n}], maxlen, '1' if this node has been linked before. Makes Redis agree with this node after an outage: registers the node,
 * removes and announces (offline) the members that left meanwhile, registers the current ones
 * and announces (online) those the others have not seen (joined meanwhile, or everyone if this
 * node was reaped). These announcements go into the log with `r`: this node's users saw them
 * happen. A member whose name was taken elsewhere meanwhile falls back to its address, unless
 * it held the name all along and only lost it because this node was reaped (p:tombs:NODE),
 * and the newcomer did not take it by logging in (p:claimed): then the newcomer falls back to
 * its own address and its node is told on its inbox channel.
 * Returns the gids that lost their name, every member as LIST does, the registered nodes and
 * the log's last id (everything up to it that this node reads, it has been told).
 */
export const RESYNC = new Script(`${REMOVE_MEMBER}${LIST_MEMBERS}${APPEND_ENTRY}
local p, node, maxlen = ARGV[1], ARGV[2], ARGV[6]
local reaped = redis.call('GET', p..':reaped:'..node)
redis.call('DEL', p..':reaped:'..node)
-- Linked before, neither registered nor reaped: Redis lost its data. What the stream held is
-- gone: since| an id from before now cannot answer without a gap.
if ARGV[7] == '1' and not reaped and redis.call('SISMEMBER', p..':nodes', node) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', p..':log-loss', string.format('%.0f', now[1] * 1000 + math.floor(now[2] / 1000))..'-0', 'NX')
end
redis.call('SADD', p..':nodes', node)
redis.call('SET', p..':alive:'..node, '1', 'PX', ARGV[3])
local function announce(kind, a, n)
  append_entry(p, maxlen, cjson.encode({o = node, r = 1, e = {kind = kind, addr = a, name = n}}))
end
for _, d in ipairs(cjson.decode(ARGV[5])) do
  remove_member(p, node, d.g)
  if not reaped then announce('offline', d.a, d.n) end
end
local tombs = p..':tombs:'..node
local lost = {}
for _, m in ipairs(cjson.decode(ARGV[4])) do
  local holder = redis.call('HGET', p..':names', m.k)
  if holder and holder ~= m.g and redis.call('HGET', tombs, m.k) == m.g and redis.call('HGET', p..':claimed', m.k) ~= holder then
    local raw = redis.call('HGET', p..':members', holder)
    if raw then
      local rec = cjson.decode(raw)
      local taken = rec.n
      rec.n = rec.a
      if rec.ak then
        rec.k = rec.ak
        redis.call('HSETNX', p..':names', rec.ak, holder)
      end
      redis.call('HSET', p..':members', holder, cjson.encode(rec))
      redis.call('PUBLISH', p..':inbox:'..rec.node, cjson.encode({to = holder, lost = taken, addr = rec.a}))
    end
    redis.call('HSET', p..':names', m.k, m.g)
    holder = m.g
  end
  if holder and holder ~= m.g then
    lost[#lost + 1] = m.g
    m.k = m.ak
    m.n = m.a
    holder = redis.call('HGET', p..':names', m.k)
  end
  if not holder then redis.call('HSET', p..':names', m.k, m.g) end
  local raw = redis.call('HGET', p..':members', m.g)
  if raw then
    local rec = cjson.decode(raw)
    if rec.k ~= m.k and redis.call('HGET', p..':names', rec.k) == m.g then redis.call('HDEL', p..':names', rec.k) end
  else
    redis.call('ZADD', p..':order', redis.call('INCR', p..':seq'), m.g)
  end
  redis.call('HSET', p..':members', m.g, cjson.encode({a = m.a, n = m.n, k = m.k, ak = m.ak, node = node}))
  redis.call('SADD', p..':node:'..node, m.g)
  if reaped or not m.ann then announce('online', m.a, m.n) end
end
redis.call('DEL', tombs)
local top = redis.call('XREVRANGE', p..':log', '+', '-', 'COUNT', 1)
return {lost, list_members(p), redis.call('SMEMBERS', p..':nodes'), top[1] and top[1][1] or '0-0'}
`);

/**
 * ARGV: prefix, JSON [node ids]. After a re-sync, a node may still show users of nodes that
 * had not re-registered yet (Redis restarted empty). A lease later, those still absent are
 * given up: marked reaped (so that if one does come back, it announces its users again).
 * Returns every member as LIST does and the registered nodes.
 */
export const SETTLE = new Script(`${LIST_MEMBERS}
local p = ARGV[1]
for _, node in ipairs(cjson.decode(ARGV[2])) do
  if redis.call('SISMEMBER', p..':nodes', node) == 0 then redis.call('SET', p..':reaped:'..node, '1', 'EX', 86400) end
end
return {list_members(p), redis.call('SMEMBERS', p..':nodes')}
`);

export const SCRIPTS: readonly Script[] = [JOIN, LEAVE, APPEND, AFTER, RENAME, CLAIM, LIST, WHISPER, HEARTBEAT, REAP, RESYNC, SETTLE];
