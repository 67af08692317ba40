import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM, type ClusterMode } from './config.ts';
import { ConfigError, OutcomeUnknownError, RedisPublishError } from './errors.ts';
import type { Logger } from './log.ts';
import type { GroupPublishResult, OrderedPublisher, OutgoingMessage, PublishOptions } from './publish-batch.ts';
import type { RedisCredentials } from './secret.ts';

/*
 * One call publishes one or more message groups, each in order, stopping a group at its first refusal.
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
 * primary after a failover publishes nothing instead of publishing to nobody. `allow-oom`: a full Redis still
 * publishes (a bare shebang would refuse to run).
 */
export const PUBLISH_SCRIPT = `#!lua flags=allow-oom${SCRIPT_BODY}`;
/** Redis 6.2 knows no shebang (a syntax error there); the role is checked beside each call instead. */
export const PUBLISH_SCRIPT_PRE7 = SCRIPT_BODY;

/** The key a call declares when it appends to no stream; never read or written. */
export const SCRIPT_KEY = '{management-events-sync}';

/** Each account's stream, hash-tagged so that it lives in one slot: `{topic-account-management-events-<id>}:stream`. */
export function streamKey(channel: string): string {
  return `{${channel}}:stream`;
}

export interface RedisSettings {
  readonly url: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly cluster: ClusterMode;
  /** From the Redis secret; they take the place of any in the URL. */
  readonly credentials?: RedisCredentials;
}

export interface RedisPublisher extends OrderedPublisher {
  /** True once Redis rejected this client's credentials: the caller reads the secret again (rotation). */
  readonly authFailed: boolean;
  close(): Promise<void>;
}

type Client = Redis | Cluster;
/** A group's result for one call; `retry`: refused before it ran, for a reason the client has now dealt with. */
type Retriable = GroupPublishResult & { readonly retry?: boolean };
interface Call {
  readonly key: string;
  readonly portions: { readonly group: number; readonly messages: readonly OutgoingMessage[] }[];
}

const AUTH_ERROR = /^(WRONGPASS|NOAUTH)|invalid password|invalid username-password/i;
const NOT_WRITTEN = /enableOfflineQueue options is false/;
const COMPILE_ERROR = /Error compiling script/i;
const CLUSTER_REDIRECT = /^(MOVED|ASK|CROSSSLOT|CLUSTERDOWN)\b/;
const MAX_RECONNECT_DELAY_MS = 500;

/**
 * One client per container. It fails fast instead of waiting: no offline queue, bounded connect and command time,
 * no command resent after a reconnect (a late PUBLISH could overtake a newer one). It never stops reconnecting, so
 * the container recovers by itself once Redis is back. Cold, it reaches its first published batch in one round
 * trip after TCP (two with AUTH): RESP2 (no HELLO), no ready check, no client info, and EVAL (no NOSCRIPT retry).
 */
export function createRedisPublisher(settings: RedisSettings, logger: Logger): RedisPublisher {
  const { connectTimeoutMs, commandTimeoutMs } = settings;
  const url = new URL(settings.url);
  const nodeOptions: RedisOptions = {
    lazyConnect: true,
    protocol: 2,
    enableReadyCheck: false,
    disableClientInfo: true,
    connectTimeout: connectTimeoutMs,
    // A connection that leaves a written call unanswered this long is stalled: ioredis drops it and reconnects.
    socketTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // A demoted primary answers READONLY: reconnect (the endpoint moves to the new primary), never resend.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 1 : false),
    ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...settings.credentials,
  };
  const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS);

  let cluster: boolean | undefined = settings.cluster === 'auto' ? undefined : settings.cluster === 'on';
  let pre7 = false;
  let authFailed = false;
  let lastError: string | undefined;
  let closing = false;
  // One line when the connection drops or fails and one when it is back, not one per reconnect attempt.
  let down = false;
  let errorLogged = false;

  const connect = (asCluster: boolean): Client => {
    const created: Client = asCluster
      ? new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
          lazyConnect: true,
          enableOfflineQueue: false,
          enableReadyCheck: false,
          slotsRefreshTimeout: connectTimeoutMs,
          clusterRetryStrategy: retryStrategy,
          // ElastiCache's TLS certificates name the nodes' DNS names: keep them instead of resolving to IPs.
          dnsLookup: (address, callback) => callback(null, address),
          redisOptions: nodeOptions,
        })
      : new Redis(Number(url.port || 6379), url.hostname, { ...nodeOptions, enableOfflineQueue: false, retryStrategy });
    const onError = (error: Error) => {
      if (created !== client) return;
      if (AUTH_ERROR.test(error.message)) authFailed = true;
      lastError = `${error.name}: ${error.message}`;
      if (!errorLogged) logger.error('redis connection error', { error });
      errorLogged = true;
      down = true;
    };
    created.on('error', onError);
    created.on('node error', onError);
    created.on('close', () => {
      if (!down && !closing && created === client) logger.warn('redis connection lost', {});
      down = true;
    });
    created.on('ready', () => {
      if (down) logger.info('redis connection restored');
      // Accepted after all (e.g. Redis restarted before its ACL file loaded): nothing to rotate.
      authFailed = false;
      down = false;
      errorLogged = false;
      lastError = undefined;
    });
    return created;
  };
  let client = connect(cluster === true);

  /** Resolves once the client is ready, within the connect and command timeouts and the invocation's deadline. */
  const ready = (deadline: number): Promise<void> => {
    // Still `ready` for a moment after a READONLY answer made it drop the connection: wait for the next one.
    const writable = client instanceof Redis ? client.stream?.writable !== false : true;
    if (client.status === 'ready' && writable) return Promise.resolve();
    if (client.status === 'wait') client.connect().catch(() => undefined);
    const waitMs = Math.min(connectTimeoutMs + commandTimeoutMs, deadline - Date.now());
    const current = client;
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        current.off('ready', onReady);
        current.off('error', onError);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = () => settle();
      // Wrong credentials will not fix themselves within this invocation: fail now, rotate on the next one.
      const onError = (error: Error) => {
        if (AUTH_ERROR.test(error.message)) settle(new RedisPublishError(`Redis rejected the credentials: ${error.message}`));
      };
      const timer = setTimeout(
        () => {
          const cause = lastError === undefined ? '' : ` (${lastError})`;
          settle(new RedisPublishError(`Redis not ready within ${Math.max(0, waitMs)} ms${cause}`));
        },
        Math.max(0, waitMs),
      );
      current.on('ready', onReady);
      current.on('error', onError);
    });
  };

  /** The answer, or OutcomeUnknownError once the call has waited the command timeout or reached the deadline. */
  const answer = <T>(reply: Promise<T>, deadline: number): Promise<T> => {
    const waitMs = Math.max(0, Math.min(commandTimeoutMs, deadline - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OutcomeUnknownError(`Redis did not answer within ${waitMs} ms`)), waitMs);
    });
    return Promise.race([reply, late]).finally(() => clearTimeout(timer));
  };

  /** Runs one script call; the outcome of each portion is a group's result for these messages. */
  const runCall = async (call: Call, options: PublishOptions): Promise<Retriable[]> => {
    const keys: string[] = [];
    const args = [options.stopOnZeroReceivers ? '1' : '0', options.streamMinId ?? '0'];
    for (const { messages } of call.portions) {
      args.push(String(messages.length));
      for (const message of messages) {
        let index = 0;
        if (message.stream !== undefined) {
          index = keys.indexOf(message.stream) + 1 || keys.push(message.stream);
        }
        args.push(message.channel, String(index), message.body);
      }
    }
    if (keys.length === 0) keys.push(SCRIPT_KEY);
    const current = client;
    const clusterBefore = cluster;
    const detecting = cluster === undefined ? current.info('cluster').catch((error: Error) => error) : undefined;
    const role = pre7 ? current.call('ROLE').catch((error: Error) => error) : undefined;
    const script = pre7 ? PUBLISH_SCRIPT_PRE7 : PUBLISH_SCRIPT;
    let reply: unknown;
    let failure: Error | undefined;
    try {
      reply = await answer(current.eval(script, keys.length, ...keys, ...args), options.deadline);
    } catch (error) {
      failure = error as Error;
    }
    if (detecting !== undefined)
      await settleTopology(await answer(detecting, options.deadline).catch((error: Error) => error), options);
    if (failure === undefined && role !== undefined) {
      const [name] = ((await role) as unknown[]) ?? [];
      if (name !== 'master') {
        current.disconnect(true);
        failure = new RedisPublishError(`READONLY: Redis answered as a ${String(name)}, not the primary: reconnecting`);
      }
    }
    if (failure === undefined) {
      const replies = reply as unknown[][];
      return call.portions.map((_, index) => parseGroupReply(replies[index] ?? []));
    }
    return call.portions.map(({ messages }) => asFailedResult(failure as Error, messages.length, clusterBefore));
  };

  /** After the first INFO in auto mode: a cluster gets a cluster-aware client from the next call on. */
  const settleTopology = async (info: string | Error, options: PublishOptions) => {
    if (cluster !== undefined) return;
    if (info instanceof Error) {
      if (!/NOPERM/.test(info.message)) return;
      cluster = false;
      logger.warn('cannot tell whether Redis is a cluster (INFO refused): assuming it is not; set REDIS_CLUSTER', {
        error: info,
      });
      return;
    }
    cluster = /cluster_enabled:1/.test(info);
    if (!cluster) return;
    logger.info('redis is a cluster: switching to a cluster-aware client', {});
    const old = client;
    client = connect(true);
    old.disconnect(false);
    if (options.stopOnZeroReceivers) throw new ConfigError(CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM);
  };

  const publishGroups = async (
    groups: readonly (readonly OutgoingMessage[])[],
    options: PublishOptions,
  ): Promise<GroupPublishResult[]> => {
    if (cluster === true && options.stopOnZeroReceivers) throw new ConfigError(CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM);
    const results = groups.map((): { receivers: (number | null)[]; error?: Error; unknown?: number } => ({ receivers: [] }));
    let sent = groups.map(() => 0);
    let active = groups.map((_, index) => index).filter((index) => (groups[index]?.length ?? 0) > 0);
    let retried = false;
    while (active.length > 0) {
      try {
        await ready(options.deadline);
      } catch (error) {
        // Not sent: what earlier rounds published stays published.
        for (const group of active) (results[group] as (typeof results)[number]).error = error as Error;
        break;
      }
      // In cluster mode a call's keys must share a slot: each group sends its next run of messages with one key,
      // one call per key, all written at once. Without streams, or without a cluster, that is one call per batch.
      const calls = new Map<string, Call>();
      for (const group of active) {
        const messages = groups[group] ?? [];
        const start = sent[group] ?? 0;
        const key = callKey(messages[start]);
        let end = start + 1;
        while (end < messages.length && callKey(messages[end]) === key) end += 1;
        const call = calls.get(key) ?? { key, portions: [] };
        call.portions.push({ group, messages: messages.slice(start, end) });
        calls.set(key, call);
      }
      const answered = await Promise.all([...calls.values()].map((call) => runCall(call, options)));
      const next: number[] = [];
      const nextSent = [...sent];
      for (const [callIndex, call] of [...calls.values()].entries()) {
        for (const [portionIndex, { group, messages }] of call.portions.entries()) {
          const outcome = answered[callIndex]?.[portionIndex] ?? { receivers: [] };
          const result = results[group] as (typeof results)[number];
          // Refused before it ran, and the client has since learned what Redis is (a cluster, Redis < 7): once more.
          if (outcome.retry === true && !retried) {
            next.push(group);
            continue;
          }
          result.receivers.push(...outcome.receivers.map((count) => (cluster ? null : count)));
          const done = (nextSent[group] ?? 0) + outcome.receivers.length;
          nextSent[group] = done;
          if (outcome.error !== undefined) {
            result.error = outcome.error;
            result.unknown = outcome.unknown;
          } else if (outcome.receivers.length === messages.length && done < (groups[group]?.length ?? 0)) {
            const last = outcome.receivers.at(-1);
            if (!(options.stopOnZeroReceivers && last === 0)) next.push(group);
          }
        }
      }
      retried ||= next.length > 0 && answered.flat().some((outcome) => outcome.retry === true);
      sent = nextSent;
      active = next;
    }
    return results;
  };

  const callKey = (message: OutgoingMessage | undefined): string => (cluster ? (message?.stream ?? SCRIPT_KEY) : '');

  const asFailedResult = (error: Error, count: number, clusterBefore: boolean | undefined): Retriable => {
    if (error.name === 'ReplyError') {
      let retry = false;
      if (COMPILE_ERROR.test(error.message) && !pre7) {
        pre7 = true;
        retry = true;
        logger.warn('redis does not know script shebangs (Redis < 7): checking its role beside each call instead', {});
      }
      if (CLUSTER_REDIRECT.test(error.message) && cluster === true && clusterBefore !== true) retry = true;
      if (AUTH_ERROR.test(error.message)) authFailed = true;
      return { receivers: [], error: new RedisPublishError(`Redis refused the call: ${error.message}`), retry };
    }
    if (error instanceof OutcomeUnknownError) return { receivers: [], error, unknown: count };
    if (error instanceof RedisPublishError || NOT_WRITTEN.test(error.message)) {
      return { receivers: [], error: error instanceof RedisPublishError ? error : new RedisPublishError(error.message) };
    }
    // Written, then the connection closed before the answer: Redis may have run it.
    return {
      receivers: [],
      error: new OutcomeUnknownError(`the connection closed before Redis answered: ${error.message}`),
      unknown: count,
    };
  };

  return {
    get authFailed() {
      return authFailed;
    },
    publishGroups,
    async close() {
      closing = true;
      client.disconnect(false);
    },
  };
}

function parseGroupReply(reply: unknown[]): GroupPublishResult {
  const receivers: number[] = [];
  for (const item of reply) {
    if (typeof item === 'number') {
      receivers.push(item);
    } else {
      return { receivers, error: new RedisPublishError(`Redis refused: ${String(item)}`) };
    }
  }
  return { receivers };
}
