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
-- Bytes published on the change feed in this call: each op spends them from the feed's budget.
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

-- A record's observation time, whether it is a tombstone, and its item as JSON text. One written in another shape (by
-- hand, by a tool) is decoded: it keeps its protection against older observations.
local function readRecord(old)
  local oldAt, deleted = string.match(old, HEAD)
  if oldAt then
    local start = string.find(old, ',"item":', 1, true)
    return oldAt, deleted == 'true', start and string.sub(old, start + 8, -2) or 'null'
  end
  local ok, record = pcall(cjson.decode, old)
  if ok and type(record) == 'table' and type(record.observedAt) == 'string' then
    return record.observedAt, record.deleted == true, record.item == nil and 'null' or cjson.encode(record.item)
  end
  return nil, false, 'null'
end

-- Applies one observation: a record is replaced only by a later one; a change is published on the op's channel
-- before the record is written, so that a refusal leaves the record as it was and the retry does it all again.
-- Returns created, updated, deleted, same or stale, or nil and Redis' error.
local function observe(op, keys, id, item, reason, at, source)
  local field = op.type .. '/' .. id
  local old = redis.pcall('HGET', keys.hash, field)
  if refused(old) then return nil, old.err end
  local oldAt, oldDeleted, oldItem
  if old then
    oldAt, oldDeleted, oldItem = readRecord(old)
    if oldAt and at <= oldAt then return 'stale' end
  elseif keys.purgedUpTo and at <= keys.purgedUpTo then
    -- No older than a tombstone already purged: it must not bring a deleted asset back.
    return 'stale'
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
  if change ~= 'same' then
    local message = '{"change":"' .. change .. '","type":"' .. op.type .. '","id":"' .. id .. '","account":"' .. op.account ..
      '","region":"' .. op.region .. '","observedAt":"' .. at .. '","item":' .. item .. '}'
    local _, err = publish(op.channel, keys.stream, message)
    if err then return nil, err end
    fed = fed + #message
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
  return change
end

-- Tombstones older than the op's hours go, a bounded number per call; the newest observation purged is kept, so
-- that an older one arriving later is known as stale.
local function purge(op, keys)
  local expired = redis.pcall('ZRANGEBYSCORE', keys.tombstones, '-inf', now - op.ttl, 'LIMIT', 0, 100)
  if refused(expired) then return expired.err end
  for _, field in ipairs(expired) do
    local old = redis.pcall('HGET', keys.hash, field)
    if refused(old) then return old.err end
    local oldAt = old and readRecord(old)
    if oldAt and (not keys.purgedUpTo or oldAt > keys.purgedUpTo) then
      keys.purgedUpTo = oldAt
      local marked = redis.pcall('SET', KEYS[op.purged], oldAt)
      if refused(marked) then return marked.err end
    end
    local gone = redis.pcall('HDEL', keys.hash, field)
    if refused(gone) then return gone.err end
    gone = redis.pcall('ZREM', keys.tombstones, field)
    if refused(gone) then return gone.err end
  end
end

-- The change feed's budget in bytes, shared by every function and region writing to this Redis: a token bucket that
-- fills at op.rate bytes a second up to op.burst. An op starts only with budget left (else PACED and the wait).
local function budget(op)
  if op.feed == 0 then return math.huge end
  local state = redis.pcall('HMGET', KEYS[op.feed], 'tokens', 'at')
  if refused(state) then return nil, state.err end
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if not tokens or not at then return op.burst end
  return math.min(op.burst, tokens + math.max(0, now - at) * op.rate / 1000)
end

local function spend(op, tokens, bytes)
  if op.feed == 0 then return nil end
  local r = redis.pcall('HSET', KEYS[op.feed], 'tokens', tostring(tokens - bytes), 'at', now)
  if refused(r) then return r.err end
  r = redis.pcall('EXPIRE', KEYS[op.feed], 3600)
  if refused(r) then return r.err end
end

local function paced(op, tokens)
  return 'PACED ' .. math.ceil(-tokens * 1000 / op.rate) .. ' ms: the change feed is at its budget'
end

local function add(run, key, by)
  if by == 0 then return nil end
  local r = redis.pcall('HINCRBY', run, key, by)
  if refused(r) then return r.err end
end

-- A snapshot part: note what it listed; once every part of its type arrived, tombstone what the listing lacks,
-- except records observed after it began (less a margin for EC2's eventual consistency). The sweep stops when the
-- feed's budget is spent and goes on when the part comes again: marked done only once it went through.
-- Returns the type's and the run's completion and the run's counts.
local function snapshotPart(op, keys, counts, ids, tokens, fedBefore)
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
  local exists = redis.pcall('EXISTS', seeded)
  if refused(exists) then return nil, exists.err end
  -- What a seeded type's snapshot corrects was missed by live events; the first complete listing only loads.
  local wasSeeded = exists == 1
  local function tally(created, updated, deleted)
    if wasSeeded then
      return add(run, 'created', created) or add(run, 'updated', updated) or add(run, 'deleted', deleted)
    end
    return add(run, 'loaded', created + updated + deleted)
  end
  local err = tally(counts.created, counts.updated, counts.deleted)
  if err then return nil, err end
  local received = redis.pcall('SCARD', parts)
  if refused(received) then return nil, received.err end
  local done = redis.pcall('HGET', run, 'done:' .. op.type)
  if refused(done) then return nil, done.err end
  local typeDone, runDone = 0, 0
  if received >= s.parts and not done then
    local prefix = op.type .. '/'
    local fields = redis.pcall('HKEYS', keys.hash)
    if refused(fields) then return nil, fields.err end
    local swept = 0
    for _, field in ipairs(fields) do
      if string.sub(field, 1, #prefix) == prefix then
        local id = string.sub(field, #prefix + 1)
        local listed = redis.pcall('SISMEMBER', seen, id)
        if refused(listed) then return nil, listed.err end
        if listed == 0 then
          local old = redis.pcall('HGET', keys.hash, field)
          if refused(old) then return nil, old.err end
          local at, deleted = nil, true
          if old then at, deleted = readRecord(old) end
          -- Spared: observed since the listing began, or described just before it (EC2 may not list it yet).
          local spared = at and (at >= op.observedAt or (at >= op.spareFrom and string.find(old, '"source":"describe"', 1, true)))
          if not deleted and at and not spared then
            if tokens - (fed - fedBefore) < 0 then
              err = tally(0, 0, swept)
              return nil, err or paced(op, tokens - (fed - fedBefore))
            end
            local change
            change, err = observe(op, keys, id, '', 'absent-from-snapshot', op.observedAt, 'snapshot')
            if err then return nil, tally(0, 0, swept) or err end
            if change == 'deleted' then
              counts.deleted = counts.deleted + 1
              swept = swept + 1
            end
          end
        end
      end
    end
    err = tally(0, 0, swept)
    if err then return nil, err end
    typeDone = 1
    r = redis.pcall('HSET', run, 'done:' .. op.type, 1)
    if refused(r) then return nil, r.err end
    r = redis.pcall('SET', seeded, '1')
    if refused(r) then return nil, r.err end
    local types = redis.pcall('HINCRBY', run, 'types', 1)
    if refused(types) then return nil, types.err end
    if types >= s.types then runDone = 1 end
  end
  local totals = redis.pcall('HMGET', run, 'created', 'updated', 'deleted', 'loaded')
  if refused(totals) then return nil, totals.err end
  return { typeDone, runDone, wasSeeded and 1 or 0, tonumber(totals[1]) or 0, tonumber(totals[2]) or 0,
    tonumber(totals[3]) or 0, tonumber(totals[4]) or 0 }
end

-- One inventory message: its observations from ARGV[first], in triples.
local function inventory(op, first, count)
  local tokens, err = budget(op)
  if err then return nil, err end
  if tokens < 0 then return nil, paced(op, tokens) end
  local fedBefore = fed
  local purged = redis.pcall('GET', KEYS[op.purged])
  if refused(purged) then return nil, purged.err end
  local keys = {
    hash = KEYS[op.hash],
    tombstones = KEYS[op.tombstones],
    stream = op.stream > 0 and KEYS[op.stream] or nil,
    purgedUpTo = purged or nil,
  }
  err = purge(op, keys)
  if err then return nil, err end
  local counts = { created = 0, updated = 0, deleted = 0, same = 0, stale = 0 }
  local ids = {}
  for k = 0, count - 1 do
    local at = first + 3 * k
    local change
    change, err = observe(op, keys, ARGV[at], ARGV[at + 1], ARGV[at + 2], op.observedAt, op.source)
    if err then break end
    counts[change] = counts[change] + 1
    ids[#ids + 1] = ARGV[at]
  end
  local snapshot = {}
  if op.snapshot and not err then snapshot, err = snapshotPart(op, keys, counts, ids, tokens, fedBefore) end
  -- What was published is spent, whether the op went through or not.
  local spent = spend(op, tokens, fed - fedBefore)
  if err or spent then return nil, err or spent end
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
      -- A runtime error (a refusal nothing checked, odd input) ends this group only, not what the call already did.
      local ok, result, failure = pcall(function() return inventory(cjson.decode(ARGV[i + 1]), i + 3, count) end)
      if ok then answer, err = result, failure else answer, err = nil, tostring(result) end
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
  'get',
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
