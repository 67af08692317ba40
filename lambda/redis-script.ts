/*
 * The one script a batch takes to Redis: its text, and the flags that say where Redis may run it.
 *
 * KEYS: every key the call reads or writes (streams, inventory hashes and their bookkeeping), or one fixed key that
 * is never read or written: ElastiCache Serverless refuses scripts without keys, and in cluster mode the keys choose
 * the node. All share one hash tag, so they live in one slot.
 * ARGV[1]: '1' stops a group at a PUBLISH that reached nobody; ARGV[2]: the streams' MINID (entries older are
 * trimmed); ARGV[3]: the time in epoch ms. Then per group: its message count n, the count of ARGV entries its
 * messages take, then each message:
 *   'p', channel, index of its stream in KEYS (0: none), body: PUBLISH the body (and XADD it to the stream);
 *   'i', header JSON, item count m, then m triples id, item JSON ('' when EC2 does not know it), deleted reason
 *   ('' when it exists): apply an inventory observation (docs/inventory.md); its answer: created, updated,
 *   deleted, same, stale, bytes published on the change feed, and for a snapshot part seven more (redis-call.ts).
 * Returns one array per group, an answer per message in order: a PUBLISH's receiver count, or an inventory
 * observation's counts; where Redis refused a command (an ACL NOPERM on a channel, say), its error text ends the
 * group's array and nothing after it in the group ran.
 */
const SCRIPT_BODY = `
local stopOnZero = ARGV[1] == '1'
local minId = ARGV[2]
local now = tonumber(ARGV[3])
-- Bytes published on the change feed: the function paces the feed by them.
local fed = 0

local function refused(reply)
  return type(reply) == 'table' and reply.err
end

local function publish(channel, stream, body)
  if stream then
    local added = redis.pcall('XADD', stream, 'MINID', minId, '*', 'event', body)
    if refused(added) then return nil, added.err end
  end
  local reply = redis.pcall('PUBLISH', channel, body)
  if refused(reply) then return nil, reply.err end
  return reply
end

-- A record's fixed head, read without decoding its item (the last member): its observation time and whether deleted.
local HEAD = '^{"type":"[^"]*","id":"[^"]*","account":"[^"]*","region":"[^"]*","observedAt":"([^"]*)","deleted":(%a+)'

-- Applies one observation: a record is replaced only by a later one; a change is published on the op's channel.
-- Returns created, updated, deleted, same or stale, or nil and Redis' error.
local function observe(op, keys, id, item, reason, at, source)
  local field = op.type .. '/' .. id
  local old = redis.pcall('HGET', keys.hash, field)
  if refused(old) then return nil, old.err end
  local oldItem, oldDeleted
  if old then
    local oldAt, deleted = string.match(old, HEAD)
    if oldAt and at <= oldAt then return 'stale' end
    oldDeleted = deleted == 'true'
    local start = string.find(old, ',"item":', 1, true)
    if start then oldItem = string.sub(old, start + 8, -2) end
  end
  local deleted = reason ~= ''
  -- EC2 no longer knows it: the tombstone keeps what it was.
  if item == '' then item = oldItem or 'null' end
  local change = 'same'
  if deleted then
    if old and not oldDeleted then change = 'deleted' end
  elseif not old or oldDeleted then
    change = 'created'
  elseif oldItem ~= item then
    change = 'updated'
  end
  local head = '{"type":"' .. op.type .. '","id":"' .. id .. '","account":"' .. op.account .. '","region":"' .. op.region ..
    '","observedAt":"' .. at .. '"'
  local state = deleted and ('true,"reason":"' .. reason .. '"') or 'false'
  local written = redis.pcall('HSET', keys.hash, field, head .. ',"deleted":' .. state .. ',"source":"' .. source .. '","item":' .. item .. '}')
  if refused(written) then return nil, written.err end
  if deleted and (change == 'deleted' or not old) then
    written = redis.pcall('ZADD', keys.tombstones, now, field)
  elseif not deleted and oldDeleted then
    written = redis.pcall('ZREM', keys.tombstones, field)
  end
  if refused(written) then return nil, written.err end
  if change ~= 'same' then
    local message = '{"change":"' .. change .. '","type":"' .. op.type .. '","id":"' .. id .. '","account":"' .. op.account ..
      '","region":"' .. op.region .. '","observedAt":"' .. at .. '","item":' .. item .. '}'
    local _, err = publish(op.channel, keys.stream, message)
    if err then return nil, err end
    fed = fed + #message
  end
  return change
end

-- Tombstones older than the op's hours go, a bounded number per call.
local function purge(op, keys)
  local expired = redis.pcall('ZRANGEBYSCORE', keys.tombstones, '-inf', now - op.ttl, 'LIMIT', 0, 100)
  if refused(expired) then return expired.err end
  for _, field in ipairs(expired) do
    local gone = redis.pcall('HDEL', keys.hash, field)
    if refused(gone) then return gone.err end
    gone = redis.pcall('ZREM', keys.tombstones, field)
    if refused(gone) then return gone.err end
  end
end

-- A snapshot part: note what it listed; once every part of its type arrived, tombstone what the listing lacks,
-- except records observed after it began. Returns the type's and the run's completion and the run's counts.
local function snapshotPart(op, keys, counts, ids)
  local s = op.snapshot
  local seen, parts, run, seeded = KEYS[s.seen], KEYS[s.received], KEYS[s.run], KEYS[s.seeded]
  for start = 1, #ids, 500 do
    local added = redis.pcall('SADD', seen, unpack(ids, start, math.min(start + 499, #ids)))
    if refused(added) then return nil, added.err end
  end
  local r = redis.pcall('SADD', parts, s.part)
  if refused(r) then return nil, r.err end
  for _, key in ipairs({ seen, parts, run }) do
    r = redis.pcall('EXPIRE', key, 172800)
    if refused(r) then return nil, r.err end
  end
  local wasSeeded = redis.pcall('EXISTS', seeded) == 1
  local typeDone, runDone = 0, 0
  if redis.pcall('SCARD', parts) >= s.parts and redis.pcall('HSETNX', run, 'done:' .. op.type, 1) == 1 then
    typeDone = 1
    local prefix = op.type .. '/'
    local fields = redis.pcall('HKEYS', keys.hash)
    if refused(fields) then return nil, fields.err end
    for _, field in ipairs(fields) do
      if string.sub(field, 1, #prefix) == prefix then
        local id = string.sub(field, #prefix + 1)
        if redis.pcall('SISMEMBER', seen, id) == 0 then
          local at, deleted = string.match(redis.pcall('HGET', keys.hash, field) or '', HEAD)
          if deleted == 'false' and at < op.observedAt then
            local change, err = observe(op, keys, id, '', 'absent-from-snapshot', op.observedAt, 'snapshot')
            if err then return nil, err end
            if change == 'deleted' then counts.deleted = counts.deleted + 1 end
          end
        end
      end
    end
    r = redis.pcall('SET', seeded, '1')
    if refused(r) then return nil, r.err end
    if redis.pcall('HINCRBY', run, 'types', 1) >= s.types then runDone = 1 end
  end
  -- What a seeded type's snapshot corrects was missed by live events; the first complete listing only loads.
  if wasSeeded then
    for _, kind in ipairs({ 'created', 'updated', 'deleted' }) do
      r = redis.pcall('HINCRBY', run, kind, counts[kind])
      if refused(r) then return nil, r.err end
    end
  else
    r = redis.pcall('HINCRBY', run, 'loaded', counts.created + counts.updated + counts.deleted)
    if refused(r) then return nil, r.err end
  end
  local totals = redis.pcall('HMGET', run, 'created', 'updated', 'deleted', 'loaded')
  return { typeDone, runDone, wasSeeded and 1 or 0, tonumber(totals[1]) or 0, tonumber(totals[2]) or 0,
    tonumber(totals[3]) or 0, tonumber(totals[4]) or 0 }
end

-- One inventory message: its observations from ARGV[first], in triples.
local function inventory(op, first, count)
  local fedBefore = fed
  local keys = { hash = KEYS[op.hash], tombstones = KEYS[op.tombstones], stream = op.stream > 0 and KEYS[op.stream] or nil }
  local err = purge(op, keys)
  if err then return nil, err end
  local counts = { created = 0, updated = 0, deleted = 0, same = 0, stale = 0 }
  local ids = {}
  for k = 0, count - 1 do
    local at = first + 3 * k
    local change
    change, err = observe(op, keys, ARGV[at], ARGV[at + 1], ARGV[at + 2], op.observedAt, op.source)
    if err then return nil, err end
    counts[change] = counts[change] + 1
    ids[#ids + 1] = ARGV[at]
  end
  local snapshot = {}
  if op.snapshot then
    snapshot, err = snapshotPart(op, keys, counts, ids)
    if err then return nil, err end
  end
  local answer = { counts.created, counts.updated, counts.deleted, counts.same, counts.stale, fed - fedBefore }
  for _, value in ipairs(snapshot) do answer[#answer + 1] = value end
  return answer
end

local results = {}
local i = 4
while i <= #ARGV do
  local n, length = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local nextGroup = i + 2 + length
  i = i + 2
  local answers = {}
  for _ = 1, n do
    local answer, err
    if ARGV[i] == 'p' then
      local stream = tonumber(ARGV[i + 2])
      answer, err = publish(ARGV[i + 1], stream > 0 and KEYS[stream] or nil, ARGV[i + 3])
      i = i + 4
    else
      local count = tonumber(ARGV[i + 2])
      answer, err = inventory(cjson.decode(ARGV[i + 1]), i + 3, count)
      i = i + 3 + 3 * count
    end
    if err then
      answers[#answers + 1] = err
      break
    end
    answers[#answers + 1] = answer
    if stopOnZero and answer == 0 then
      break
    end
  end
  results[#results + 1] = answers
  i = nextGroup
end
return results
`;

/**
 * Redis >= 7 refuses a script with a shebang on a replica (READONLY), so a connection that still reaches a demoted
 * primary after a failover publishes nothing instead of publishing to nobody. `allow-oom` only while the script
 * writes nothing: a full Redis still publishes, but with the stream mirror it let appends pass `maxmemory` (streams
 * carry no TTL, so ElastiCache's default volatile-lru evicts nothing): a script that writes is refused there (OOM),
 * a transient failure that SQS retries.
 */
export const PUBLISH_SCRIPT = `#!lua flags=allow-oom${SCRIPT_BODY}`;
export const WRITING_SCRIPT = `#!lua${SCRIPT_BODY}`;
/** Redis 6.2 knows no shebang (a syntax error there); the role is checked beside each call instead. */
export const PUBLISH_SCRIPT_PRE7 = SCRIPT_BODY;

/** The script for a server and a call: Redis 6.2 gets no shebang (the caller checks the role instead). */
export function scriptFor(pre7: boolean, writes: boolean): string {
  if (pre7) return PUBLISH_SCRIPT_PRE7;
  return writes ? WRITING_SCRIPT : PUBLISH_SCRIPT;
}

/**
 * The commands the script calls with the inventory on, besides EVAL and PUBLISH (and XADD for the mirror): what an
 * ACL user needs (docs/redis.md; test/redis-tls-acl.test.ts runs the inventory under exactly these).
 */
export const INVENTORY_COMMANDS = [
  'eval',
  'publish',
  'xadd',
  'hget',
  'hset',
  'hdel',
  'hkeys',
  'hsetnx',
  'hincrby',
  'hmget',
  'zadd',
  'zrem',
  'zrangebyscore',
  'sadd',
  'scard',
  'sismember',
  'expire',
  'exists',
  'set',
] as const;

/** The key a call declares when it touches no other key; never read or written. */
export const SCRIPT_KEY = '{management-events-sync}';

/**
 * Each account's stream, named after its channel: `{management-events-sync}:topic-account-management-events-<id>`.
 * Every stream shares the script key's hash tag, so in cluster mode a batch's keys, whatever its accounts, live in
 * one slot and the batch stays one call.
 */
export function streamKey(channel: string): string {
  return `${SCRIPT_KEY}:${channel}`;
}
