/*
 * The one script a batch takes to Redis: its text, and the flags that say where Redis may run it.
 *
 * KEYS: the streams the call appends to, or one fixed key that is never read or written: ElastiCache Serverless
 * refuses scripts without keys, and in cluster mode the keys choose the node.
 * ARGV[1]: '1' stops a group at a PUBLISH that reached nobody; ARGV[2]: the stream's MINID (entries older are
 * trimmed). Then per group: its message count n, then n triples: channel, index of its stream in KEYS (0: none),
 * body. Returns one array per group: each PUBLISH's receiver count, in order; where Redis refused a command (an ACL
 * NOPERM on a channel, say), its error text ends the group's array and nothing after it in the group ran.
 */
const SCRIPT_BODY = `
local stopOnZero = ARGV[1] == '1'
local minId = ARGV[2]
local results = {}
local i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local counts = {}
  for j = 0, n - 1 do
    local at = i + 1 + 3 * j
    local key = tonumber(ARGV[at + 1])
    if key > 0 then
      local added = redis.pcall('XADD', KEYS[key], 'MINID', minId, '*', 'event', ARGV[at + 2])
      if type(added) == 'table' and added.err then
        counts[#counts + 1] = added.err
        break
      end
    end
    local reply = redis.pcall('PUBLISH', ARGV[at], ARGV[at + 2])
    if type(reply) == 'table' then
      counts[#counts + 1] = reply.err
      break
    end
    counts[#counts + 1] = reply
    if stopOnZero and reply == 0 then
      break
    end
  end
  results[#results + 1] = counts
  i = i + 1 + 3 * n
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

/** The key a call declares when it appends to no stream; never read or written. */
export const SCRIPT_KEY = '{management-events-sync}';

/**
 * Each account's stream, named after its channel: `{management-events-sync}:topic-account-management-events-<id>`.
 * Every stream shares the script key's hash tag, so in cluster mode a batch's keys, whatever its accounts, live in
 * one slot and the batch stays one call.
 */
export function streamKey(channel: string): string {
  return `${SCRIPT_KEY}:${channel}`;
}
